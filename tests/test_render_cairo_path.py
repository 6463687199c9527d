"""explainer/render/cairo_path.py: the path built from plain floats is Manim's
own path, call for call (texts, formulas, split, open and broken outlines,
anchors just inside and just outside Manim's tolerance), and it declines what it
would not draw the same."""

import math

import numpy as np
import pytest

pytest.importorskip("manim")
cairo = pytest.importorskip("cairo")


def _context():
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, 854, 480)
    ctx = cairo.Context(surface)
    ctx.set_matrix(cairo.Matrix(61.3, 0, 0, -61.3, 427.1, 240.3))
    return ctx


def _manims_path(ctx, vmobject):
    from manim.camera.camera import Camera

    ctx.new_path()
    ctx.move_to(1, 1)  # a path left over, as between two shapes
    Camera.set_cairo_context_path(Camera(), ctx, vmobject)
    return list(ctx.copy_path())


def _built_path(ctx, vmobject):
    from explainer.render.cairo_path import build

    ctx.new_path()
    ctx.move_to(1, 1)
    assert build(ctx, vmobject)
    return list(ctx.copy_path())


def _outline(points):
    from manim import VMobject

    shape = VMobject()
    shape.points = np.asarray(points, dtype=float)
    return shape


def _shapes():
    from manim import (
        Arc,
        Circle,
        DashedLine,
        Line,
        MathTex,
        Square,
        Text,
        VGroup,
    )

    words = VGroup(
        Text("Attention weights 0.125 −4.50", font_size=30),
        Text("注意力 权重", font_size=30),
        MathTex(r"\mathrm{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right)V"),
    )
    shapes = [m for m in words.family_members_with_points()]
    shapes += [Square(), Circle(), Arc(angle=2), Line(), DashedLine(2 * np.ones(3))]
    shapes.append(VGroup())  # no points: Manim leaves the path as it was
    rng = np.random.default_rng(7)
    tolerance = _outline(np.zeros((4, 3))).tolerance_for_point_equality
    for n_curves in (1, 2, 5, 9):
        points = rng.normal(size=(4 * n_curves, 3))
        points[4::4] = points[3:-1:4]  # joined curves: one subpath
        points[8::8] += tolerance * 0.5  # still joined: within the tolerance
        points[12::12, 1] += tolerance * 3  # broken: outside it
        shapes.append(_outline(points))
        closed = points.copy()
        closed[-1] = closed[0]
        shapes.append(_outline(closed))
    shapes.append(_outline(rng.normal(size=(10, 3))))  # a last curve left unfinished
    shapes.append(_outline(rng.normal(size=(2, 3))))  # too few points for a curve
    small = rng.normal(size=(12, 3)) * 1e-3
    small[4] = small[3] + tolerance * 0.5  # joined only through the absolute tolerance
    small[8] = small[7] + tolerance * 2  # broken
    shapes.append(_outline(small))
    big = rng.normal(size=(8, 3)) * 1e6
    big[4] = big[3] * (1 + 0.9e-5)  # joined only through the relative tolerance
    shapes.append(_outline(big))
    return shapes


def test_the_path_is_manims_call_for_call():
    ctx = _context()
    shapes = _shapes()
    assert len(shapes) > 60
    subpaths = 0
    for shape in shapes:
        manims = _manims_path(ctx, shape)
        assert _built_path(ctx, shape) == manims
        subpaths += sum(kind == cairo.PATH_MOVE_TO for kind, _ in manims)
    assert subpaths > len(shapes)  # some outlines were split into subpaths


def test_it_declines_what_it_would_not_draw_the_same():
    from manim import VMobject

    from explainer.render.cairo_path import build

    class OwnSplit(VMobject):
        def get_subpath_split_indices_from_points(self, points, n_dims=3):
            return np.array([[0, len(points)]])

    ctx = _context()
    square = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], dtype=float)
    own = OwnSplit()
    own.points = square
    broken = _outline(square)
    broken.points[2, 0] = math.nan
    infinite = _outline(square)
    infinite.points[1, 1] = math.inf
    ctx.move_to(3, 3)
    before = list(ctx.copy_path())
    for shape in (own, broken, infinite):
        assert not build(ctx, shape)
        assert list(ctx.copy_path()) == before  # untouched
