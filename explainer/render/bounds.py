"""A shape's boundary points in a few NumPy calls, not a Python object a point.

Every ``next_to``, ``move_to``, ``get_center`` and ``get_edge_center`` asks Manim
for the points that bound a shape (``get_points_defining_boundary``): the start
and end anchor of each of its curves, of it and of every shape inside it. Manim
makes them by zipping the two anchor arrays into one small array a point and
stacking those again; a matrix of 48 numbers has some 5,000 curves, and laying a
scene out asks for them thousands of times (about 4 % of a movie's CPU).
:func:`install` makes the very same array, in the same order, with slicing and
one concatenation (tests/test_render_bounds.py compares it with Manim's own).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from explainer.render.patching import for_good, patched


def install() -> None:
    """Find boundaries with :func:`boundary` for the rest of the process (once)."""
    for_good(fast_boundary)


def boundary(self: Any) -> np.ndarray:
    """``VMobject.get_points_defining_boundary``: each family member's anchors,
    start and end of each curve in turn, as one ``(n, 3)`` array (``(0,)`` when
    there are none, as Manim's)."""
    from manim import VMobject

    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    for part in self.get_family():
        points = part.points
        if getattr(type(part), "get_anchors", None) is not VMobject.get_anchors:
            return _member_by_member(self)  # anchors of its own kind
        if len(points) == 0:
            continue
        if len(points) == 1:  # Manim's one anchor: not a start and end pair
            return _member_by_member(self)
        step = part.n_points_per_cubic_curve
        starts.append(points[::step])
        ends.append(points[step - 1 :: step])
        if len(starts[-1]) != len(ends[-1]):  # Manim's zip(strict=True) raises: let it
            part.get_anchors()
    if not starts:
        return np.array(())
    # Pairs in turn, member after member, are the starts and the ends of all
    # members (each in member order) taken in turn.
    first, last = np.concatenate(starts), np.concatenate(ends)  # (n, 3) each
    both = np.empty((2 * len(first), first.shape[1]), np.result_type(first, last))
    both[0::2], both[1::2] = first, last
    return both


def _member_by_member(self: Any) -> np.ndarray:
    """The boundary as Manim makes it, for a family with a member whose anchors
    are not start and end pairs."""
    rows = [row for part in self.get_family() for row in part.get_anchors()]
    return np.array(tuple(rows))


@contextmanager
def fast_boundary() -> Iterator[None]:
    """For the duration, VMobjects find their boundary points with
    :func:`boundary`."""
    from manim import VMobject

    with patched(VMobject, "get_points_defining_boundary", boundary):
        yield
