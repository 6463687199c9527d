"""``explainer render --check``: the scene linter on tiny scenes whose problems are
known by construction, and on a real scene through the command line."""

import pytest
from cli_run import run

pytest.importorskip("manim")

import numpy as np
from manim import (
    DOWN,
    LEFT,
    RIGHT,
    UP,
    Circle,
    FadeIn,
    FadeOut,
    MovingCameraScene,
    Rectangle,
    Scene,
    Text,
    VGroup,
    VMobject,
)
from manim.camera.camera import Camera
from manim.mobject.svg.svg_mobject import SVGMobject

from explainer.render.copies import _subpaths, svg_paths_shared
from explainer.render.lint import (
    Finding,
    SceneLint,
    _box,
    count_words,
    lint_scene,
    required_seconds,
)

# 720p (the default --quality medium): 720 px over Manim's 8-unit frame height.
PX_PER_UNIT = 720 / 8


def caption(scene: Scene, content: str) -> list:
    """What TraceScene.caption does: the new caption fades in, the old one out."""
    new = Text(content, font_size=24).to_edge(DOWN, buff=0.3)
    anims = [FadeIn(new)]
    if getattr(scene, "_caption", None) is not None:
        anims.append(FadeOut(scene._caption))
    scene._caption = new
    return anims


class ShortCaption(Scene):
    """'one two three four' needs 1.0 + 4 × 0.3 = 2.2 s and stays 1.0 s; 'five'
    (1.3 s needed) fades in over it and stays 2.0 s."""

    def construct(self):
        self.add(Text("picture", font_size=48).move_to(UP))
        self.play(*caption(self, "one two three four"), run_time=0.5)
        self.wait(1.0)
        self.play(*caption(self, "five"), run_time=0.5)
        self.wait(2.0)


class OffFrame(Scene):
    """A word whose left edge is at x = 7.5, past the frame's right edge (7.11)."""

    def construct(self):
        far = Text("far", font_size=48)
        far.move_to(RIGHT * (7.5 + far.width / 2))
        self.play(FadeIn(far), run_time=0.5)


class Overlapping(Scene):
    """Two words on one spot, and a third well away from both."""

    def construct(self):
        a, b = Text("left", font_size=48), Text("right", font_size=48)
        away = Text("away", font_size=48).move_to(UP * 3)
        self.play(FadeIn(a), FadeIn(b), FadeIn(away), run_time=0.5)


class TinyText(Scene):
    """A word 0.1 units tall: 9 px at 720p."""

    def construct(self):
        tiny = Text("tiny", font_size=48).scale_to_fit_height(0.1)
        self.play(FadeIn(tiny), run_time=0.5)


class Clean(Scene):
    """Captions held long enough, the old one gone before the next; a big word; an
    invisible word on top of it (ignored) and the word's own letters (not texts of
    their own)."""

    def construct(self):
        big = Text("big", font_size=48).scale_to_fit_height(0.5).move_to(UP)
        hidden = Text("hidden", font_size=48).move_to(UP).set_opacity(0)
        self.add(hidden)
        self.play(FadeIn(big), *caption(self, "two words"), run_time=0.5)
        self.wait(1.6)  # needs 1.6 s
        self.play(FadeOut(self._caption), run_time=0.3)
        self.play(*caption(self, "a caption of five words"), run_time=0.5)
        self.wait(2.5)  # needs 2.5 s


class Zoomed(MovingCameraScene):
    """The camera frame halved: a word 0.1 units tall is 18 px; a word at x = 5
    (inside Manim's frame) is outside the zoomed one (±3.56)."""

    def construct(self):
        self.camera.frame.scale(0.5)
        small = Text("small", font_size=48).scale_to_fit_height(0.1)
        side = Text("side", font_size=48).move_to(RIGHT * 5)
        self.play(FadeIn(small), FadeIn(side), run_time=0.5)


class EmptyPicture(Scene):
    """A caption held over nothing (as a key point said over a blank screen), then
    the same caption held over a word."""

    def construct(self):
        self.play(*caption(self, "the key point"), run_time=0.5)
        self.wait(2.0)
        self.play(FadeIn(Text("word", font_size=48)), run_time=0.5)
        self.wait(1.0)


class OverTheMap(Scene):
    """A word on the corner map of the model (a shape, not a text), another
    beside it."""

    def construct(self):
        self.corner_map = Rectangle(width=1.5, height=1.0).to_corner(UP - RIGHT)
        over = Text("over", font_size=36).move_to(self.corner_map)
        clear = Text("clear", font_size=36).next_to(self.corner_map, RIGHT)
        self.play(FadeIn(self.corner_map, over, clear), run_time=0.5)


class SameWords(Scene):
    """One text, made anew each time the scene runs (a check reads it from a
    private folder of its own)."""

    def construct(self):
        self.play(FadeIn(Text("made in two checks", font_size=48)), run_time=0.5)


