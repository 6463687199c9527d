"""explainer/render/svg_shapes.py: texts (Latin, Chinese, symbols, numbers) and
formulas made with both shortcuts are the very mobjects Manim makes: the same
shapes in the same order, points, colours and stroke; a path string parsed once
hands each path its own segments; Manim is left as it was."""

import numpy as np
import pytest

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
            part.get_stroke_width(),
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
        tex = MathTex(r"\mathrm{softmax}\left(\frac{QK^{T}}{\sqrt{d_k}}\right)", "V")
        made.append(_shapes(tex))
        made.append([len(tex.submobjects), len(tex.id_to_vgroup_dict)])
    return made


def _same(a, b):
    assert len(a) == len(b)
    for mine, manims in zip(a, b, strict=True):
        if isinstance(mine[0], int):
            assert mine == manims
            continue
        assert len(mine) == len(manims) > 0
        for x, y in zip(mine, manims, strict=True):
            assert x[0] == y[0] and x[4] == y[4]
            for u, v in zip(x[1:4], y[1:4], strict=True):
                assert np.array_equal(u, v)


def test_texts_and_formulas_are_manims_own(tmp_path):
    from explainer.render.svg_shapes import parsed_once, text_shapes_only

    manims = _made(tmp_path)
    with parsed_once(), text_shapes_only():
        first = _made(tmp_path)
        again = _made(tmp_path)  # every path string now read from the memo
    _same(first, manims)
    _same(again, manims)


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

    from explainer.render.svg_shapes import parsed_once, text_shapes_only

    parse = se.Path.__dict__["parse"]
    with parsed_once(), text_shapes_only():
        assert se.Path.__dict__["parse"] is not parse
        assert "get_mobjects_from" in Text.__dict__
    assert se.Path.__dict__["parse"] is parse
    assert "get_mobjects_from" not in Text.__dict__


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
