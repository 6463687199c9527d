"""A shape's Cairo path is built once, not once a frame.

To draw a frame, Manim's Cairo camera turns every shape's Bézier points into a
Cairo path, one Python call per curve, for every shape on screen: a matrix of 48
numbers is some 8,000 calls, and about four in five shapes drawn in a scene are
drawn again unchanged (whatever lies above a moving shape is redrawn with it).
:func:`install` keeps the path Cairo built for each set of points under each
camera transform and hands Cairo that path again when the same points are drawn
under the same transform. Cairo stores paths in device coordinates at 1/256 of a
pixel; a path copied out and appended back under the same transform lands on the
very same coordinates, so the frames are the same pixels
(tests/test_render_paths.py), only sooner. A path not yet kept is built from
plain floats (:mod:`~explainer.render.cairo_path`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from explainer.render import cairo_path
from explainer.render.patching import for_good, patched

LIMIT_BYTES = 64 * 2**20  # points kept as keys, at most (the paths take about as much)


class PathCache:
    """Cairo paths by (points, transform), least recently drawn dropped first."""

    def __init__(self, limit_bytes: int = LIMIT_BYTES) -> None:
        self.limit_bytes = limit_bytes
        self.paths: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self.size = 0
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Any:
        path = self.paths.get(key)
        if path is not None:
            self.paths.move_to_end(key)
            self.hits += 1
        return path

    def put(self, key: tuple[Any, ...], path: Any) -> None:
        self.misses += 1
        self.paths[key] = path
        self.size += len(key[0])
        while self.size > self.limit_bytes and len(self.paths) > 1:
            old, _ = self.paths.popitem(last=False)
            self.size -= len(old[0])


CACHE = PathCache()


def install() -> None:
    """Reuse paths from :data:`CACHE` for the rest of the process (once)."""
    for_good(_from_cache)


def _from_cache() -> AbstractContextManager[PathCache]:
    return reused_paths(CACHE)


@contextmanager
def reused_paths(cache: PathCache) -> Iterator[PathCache]:
    """For the duration, Manim's Cairo camera takes a shape's path from
    ``cache`` when it has drawn the same points under the same transform."""
    from manim.camera.camera import Camera

    original = Camera.__dict__["set_cairo_context_path"]
    plain_points = Camera.transform_points_pre_display

    def set_cairo_context_path(self: Any, ctx: Any, vmobject: Any) -> Any:
        points = vmobject.points
        if (
            len(points) == 0  # Manim leaves the context's path as it was
            or type(self).transform_points_pre_display is not plain_points
        ):
            return original(self, ctx, vmobject)
        key = (
            points.tobytes(),
            points.shape,
            points.dtype.str,
            tuple(ctx.get_matrix()),
            vmobject.n_points_per_cubic_curve,
            vmobject.tolerance_for_point_equality,
        )
        path = cache.get(key)
        if path is None:
            if not cairo_path.build(ctx, vmobject):
                original(self, ctx, vmobject)
            cache.put(key, ctx.copy_path())
        else:
            ctx.new_path()
            ctx.append_path(path)
        return self

    with patched(Camera, "set_cairo_context_path", set_cairo_context_path):
        yield cache