def zoomed_trace_scene() -> type:
    """A TraceScene whose camera zooms 2× onto a word 0.1 units tall (9 px at
    720p unzoomed, 18 px zoomed) before it is shown, then back out; the header,
    its corner map and the caption must stay on screen, unchanged."""
    from explainer.scenes.common import TraceScene

    class ZoomedTrace(TraceScene):
        def construct(self):
            head = self.header("Zoom", "x = 1", tag="encoder.0.ffn")
            self.play(FadeIn(head), *self.caption("before the zoom"), run_time=0.5)
            self.wait(2.0)
            small = Text("small", font_size=48).scale_to_fit_height(0.1)
            small.move_to(DOWN + 3 * RIGHT)
            self.play(*self.zoom(small, most=2.0), run_time=0.5)
            self.play(FadeIn(small), *self.caption("after the zoom"), run_time=0.5)
            self.wait(2.0)
            self.play(FadeOut(small), run_time=0.3)
            self.play(*self.zoom(None), run_time=0.5)
            self.wait(1.0)

    return ZoomedTrace


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


def check(scene: type, media, quality: str = "medium") -> SceneLint:
    return lint_scene(scene, quality=quality, media_dir=media)


def test_words_count_two_cjk_characters_as_one():
    assert count_words("one two, three") == 3
    assert count_words("注意力机制") == 2.5
    assert required_seconds("注意力") == pytest.approx(1.0 + 0.3 * 1.5)


def test_a_caption_shown_too_briefly_and_one_over_the_previous(media):
    result = check(ShortCaption, media)
    assert [(c.text, c.shown_at, c.seconds, c.required) for c in result.captions] == [
        ("one two three four", 0.5, 1.0, 2.2),
        ("five", 2.0, 2.0, 1.3),
    ]
    assert [c.text for c in result.short_captions] == ["one two three four"]
    assert [c.text for c in result.caption_overlaps] == ["five"]
    assert result.seconds == 4.0
    assert not (result.off_frame or result.overlaps or result.small)
    assert result.violations == 2


def test_a_text_off_the_frame(media):
    result = check(OffFrame, media)
    assert [(f.what, f.detail) for f in result.off_frame] == [("'far'", "past right")]
    assert result.violations == 1


def test_two_overlapping_texts(media):
    result = check(Overlapping, media)
    assert [f.what for f in result.overlaps] == ["'left' and 'right'"]
    assert result.violations == 1


def test_a_text_over_the_map_of_the_model(media):
    result = check(OverTheMap, media)
    assert [f.what for f in result.overlaps] == ["the map of the model and 'over'"]
    assert result.violations == 1


def test_tiny_text_in_pixels_at_the_quality(media):
    result = check(TinyText, media)
    assert result.smallest_px == pytest.approx(0.1 * PX_PER_UNIT, abs=0.1)
    assert [f.what for f in result.small] == ["'tiny'"]
    assert result.violations == 1
    low = check(TinyText, media, quality="low")
    assert low.smallest_px == pytest.approx(0.1 * 480 / 8, abs=0.1)


def test_a_clean_scene_passes(media):
    result = check(Clean, media)
    assert [(c.seconds, c.required) for c in result.captions] == [
        (1.6, 1.6),
        (2.5, 2.5),
    ]
    captions = ("two words", "a caption of five words")  # smaller than "big"
    lowest = min(Text(c, font_size=24).height for c in captions) * PX_PER_UNIT
    assert result.smallest_px == pytest.approx(lowest, abs=0.1) and lowest > 12
    assert result.ok and result.violations == 0


def test_a_moving_camera_zooms_the_pixels_and_the_frame(media):
    result = check(Zoomed, media)
    assert result.smallest_px == pytest.approx(0.1 * PX_PER_UNIT * 2, abs=0.1)
    assert [f.what for f in result.off_frame] == ["'side'"]


def test_a_trace_scene_zooms_its_camera_and_keeps_header_and_caption(media):
    result = check(zoomed_trace_scene(), media)
    assert result.small == [] and result.off_frame == [] and result.overlaps == []
    assert [(c.text, c.too_short) for c in result.captions] == [
        ("before the zoom", False),
        ("after the zoom", False),
    ]
    assert result.smallest_px >= 12  # 'small' is 18 px, magnified


def test_a_caption_held_over_an_empty_picture(media):
    result = check(EmptyPicture, media)
    assert [(f.at, f.what) for f in result.empty] == [(2.5, "'the key point'")]
    assert result.violations == 1
    assert check(Clean, media).empty == []


def test_check_a_real_scene_prints_a_table(capsys):
    code, out, _ = run(["render", "--check", "tokens"], capsys)
    lines = out.splitlines()
    assert lines[0] == "scene check at 720p"
    assert lines[1].split()[:3] == ["scene", "seconds", "captions"]
    row = next(line for line in lines if line.startswith("tokens "))
    assert code == (1 if row.endswith("FAIL") else 0)
    assert int(row.split()[2]) >= 3  # the sentence, the tokens, the ids


