"""explainer/render/paths.py: a shape drawn again from its cached Cairo path gives
the very pixels Manim draws, under a moving and zooming camera, while shapes
move, change and fade; the cache stays within its limit."""

import numpy as np
import pytest
from scene_frames import render_frames

pytest.importorskip("manim")


def _scene():
    from manim import (
        BLUE,
        DOWN,
        LEFT,
        RIGHT,
        UP,
        Circle,
        FadeIn,
        MovingCameraScene,
        Square,
        Text,
        Transform,
        VGroup,
        VMobject,
    )

    class Shapes(MovingCameraScene):
        def construct(self):
            words = Text("Q K V weights 0.25", font_size=30).shift(UP)
            cells = VGroup(
                *(
                    Square(0.5, fill_opacity=0.7, color=BLUE).shift(i * 0.7 * RIGHT)
                    for i in range(5)
                )
            ).shift(DOWN + 2 * LEFT)
            self.add(words, cells)
            self.play(Transform(cells[0], Circle(0.4).shift(DOWN)), run_time=0.5)
            self.play(self.camera.frame.animate.scale(0.6).shift(UP), run_time=0.6)
            self.play(FadeIn(VMobject(), words.copy().shift(DOWN)), run_time=0.4)
            self.play(self.camera.frame.animate.scale(1 / 0.6).shift(DOWN))
            self.play(words.animate.shift(0.5 * RIGHT), run_time=0.4)

    return Shapes


def _frames(folder, name):
    return render_frames(_scene(), folder, name)[0]


def test_cached_paths_draw_manims_pixels(tmp_path):
    from explainer.render.paths import PathCache, reused_paths

    plain = _frames(tmp_path, "plain")
    with reused_paths(PathCache()) as cache:
        cached = _frames(tmp_path, "cached")
    assert cache.hits > 100 and cache.misses > 100  # both ways were taken
    assert len(cached) == len(plain) > 40
    for mine, manims in zip(cached, plain, strict=True):
        assert np.array_equal(mine, manims)


def test_manims_camera_is_left_as_it_was():
    from manim.camera.camera import Camera

    from explainer.render.paths import PathCache, reused_paths

    before = Camera.__dict__["set_cairo_context_path"]
    with reused_paths(PathCache()):
        assert Camera.__dict__["set_cairo_context_path"] is not before
    assert Camera.__dict__["set_cairo_context_path"] is before


def test_the_cache_keeps_the_most_recent_paths_within_its_limit():
    from explainer.render.paths import PathCache

    cache = PathCache(limit_bytes=250)
    for i in range(5):
        cache.put((bytes(100) + bytes([i]),), f"path {i}")
    assert cache.get((bytes(100) + bytes([0]),)) is None  # the oldest went first
    assert cache.get((bytes(100) + bytes([4]),)) == "path 4"
    assert cache.size <= 250 and len(cache.paths) == 2
