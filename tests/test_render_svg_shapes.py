"""explainer/render/svg_shapes.py: texts (Latin, Chinese, symbols, numbers) and
formulas made with the first two shortcuts are the very mobjects Manim makes: the
same shapes in the same order, points, colours and stroke; a path string parsed
once hands each path its own segments. With glyphs made once, the points agree to
1e-12 and the frames drawn are the same; other SVGs are read as before; Manim is
left as it was."""

import numpy as np
import pytest
from scene_frames import render_frames

pytest.importorskip("manim")

TEXTS = [
    "The output of when: each value row times its weight, then added",
    "你 玩 游戏 的 输出",
    "−0.12",
    "x₁ ≥ y · √d_k",
    "a  b\tc (with two spaces)",
]


def _shapes(mob):
    return [
        (
            type(part).__name__,
            part.points.copy(),
            part.fill_rgbas.copy(),
            part.stroke_rgbas.copy(),
            part.background_stroke_rgbas.copy(),
            (
                part.get_stroke_width(),
                part.background_stroke_width,
                part.sheen_factor,
                tuple(part.sheen_direction),
            ),
        )
        for part in mob.family_members_with_points()
    ]


def _made(tmp_path):
    """Every text and one formula, made afresh (Manim's per-process SVG cache
    emptied first, so each is parsed again)."""
    from explainer.scenes.common import TEXT_FONT
    from manim import MathTex, Text, tempconfig
    from manim.mobject.svg import svg_mobject

    svg_mobject.SVG_HASH_TO_MOB_MAP.clear()
    options = {"media_dir": str(tmp_path), "verbosity": "WARNING"}
    with tempconfig(options):
        made = [_shapes(Text(text, font=TEXT_FONT, font_size=24)) for text in TEXTS]
        made.append(_shapes(Text("Colour", font_size=30, t2c={"our": "#58C4DD"})))
        made.append(_shapes(Text("ooo", font_size=30, t2c={"[1:2]": "#FC6255"})))
        tex = MathTex(r"\mathrm{softmax}\left(\frac{QK^{T}}{\sqrt{d_k}}\right)", "V")
        made.append(_shapes(tex))
        made.append([len(tex.submobjects), len(tex.id_to_vgroup_dict)])
    return made


def _same(a, b, points_within=0.0):
    assert len(a) == len(b)
    for mine, manims in zip(a, b, strict=True):
        if isinstance(mine[0], int):
            assert mine == manims
            continue
        assert len(mine) == len(manims) > 0
        for x, y in zip(mine, manims, strict=True):
            assert x[0] == y[0] and x[5] == y[5]
            assert x[1].shape == y[1].shape
            assert np.abs(x[1] - y[1]).max(initial=0.0) <= points_within
            for u, v in zip(x[2:5], y[2:5], strict=True):
                assert np.array_equal(u, v)


def test_texts_and_formulas_are_manims_own(tmp_path):
    from explainer.render.svg_shapes import parsed_once, text_shapes_only

    manims = _made(tmp_path)
    with parsed_once(), text_shapes_only():
        first = _made(tmp_path)
        again = _made(tmp_path)  # every path string now read from the memo
    _same(first, manims)
    _same(again, manims)


def test_glyphs_made_once_are_manims_shapes_to_the_last_bits(tmp_path):
    from explainer.render.svg_shapes import glyphs_once, parsed_once, text_shapes_only

    manims = _made(tmp_path)
    with parsed_once(), text_shapes_only(), glyphs_once():
        first = _made(tmp_path)
        again = _made(tmp_path)  # every glyph's points now from the memo
    _same(first, manims, points_within=1e-12)
    _same(again, manims, points_within=1e-12)
    with glyphs_once():
        alone = _made(tmp_path)
    _same(alone, manims, points_within=1e-12)


def test_each_use_of_a_glyph_gets_its_own_points(tmp_path):
    from manim import Text, tempconfig

    from explainer.render.svg_shapes import glyphs_once

    with tempconfig({"media_dir": str(tmp_path)}), glyphs_once():
        one, two = Text("oo", font_size=30)
        assert np.allclose(one.points - one.points[0], two.points - two.points[0])
        before = two.points.copy()
        one.points[:] = 0.0
        assert np.array_equal(two.points, before)
        assert not np.array_equal(Text("oo", font_size=30)[0].points, one.points)