def test_check_exit_codes(capsys, monkeypatch):
    import explainer.cli.render_cmd as render_cmd

    monkeypatch.setattr(render_cmd, "lint_specs", lambda *a, **k: [SceneLint("x")])
    code, out, _ = run(["render", "--check", "tokens"], capsys)
    assert code == 0 and out.rstrip().endswith("all 1 scenes pass")

    bad = SceneLint("x", off_frame=[Finding(0.5, "'x'", "past left")])
    monkeypatch.setattr(render_cmd, "lint_specs", lambda *a, **k: [bad])
    code, out, _ = run(["render", "--check", "tokens"], capsys)
    assert code == 1 and "1 of 1 scenes have problems" in out


def test_check_of_an_unknown_scene_is_exit_code_2(capsys):
    code, out, err = run(["render", "--check", "tokns"], capsys)
    assert code == 2 and out == "" and "unknown scene 'tokns'" in err


# --- what makes a check cheap changes nothing it measures ---------------------------


def test_subpaths_are_found_where_manims_own_test_finds_them():
    """Manim's point-by-point ``get_subpaths_from_points`` (the reference): glyphs
    with holes, a circle, and curves whose ends meet within Manim's tolerance,
    just outside it, and far apart."""
    curves = VMobject()
    tol = curves.tolerance_for_point_equality  # and np.allclose's rtol, 1e-5
    a, b, c, d = (np.array([x, y, 0.0]) for x, y in ((0, 0), (1, 0), (1, 1), (5, 5)))
    near, apart = np.array([0, tol / 2, 0]), np.array([0, 100 * tol, 0])
    points = [
        *(a, a, b, b),  # then a curve from b, nearly: joined
        *(b + near, b, c, c),  # then from 100 × the tolerance away: a new subpath
        *(c + apart, c, a, a),  # then from far away: another
        *(d, d, b, c),
    ]
    curves.set_points(np.array(points))
    glyphs = Text("a8%g", font_size=48).family_members_with_points()
    shapes = [curves, Circle(), *glyphs]
    for shape in shapes:
        ours = _subpaths(shape, shape.points)
        manims = VMobject.get_subpaths_from_points(shape, shape.points)
        assert len(ours) == len(manims) and all(
            np.array_equal(x, y) for x, y in zip(ours, manims, strict=True)
        )
    assert len(_subpaths(curves, curves.points)) == 3


def test_a_box_is_manims_critical_points():
    words = Text("box, gj", font_size=48).scale(0.7).rotate(0.3).shift(2 * RIGHT)
    group = VGroup(words, Circle(radius=0.4).move_to(3 * UP + LEFT))
    for mob in (words, group, words[0]):
        left, bottom = mob.get_critical_point((-1, -1, 0))[:2]
        right, top = mob.get_critical_point((1, 1, 0))[:2]
        assert _box(mob) == pytest.approx([left, bottom, right, top], abs=1e-12)
    assert _box(VMobject()) is None


def test_a_check_draws_no_pixel(media, monkeypatch):
    drawn = []
    monkeypatch.setattr(Camera, "capture_mobjects", lambda *a, **k: drawn.append(a))
    assert check(Clean, media).ok
    assert drawn == []


def test_a_text_is_parsed_once_a_process_and_manim_is_left_as_it_was(
    media, monkeypatch
):
    """Each check reads its SVGs from a private folder: the second check of the same
    text parses nothing, and finds the same; afterwards Manim keys its cache by
    the file's path again and finds subpaths its own way."""
    parse = SVGMobject.generate_mobject
    parsed = []

    def counting(self):
        parsed.append(getattr(self, "original_text", None))
        return parse(self)

    monkeypatch.setattr(SVGMobject, "generate_mobject", counting)
    first = check(SameWords, media)
    assert parsed == ["made in two checks"]
    second = check(SameWords, media)
    assert parsed == ["made in two checks"]
    assert first == second and first.smallest_px > 12
    assert SVGMobject.__dict__["hash_seed"].fget.__name__ == "hash_seed"
    assert VMobject.__dict__["get_subpaths_from_points"] is not _subpaths


def test_a_copy_shares_only_the_path_its_glyphs_were_made_from():
    words = Text("shared", font_size=48)
    glyph = words.family_members_with_points()[0]
    with svg_paths_shared():
        copied = words.copy()
    twin = copied.family_members_with_points()[0]
    assert twin.path_obj is glyph.path_obj  # read only when the points were made
    assert twin.points is not glyph.points
    assert np.array_equal(twin.points, glyph.points)
    twin.shift(RIGHT)
    assert not np.array_equal(twin.points, glyph.points)
    again = words.copy().family_members_with_points()[0]  # Manim's own copy again
    assert again.path_obj is not glyph.path_obj
