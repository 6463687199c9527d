"""explainer/render/fades.py: the fast fades draw the very frames Manim's own
fades draw (shift, lag_ratio, several mobjects, a fallback for scale), and leave
the mobjects in the same state."""

import numpy as np
import pytest
from scene_frames import render_frames


@pytest.fixture
def restore(monkeypatch):
    pytest.importorskip("manim")
    from manim.animation.fading import _Fade

    for name in (
        "begin",
        "get_all_mobjects",
        "get_all_families_zipped",
        "interpolate_submobject",
    ):
        monkeypatch.setattr(_Fade, name, getattr(_Fade, name))  # undone after


def _scene():
    from manim import (
        BLUE,
        DOWN,
        RIGHT,
        UP,
        FadeIn,
        FadeOut,
        Scene,
        Square,
        Text,
        VGroup,
    )

    class Fades(Scene):
        def construct(self):
            words = Text("Attention weights", font_size=30).shift(UP)
            cells = VGroup(
                *(
                    Square(0.5, fill_opacity=0.7, color=BLUE).shift(i * 0.7 * RIGHT)
                    for i in range(5)
                )
            ).shift(DOWN)
            self.play(FadeIn(words, shift=0.3 * UP), run_time=0.6)
            self.play(FadeIn(cells, lag_ratio=0.3), run_time=1.0)
            self.play(FadeOut(words), FadeOut(cells[1:3], shift=DOWN), run_time=0.6)
            self.play(FadeIn(words, scale=1.5), run_time=0.4)  # Manim's own
            self.play(FadeOut(words, cells), run_time=0.5)
            self.ended = [
                (m.points.copy(), m.fill_rgbas.copy(), m.stroke_rgbas.copy())
                for m in [*words.family_members_with_points(), *cells]
            ]

    return Fades


def _render(folder, name):
    frames, scene = render_frames(_scene(), folder, name)
    return frames, scene.ended


def test_fast_fades_draw_manims_frames(tmp_path, restore):
    from explainer.render import fades

    manims, manim_end = _render(tmp_path / "manim", "manim")
    assert fades.install()
    assert fades.install()  # a second call changes nothing
    fast, fast_end = _render(tmp_path / "fast", "fast")
    assert len(fast) == len(manims) >= 46  # 3.1 s at 15 frames a second
    for ours, theirs in zip(fast, manims, strict=True):
        assert np.array_equal(ours, theirs)
    for ours, theirs in zip(fast_end, manim_end, strict=True):
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-12)
