"""Two exact shortcuts in making a text's shapes from Pango's SVG.

A caption of 60 letters costs Manim about a fifth of a second of CPU, and a scene
makes dozens of texts. Most of it goes to two things that give nothing new:

- :func:`parsed_once`: Pango writes each glyph's outline once as a symbol and
  places it with a ``<use>`` per letter; svgelements reads the outline's path
  string again at every use, and the same letters come back in every text. The
  string is now read once a process; its segments are copied for each use.
- :func:`text_shapes_only`: Manim makes an empty ``VGroup`` for every element of
  the SVG (four per letter), so that a formula can find its parts by id. A
  ``Text`` never looks them up; it now gets its shapes, in the same order, and
  one group holding them all.

Both give the very same mobjects (tests/test_render_svg_shapes.py compares texts
and formulas with Manim's own). :func:`install` turns both on for good (the
render pool, before it forks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from copy import copy
from typing import Any

from explainer.render.patching import for_good, patched
from explainer.render.recent import Recent

PARSED_PATHS = 20_000  # path strings kept parsed, at most


def install() -> None:
    """Turn both shortcuts on for the rest of the process (once)."""
    for_good(parsed_once, text_shapes_only)


@contextmanager
def parsed_once(limit: int = PARSED_PATHS) -> Iterator[None]:
    """For the duration, an SVG path string read into an empty svgelements path
    is lexed once; later paths of the same string get copies of its segments."""
    import svgelements as se

    original = se.Path.__dict__["parse"]
    segments_of = Recent(limit)  # path string → its segments, as parsed

    def parse(self: Any, pathdef: str) -> None:
        if self._segments:  # relative to what is there: parse as usual
            original(self, pathdef)
            return
        if pathdef not in segments_of:
            original(self, pathdef)
            segments_of[pathdef] = [copy(segment) for segment in self._segments]
            return
        self._segments = [copy(segment) for segment in segments_of[pathdef]]
        self._length = None

    with patched(se.Path, "parse", parse):
        yield


@contextmanager
def text_shapes_only() -> Iterator[None]:
    """For the duration, a ``Text`` takes the shapes of its SVG without a group
    per element (``id_to_vgroup_dict`` holds only ``root``, with every shape)."""
    import svgelements as se
    from manim import Text, VGroup, logger
    from manim.mobject.svg.svg_mobject import SVGMobject

    shape_types = (
        se.Path,
        se.SimpleLine,
        se.Rect,
        se.Circle,
        se.Ellipse,
        se.Polygon,
        se.Polyline,
        se.Text,
    )

    def get_mobjects_from(self: Any, svg: Any) -> tuple[list[Any], dict[str, Any]]:
        result: list[Any] = []
        stack: list[Any] = [svg]
        while stack:  # depth first, children in document order, as Manim
            element = stack.pop()
            if isinstance(element, (se.Group, se.Use)):
                stack.extend(element[::-1])
            if not isinstance(element, shape_types):
                continue
            try:
                mob = self.get_mob_from_shape_element(element)
            except Exception as error:  # as Manim: logged, the shape left out
                logger.error(
                    f"Exception occurred in 'get_mobjects_from'. Details: {error}"
                )
                continue
            if mob is not None:
                result.append(mob)
        return result, {"root": VGroup(*result)}

    assert "get_mobjects_from" in SVGMobject.__dict__  # what this replaces
    with patched(Text, "get_mobjects_from", get_mobjects_from):
        yield
