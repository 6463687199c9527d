"""A shape's Cairo path built from plain floats: Manim's calls, without NumPy's
per-call cost.

Most shapes on screen are small: a glyph is a dozen Bézier curves. For each one
Manim's Cairo camera checks its points are finite, finds where its subpaths
split with about fifteen NumPy operations, then reads every coordinate as a
NumPy scalar: some 60 µs a shape, most of it NumPy's fixed cost per call, for
the shapes :mod:`~explainer.render.paths` has not drawn before (about 20 s of
CPU in a cold movie). :func:`build` makes the very same Cairo calls with the
very same numbers from one ``tolist()``: the same subpath splits (Manim's
``np.isclose`` test, written out for two coordinates in the same float64
arithmetic), the same ``move_to``/``curve_to``/``close_path`` in the same order,
in about a third of the time. The path, hence every pixel, is the same
(tests/test_render_cairo_path.py).

It declines (returns False, and the caller draws as Manim does) for anything
else: points that are not all finite, shapes that are not cubic, a Manim whose
``VMobject`` has no vectorized subpath split (before 0.22) or a class that
overrides it.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

RTOL = 1.0e-5  # np.isclose's default, as Manim uses it


_exact: dict[type, bool] = {}  # class → whether it splits subpaths as VMobject does


def applies(vmobject: Any) -> bool:
    """Whether :func:`build` draws this shape exactly as Manim would."""
    kind = type(vmobject)
    exact = _exact.get(kind)
    if exact is None:
        from manim.mobject.types.vectorized_mobject import VMobject

        split = getattr(VMobject, "get_subpath_split_indices_from_points", None)
        exact = _exact[kind] = (
            split is not None
            and kind.get_subpath_split_indices_from_points is split
            and kind.consider_points_equals_2d is VMobject.consider_points_equals_2d
        )
    return exact and vmobject.n_points_per_cubic_curve == 4


def build(ctx: Any, vmobject: Any) -> bool:
    """Set ``ctx``'s path to ``vmobject``'s outline, as Manim's
    ``Camera.set_cairo_context_path`` does; False (``ctx`` untouched) when this
    shape is not one :func:`build` draws exactly."""
    points = vmobject.points  # (N, 3)
    if not applies(vmobject) or not math.isfinite(points.sum()):
        return False  # (a finite sum: every point is finite)
    if len(points) == 0:
        return True  # Manim leaves the path as it was
    ctx.new_path()
    n = len(points)
    if n < 4:
        return True
    xy = points[:, :2].ravel().tolist()  # x0, y0, x1, y1, …: floats, no lists
    atol = vmobject.tolerance_for_point_equality
    splits = [0]
    for k in range(8, 2 * n, 8):  # where a curve starts away from the last's end
        x, y = xy[k], xy[k + 1]
        if not (
            abs(xy[k - 2] - x) <= atol + RTOL * abs(x)
            and abs(xy[k - 1] - y) <= atol + RTOL * abs(y)
        ):
            splits.append(k // 2)
    splits.append(n)
    move_to, curve_to = ctx.move_to, ctx.curve_to
    closes = vmobject.consider_points_equals_2d
    for first, stop in itertools.pairwise(splits):
        if stop - first < 4:
            continue
        ctx.new_sub_path()
        a, z = 2 * first, 2 * stop - 2
        move_to(xy[a], xy[a + 1])
        for b in range(a + 2, 2 * stop - 4, 8):
            curve_to(xy[b], xy[b + 1], xy[b + 2], xy[b + 3], xy[b + 4], xy[b + 5])
        if closes((xy[a], xy[a + 1]), (xy[z], xy[z + 1])):
            ctx.close_path()
    return True
