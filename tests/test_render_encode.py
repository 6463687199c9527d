"""explainer/render/encode.py: frames read without a copy, and a held frame
converted once, give the very video Manim's own encoder writes, byte for byte."""

import pytest


@pytest.fixture
def segment_encoder(monkeypatch):
    pytest.importorskip("manim")
    from manim.scene import video_segment_encoder

    cls = video_segment_encoder.VideoSegmentEncoder
    monkeypatch.setattr(cls, "write_frame", cls.write_frame)  # undone after the test
    return cls


def _render(folder):
    from manim import RIGHT, Create, Scene, Square, Text, tempconfig

    class Held(Scene):
        def construct(self):
            self.add(Square(), Text("held", font_size=30).shift(2 * RIGHT))
            self.wait(1.2)  # one frame, repeated 18 times
            self.play(Create(Square(1).shift(3 * RIGHT)), run_time=0.4)
            self.wait(0.8)

    options = {
        "quality": "low_quality",
        "media_dir": str(folder),
        "disable_caching": True,
        "output_file": "held",
        "verbosity": "WARNING",
        "progress_bar": "none",
    }
    with tempconfig(options):
        scene = Held()
        scene.render()
        return open(scene.renderer.file_writer.movie_file_path, "rb").read()


@pytest.mark.slow
def test_frames_encode_to_the_same_bytes(segment_encoder, tmp_path):
    from explainer.render import encode

    plain = _render(tmp_path / "plain")
    assert encode.install()
    assert getattr(segment_encoder.write_frame, "converts_once", False)
    assert encode.install()  # a second call changes nothing
    patched = _render(tmp_path / "patched")
    assert len(plain) > 1000 and patched == plain
