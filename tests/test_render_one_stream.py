"""explainer/render/one_stream.py: a scene's animations are encoded as one stream.

The frames are the same (their count, and their pixels as close to a lossless
encoding as Manim's per-animation files are); the file has one key frame where
Manim's has one per animation; with Manim's cache on nothing changes; a scene
that fails between animations leaves no encoder thread behind."""

import threading

import numpy as np
import pytest
from scene_frames import key_frames, render_frames

pytest.importorskip("manim")

from manim import (
    BLUE,
    DOWN,
    RIGHT,
    UP,
    Circle,
    FadeIn,
    FadeOut,
    Scene,
    Square,
    Text,
    Transform,
)
from manim.scene.scene_file_writer import SceneFileWriter

from explainer.render.one_stream import one_stream

LOSSLESS = {"video_encoder_options": {"crf": "0", "preset": "ultrafast"}}


class Animations(Scene):
    """Six animations and waits: moves, a transform, fades and a held frame."""

    def construct(self):
        words = Text("Q K V 0.25", font_size=36).shift(UP)
        box = Square(1.0, fill_opacity=0.6, color=BLUE).shift(DOWN)
        self.play(FadeIn(words), run_time=0.5)
        self.play(box.animate.shift(2 * RIGHT), run_time=0.6)
        self.wait(0.4)
        self.play(Transform(box, Circle(0.6).shift(DOWN)), run_time=0.5)
        self.wait(0.3)
        self.play(FadeOut(words), run_time=0.4)


class FailsBetween(Scene):
    def construct(self):
        self.play(FadeIn(Text("a")), run_time=0.2)
        raise RuntimeError("planted")


def _psnr(frames, reference) -> float:
    """The worst frame's PSNR against the reference, in dB."""
    worst = 99.0
    for a, b in zip(frames, reference, strict=True):
        mse = np.mean((a.astype(np.float64) - b) ** 2)
        if mse:
            worst = min(worst, 10 * np.log10(255**2 / mse))
    return worst


def test_one_stream_has_the_same_frames_and_one_key_frame(tmp_path):
    exact, _ = render_frames(Animations, tmp_path / "lossless", "a", **LOSSLESS)
    segments, scene = render_frames(Animations, tmp_path / "manim", "a")
    manims = scene.renderer.file_writer
    with one_stream():
        ours, scene = render_frames(Animations, tmp_path / "ours", "a")
    writer = scene.renderer.file_writer
    assert len(ours) == len(segments) == len(exact) == round(scene.renderer.time * 15)
    assert key_frames(manims.movie_file_path) == 6  # one per animation
    assert key_frames(writer.movie_file_path) == 1
    assert len(writer.partial_movie_files) == 1
    assert _psnr(ours, exact) > 38  # x264 at crf 23, as Manim's files:
    assert _psnr(segments, exact) > 38
    assert writer.movie_file_path.stat().st_size < manims.movie_file_path.stat().st_size


def test_with_manims_cache_on_each_animation_has_its_file(tmp_path):
    with one_stream():
        frames, scene = render_frames(
            Animations, tmp_path, "cached", disable_caching=False
        )
    writer = scene.renderer.file_writer
    assert len([f for f in writer.partial_movie_files if f]) == 6
    assert key_frames(writer.movie_file_path) == 6
    assert len(frames) == round(scene.renderer.time * 15)


def test_a_scene_failing_between_animations_leaves_no_encoder(tmp_path):
    with one_stream(), pytest.raises(RuntimeError, match="planted"):
        render_frames(FailsBetween, tmp_path, "fails")
    encoders = [t for t in threading.enumerate() if "encoder" in t.name]
    assert encoders == []


def test_manim_is_left_as_it_was():
    names = (
        "open_partial_movie_stream",
        "close_partial_movie_stream",
        "abort_encode_jobs",
        "finish",
    )
    before = [vars(SceneFileWriter)[n] for n in names]
    with one_stream():
        assert all(
            vars(SceneFileWriter)[n] is not b
            for n, b in zip(names, before, strict=True)
        )
    assert [vars(SceneFileWriter)[n] for n in names] == before
