"""Three shortcuts in making a text's or formula's shapes from its SVG.

A caption of 60 letters costs Manim about a fifth of a second of CPU, and a scene
makes dozens of texts. Most of it goes to things that give nothing new:

- :func:`parsed_once`: Pango writes each glyph's outline once as a symbol and
  places it with a ``<use>`` per letter; svgelements reads the outline's path
  string again at every use, and the same letters come back in every text. The
  string is now read once a process; its segments are copied for each use.
- :func:`text_shapes_only`: Manim makes an empty ``VGroup`` for every element of
  the SVG (four per letter), so that a formula can find its parts by id. A
  ``Text`` never looks them up; it now gets its shapes, in the same order, and
  one group holding them all.
- :func:`glyphs_once`: each use of a glyph still had its segments copied, moved
  into place, made into points and styled again. A text or formula now leaves its
  segments where they are and Manim moves the points, so a glyph's shape is made
  once (per style) and copied: a caption took 0.25 s of CPU with none of these
  shortcuts, 0.15-0.17 s with the first two, and 0.07-0.09 s with all three.

The first two give the very same mobjects; the third the same shapes with points
equal to 1e-12, and the same frames (tests/test_render_svg_shapes.py compares
texts, formulas and frames with Manim's own). :func:`install` turns all three on
for good (the render pool, before it forks).
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
    """Turn the shortcuts on for the rest of the process (once)."""
    for_good(parsed_once, text_shapes_only, glyphs_once)


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


@contextmanager
def glyphs_once(limit: int = PARSED_PATHS) -> Iterator[None]:
    """For the duration, a text or formula reads its SVG without moving each
    path's segments into place (svgelements' ``reify=False``): Manim then moves
    the shape's points by the element's transform itself (its
    ``handle_transform``), as it does for any SVG parsed that way. So the outline
    of a glyph, the same path string at each of its uses, is lexed once, made into
    points once and styled once a process (per style); each use gets a copy of
    that shape, moved.

    Moving the points after Manim turned lines into curves, not before, rounds
    differently in the last bit: points agree with Manim's own to 1e-12 of a
    unit, about 1e-10 of a pixel, and the frames are the same
    (tests/test_render_svg_shapes.py)."""
    import svgelements as se
    from manim import SingleStringMathTex, Text
    from manim.mobject.svg.svg_mobject import SVGMobject, VMobjectFromSVGPath

    glyph_owners = (Text, SingleStringMathTex)
    generate_mobject = SVGMobject.__dict__["generate_mobject"]
    parse_svg = se.SVG.__dict__["parse"].__func__
    parse_path = se.Path.__dict__["parse"]  # parsed_once's, when it is on
    generate_points = VMobjectFromSVGPath.__dict__["generate_points"]
    shape_of = SVGMobject.__dict__["get_mob_from_shape_element"]
    segments_of = Recent(limit)  # path string → its segments (shared, read only)
    points_of = Recent(limit)  # (path string, how it is made) → its points
    styled = Recent(limit)  # (path string, style, how it is made) → its shape
    inside: list[bool] = []  # a text's or formula's SVG is being read

    def generate(self: Any) -> Any:
        if not isinstance(self, glyph_owners):
            return generate_mobject(self)
        inside.append(True)
        try:
            return generate_mobject(self)
        finally:
            inside.pop()

    def parse(source: Any, reify: bool = True, **options: Any) -> Any:
        return parse_svg(source, reify=reify and not inside, **options)

    def lex(self: Any, pathdef: str) -> None:
        if not inside or self._segments:
            parse_path(self, pathdef)
            return
        if pathdef not in segments_of:
            parse_path(self, pathdef)
            if any(isinstance(segment, se.Arc) for segment in self._segments):
                return  # Manim replaces arcs in place: this path keeps its own
            segments_of[pathdef] = self._segments
        self._segments = segments_of[pathdef]
        self._length = None

    def points(self: Any) -> Any:
        pathdef = self.path_obj.values.get(se.SVG_ATTR_DATA)
        if not inside or not isinstance(pathdef, str):
            return generate_points(self)
        key = (
            pathdef,
            self.n_points_per_cubic_curve,
            self.long_lines,
            self.should_subdivide_sharp_curves,
            self.should_remove_null_curves,
        )
        if key not in points_of:
            generate_points(self)
            points_of[key] = self.points.copy()
            return self
        self.points = points_of[key].copy()
        return self

    def shape(self: Any, element: Any) -> Any:
        """Manim's ``get_mob_from_shape_element`` for a path: made and styled
        once for each path string and style, then copied and moved."""
        pathdef = element.values.get(se.SVG_ATTR_DATA)
        if not inside or type(element) is not se.Path or not isinstance(pathdef, str):
            return shape_of(self, element)
        key = (
            pathdef,
            element.stroke_width if element.stroke.value is not None else 0,
            element.stroke.hexrgb,
            element.stroke.opacity,
            element.fill.hexrgb,
            element.fill.opacity,
            tuple(sorted(self.path_string_config.items())),
        )
        if key in styled:
            mob = styled[key].copy()
        else:
            mob = self.path_to_mobject(element)
            if mob is None or not mob.has_points():
                return None
            self.apply_style_to_mobject(mob, element)
            styled[key] = mob.copy()
        if element.apply:
            self.handle_transform(mob, element.transform)
        return mob

    with (
        patched(SVGMobject, "generate_mobject", generate),
        patched(SVGMobject, "get_mob_from_shape_element", shape),
        patched(se.SVG, "parse", staticmethod(parse)),
        patched(se.Path, "parse", lex),
        patched(VMobjectFromSVGPath, "generate_points", points),
    ):
        yield
