"""Two exact shortcuts in Manim's copying and aligning of shapes.

Every animation copies what it animates when it begins, and every Transform
aligns its two shapes' subpaths; a render (and a check) does both hundreds of
times a scene. Both shortcuts give the very same mobjects (tests/test_render_lint.py
compares them with Manim's own functions; the pool's video is the same bytes as a
render without them, tests/test_render_pool.py):

- :func:`fast_subpaths`: a subpath ends where a curve's last anchor is not
  ``np.allclose`` to the next curve's first; the test is made on every pair at
  once instead of a Python call a pair;
- :func:`svg_paths_shared`: a copy of a glyph shares the svgelements path it was
  made from (read only when the glyph is built) instead of deep-copying it.

:func:`install` turns both on for good (the render pool, before it forks).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from explainer.render.patching import for_good, patched


def install() -> None:
    """Turn both shortcuts on for the rest of the process (once)."""
    for_good(fast_subpaths, svg_paths_shared)


def _subpaths(self: Any, points: np.ndarray) -> list[np.ndarray]:
    """``VMobject.get_subpaths_from_points`` in one NumPy call: a subpath ends
    where a curve's last anchor is not ``np.allclose`` to the next curve's first
    (the same test, made on every pair at once instead of a call a pair)."""
    step = self.n_points_per_cubic_curve
    starts = np.arange(step, len(points), step)
    joined = np.isclose(
        points[starts - 1], points[starts], atol=self.tolerance_for_point_equality
    ).all(axis=1)
    splits = [0, *starts[~joined].tolist(), len(points)]
    return [points[i1:i2] for i1, i2 in itertools.pairwise(splits) if i2 - i1 >= step]


@contextmanager
def fast_subpaths() -> Iterator[None]:
    """For the duration, VMobjects find their subpaths with :func:`_subpaths`.
    Every Transform aligns its two shapes' subpaths when it begins (Manim does so
    even when the animation is skipped), and the point-by-point test was a
    fifth of a check's time."""
    from manim import VMobject

    with patched(VMobject, "get_subpaths_from_points", _subpaths):
        yield


@contextmanager
def svg_paths_shared() -> Iterator[None]:
    """For the duration, a copy of a glyph or a formula's stroke shares the
    svgelements path it was made from instead of copying it.

    Manim keeps that path on the mobject (``path_obj``) and reads it only when
    making the mobject's points, but ``copy()`` deep-copies it with the rest:
    four fifths of the time of copying a text, and every animation copies what
    it animates, even when skipped."""
    from manim import Mobject
    from manim.mobject.svg.svg_mobject import VMobjectFromSVGPath

    def sharing(self: Any, memo: dict[int, Any]) -> Any:
        path = self.__dict__.get("path_obj")
        if path is not None:
            memo.setdefault(id(path), path)
        return Mobject.__deepcopy__(self, memo)

    with patched(VMobjectFromSVGPath, "__deepcopy__", sharing):
        yield
