"""explainer/render/bounds.py: the boundary points are Manim's own, the same array in
the same order, for texts, formulas, matrices, groups, a lone point and empty
shapes; a shape Manim refuses is still refused; layout calls agree."""

import numpy as np
import pytest

pytest.importorskip("manim")

from manim import (
    DOWN,
    RIGHT,
    UP,
    Circle,
    Dot,
    IntegerMatrix,
    MathTex,
    Square,
    Text,
    VGroup,
    VMobject,
)

from explainer.render.bounds import boundary, fast_boundary

MANIMS = VMobject.get_points_defining_boundary


def _shapes() -> list[VMobject]:
    words = Text("Q K V 0.25, gj 注意", font_size=30).rotate(0.2).shift(UP)
    formula = MathTex(r"\mathrm{Attention}(Q,K,V)", r"= \frac{QK^T}{\sqrt{d_k}}")
    matrix = IntegerMatrix([[1, -2, 30], [4, 5, -600]]).scale(0.5).shift(DOWN)
    lone = VMobject()
    lone.set_points(np.array([[1.0, 2.0, 3.0]]))
    empty_inside = VGroup(VMobject(), Square(), VGroup(), lone)
    return [
        words,
        words[0],
        formula,
        matrix,
        VGroup(words, Circle().shift(2 * RIGHT), Dot()),
        lone,
        empty_inside,
    ]


@pytest.mark.parametrize("index", range(7))
def test_the_boundary_is_manims_own(index):
    shape = _shapes()[index]
    ours, manims = boundary(shape), MANIMS(shape)
    assert ours.dtype == manims.dtype and ours.shape == manims.shape
    assert np.array_equal(ours, manims)  # the same points, in the same order


def test_nothing_to_bound_is_manims_empty_array():
    for shape in (VMobject(), VGroup(), VGroup(VMobject(), VGroup())):
        ours, manims = boundary(shape), MANIMS(shape)
        assert ours.shape == manims.shape == (0,)


def test_points_that_are_not_whole_curves_are_refused_as_manim_does():
    broken = VMobject()
    broken.set_points(np.zeros((5, 3)))  # 4 + 1: Manim's zip(strict=True) raises
    with pytest.raises(ValueError):
        MANIMS(broken)
    with pytest.raises(ValueError):
        boundary(broken)


def test_layout_under_the_shortcut_is_the_same():
    """next_to, get_center and the edges, with and without the shortcut."""

    def layout() -> list[np.ndarray]:
        shapes = _shapes()
        shapes[0].next_to(shapes[3], DOWN)
        shapes[2].move_to(shapes[4]).align_to(shapes[0], RIGHT)
        return [s.get_center() for s in shapes] + [
            s.get_corner(UP + RIGHT) for s in shapes
        ]

    plain = layout()
    with fast_boundary():
        assert VMobject.get_points_defining_boundary is boundary
        fast = layout()
    assert VMobject.get_points_defining_boundary is MANIMS
    assert all(np.array_equal(a, b) for a, b in zip(plain, fast, strict=True))