def test_other_svgs_are_read_as_before(tmp_path):
    """An SVG that is not a text or formula: the same points to the last bit
    (moved by svgelements, not by Manim, whose rounding differs here)."""
    from manim import SVGMobject
    from manim.mobject.svg import svg_mobject

    from explainer.render.svg_shapes import glyphs_once

    svg = tmp_path / "shapes.svg"
    svg.write_text(
        "<svg xmlns='http://www.w3.org/2000/svg' "
        "xmlns:xlink='http://www.w3.org/1999/xlink' viewBox='0 0 40 20'>"
        "<defs><path id='p' d='M 0.1 0.3 L 3.7 1.1 C 4 5 6 1 7 3 L 1.3 7.7 Z'/>"
        "</defs><g transform='matrix(0.71 0.33 -0.29 1.13 3.3 1.7)'>"
        "<use xlink:href='#p' x='3.3' y='1.1'/><use xlink:href='#p' x='9.1' y='2.3'/>"
        "<rect x='1.1' y='1.3' width='3.7' height='2.9'/></g></svg>"
    )

    def points():
        svg_mobject.SVG_HASH_TO_MOB_MAP.clear()  # parsed again, not copied
        return [p.points.copy() for p in SVGMobject(svg).family_members_with_points()]

    manims = points()
    with glyphs_once():
        mine = points()
    assert len(mine) == len(manims) == 3
    for a, b in zip(mine, manims, strict=True):
        assert np.array_equal(a, b)


def test_a_glyph_used_again_is_not_lexed_again(tmp_path, monkeypatch):
    import svgelements as se
    from manim import Text, tempconfig

    from explainer.render.svg_shapes import glyphs_once

    lexed = []
    parse = se.Path.__dict__["parse"]

    def counting(self, pathdef):
        lexed.append(pathdef)
        parse(self, pathdef)

    monkeypatch.setattr(se.Path, "parse", counting)
    with tempconfig({"media_dir": str(tmp_path)}), glyphs_once():
        Text("ooooo", font_size=30)
    assert 1 <= len(lexed) <= 2 and len(set(lexed)) == len(lexed)  # five o's


def _words_scene():
    from manim import DOWN, UP, FadeIn, MathTex, Scene, Text, Write

    class Words(Scene):
        def construct(self):
            words = Text("Q K V weights 0.25 注意力", font_size=30).shift(UP)
            formula = MathTex(r"\frac{QK^{T}}{\sqrt{d_k}} = -0.125", font_size=40)
            self.play(FadeIn(words, shift=DOWN), Write(formula.shift(DOWN)))
            self.play(words.animate.scale(1.3), formula.animate.shift(UP))

    return Words


def test_frames_drawn_with_glyphs_made_once_are_manims(tmp_path):
    from manim.mobject.svg import svg_mobject

    from explainer.render.svg_shapes import glyphs_once

    plain, _ = render_frames(_words_scene(), tmp_path, "plain")
    svg_mobject.SVG_HASH_TO_MOB_MAP.clear()
    with glyphs_once():
        mine, _ = render_frames(_words_scene(), tmp_path, "mine")
    assert len(mine) == len(plain) > 20
    for a, b in zip(mine, plain, strict=True):
        assert np.array_equal(a, b)


def test_each_path_gets_its_own_segments():
    import svgelements as se

    from explainer.render.svg_shapes import parsed_once

    d = "M 1 2 L 3 4 C 5 6 7 8 9 10 Z"
    with parsed_once():
        one, two = se.Path(d), se.Path(d)
        assert one == two and one[1] is not two[1]
        one *= "translate(10, 0)"
        one.reify()
        assert one != two and two == se.Path(d)
        tail = se.Path("M 0 0 L 1 1")
        tail.parse("l 2 2")  # relative to what is there: parsed as usual
    assert tail == se.Path("M 0 0 L 1 1 l 2 2")


def test_manim_is_left_as_it_was():
    import svgelements as se
    from manim import Text
    from manim.mobject.svg.svg_mobject import SVGMobject, VMobjectFromSVGPath

    from explainer.render.svg_shapes import glyphs_once, parsed_once, text_shapes_only

    parse = se.Path.__dict__["parse"]
    owned = [
        (se.SVG, "parse"),
        (SVGMobject, "generate_mobject"),
        (SVGMobject, "get_mob_from_shape_element"),
        (VMobjectFromSVGPath, "generate_points"),
    ]
    before = [vars(owner)[name] for owner, name in owned]
    with parsed_once(), text_shapes_only(), glyphs_once():
        assert se.Path.__dict__["parse"] is not parse
        assert "get_mobjects_from" in Text.__dict__
        assert all(
            vars(owner)[name] is not was
            for (owner, name), was in zip(owned, before, strict=True)
        )
    assert se.Path.__dict__["parse"] is parse
    assert "get_mobjects_from" not in Text.__dict__
    assert [vars(owner)[name] for owner, name in owned] == before


def test_a_process_that_turned_them_on_exits_quietly():
    """At exit the shortcuts may be undone after svgelements' names are gone
    (here: objects frozen out of the collector, as a forking server may do): that
    must not print an "Exception ignored"."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gc; from explainer.render import svg_shapes; "
            "svg_shapes.install(); gc.freeze()",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "Exception" not in done.stderr, done.stderr
