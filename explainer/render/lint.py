"""The scene linter behind ``explainer render --check``: run a scene without writing
video and measure what a learner would see.

A scene is run by Manim with ``dry_run`` and every animation skipped, so that
``construct()`` executes (each ``play``/``wait`` still advances the clock by its
run time) but no frame is drawn. After each ``play`` and ``wait`` the texts on
screen are measured:

- **captions** (a :class:`~explainer.scenes.common.TraceScene` shows them through
  ``self.caption``; the one on screen is ``scene._caption``): how long each stays
  fully shown, from the end of the animation that brought it in to the start of the
  one that replaced or removed it, against :func:`required_seconds`; and whether the
  old caption was still on screen when the next one started to appear;
- the **smallest text height** in pixels at the chosen quality (the height of the
  text's box: a digit's height for numbers, the x-height for a word without capitals,
  ascenders or descenders);
- texts **outside the frame** (the camera frame, so a moving camera counts);
- texts **overlapping** another text (their boxes intersect by more than a pixel
  both ways), or the small map of the model in the scene's corner
  (``scene.corner_map``);
- a caption held over an **empty picture**: at the end of a ``wait``, a caption
  is on screen but nothing is drawn between the header and it (a key point said
  over a blank screen). The header's bottom is the scene's ``body_top`` (a
  :class:`~explainer.scenes.common.TraceScene` sets it), else the frame's top.

A "text" is a :class:`~manim.Text`, ``MarkupText``, ``MathTex``/``Tex``,
``DecimalNumber`` or a flattened text of ``scenes/common.py`` (which carries
``.text`` or ``.number``); texts with no letter or digit (⋮, …, =) are not measured
for height, and fully transparent ones not at all.

Library code: :func:`lint_scene` and :func:`lint_specs` return results; the CLI
prints them.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explainer import trace_json
from explainer.render.bounds import boundary, fast_boundary
from explainer.render.copies import fast_subpaths, svg_paths_shared
from explainer.render.pace import (  # noqa: F401  (re-exported for the CLI, tests)
    BASE_SECONDS,
    CJK_PER_WORD,
    SECONDS_PER_WORD,
    count_words,
    is_cjk,
    required_seconds,
)
from explainer.render.patching import patched
from explainer.render.recent import Recent
from explainer.render.registry import SceneSpec
from explainer.render.worker import QUALITIES, private_dir, publish
from explainer.trace import Trace

MIN_TEXT_PX = 12.0  # the smallest legible text height at the chosen quality
TOLERANCE_PX = 1.0  # overlaps and frame overruns smaller than this are ignored
EPSILON = 1e-6
PARSED_SVGS = 2000  # texts and formulas a process keeps parsed (svg_by_content)
TEX_COMMAND = re.compile(r"\\[A-Za-z]+")  # \cdot, \left: not letters on screen


# --- results ------------------------------------------------------------------------


@dataclass(frozen=True)
class Caption:
    """One caption and how long it stayed fully shown."""

    text: str
    shown_at: float  # seconds into the scene when it was fully shown
    seconds: float  # how long it stayed fully shown
    required: float  # :func:`required_seconds` of its text
    over_previous: bool  # appeared while the previous caption was still on screen

    @property
    def too_short(self) -> bool:
        return self.seconds + EPSILON < self.required


@dataclass(frozen=True)
class Finding:
    """A text problem seen at the end of an animation (its first time only)."""

    at: float  # seconds into the scene
    what: str  # the text(s), quoted
    detail: str = ""


@dataclass
class SceneLint:
    """What :func:`lint_scene` measured in one scene."""

    name: str
    seconds: float = 0.0
    pixel_height: int = 0
    captions: list[Caption] = field(default_factory=list)
    smallest_px: float | None = None  # the smallest measured text height
    smallest_text: str = ""
    small: list[Finding] = field(default_factory=list)  # texts < MIN_TEXT_PX
    off_frame: list[Finding] = field(default_factory=list)
    overlaps: list[Finding] = field(default_factory=list)
    empty: list[Finding] = field(default_factory=list)  # captions over nothing

    @property
    def short_captions(self) -> list[Caption]:
        return [c for c in self.captions if c.too_short]

    @property
    def caption_overlaps(self) -> list[Caption]:
        return [c for c in self.captions if c.over_previous]

    @property
    def violations(self) -> int:
        """How many problems were found (0: the scene passes)."""
        return (
            len(self.short_captions)
            + len(self.caption_overlaps)
            + len(self.small)
            + len(self.off_frame)
            + len(self.overlaps)
            + len(self.empty)
        )

    @property
    def ok(self) -> bool:
        return self.violations == 0


# --- texts on screen ----------------------------------------------------------------


def _text_classes() -> tuple[type, ...]:
    from manim import DecimalNumber, MarkupText, SingleStringMathTex, Text

    return (Text, MarkupText, SingleStringMathTex, DecimalNumber)


def text_content(mob: Any) -> str | None:
    """What a text mobject says, or None if ``mob`` is not a text."""
    content = getattr(mob, "original_text", None)  # Text's .text lacks spaces
    if not isinstance(content, str):
        content = getattr(mob, "text", None)
    if isinstance(content, str) and (
        isinstance(mob, _text_classes()) or hasattr(mob, "points")
    ):
        return content
    number = getattr(mob, "number", None)
    if isinstance(number, int | float | complex) and not isinstance(number, bool):
        return str(number)
    if isinstance(mob, _text_classes()):
        return str(getattr(mob, "tex_string", "") or getattr(mob, "text", ""))
    return None


def texts(mobjects: Iterable[Any]) -> Iterator[tuple[Any, str]]:
    """Every text among ``mobjects`` and their submobjects, once, as (mob, content);
    a text's own parts (glyphs) are not listed separately."""
    seen: set[int] = set()

    def visit(mob: Any) -> Iterator[tuple[Any, str]]:
        if id(mob) in seen:
            return
        seen.add(id(mob))
        content = text_content(mob)
        if content is not None:
            yield mob, content
            return
        for sub in mob.submobjects:
            yield from visit(sub)

    for mob in mobjects:
        yield from visit(mob)


def visible(mob: Any) -> bool:
    """Whether any part of ``mob`` is drawn with some opacity."""
    for part in mob.family_members_with_points():
        fill = getattr(part, "get_fill_opacity", None)
        if fill is not None and fill() > 0:
            return True
        stroke = getattr(part, "get_stroke_opacity", None)
        width = getattr(part, "get_stroke_width", None)
        if stroke is not None and stroke() > 0 and (width is None or width() > 0):
            return True
        if fill is None and stroke is None:
            return True
    return False


def _box(mob: Any) -> np.ndarray | None:
    """``mob``'s box (left, bottom, right, top), or None if it has no points: what
    ``get_critical_point`` gives, the extremes of the anchors of a VMobject's
    family (of all points otherwise), taken in one array instead of one call a
    corner (a check measures every text after every animation)."""
    from manim import VMobject

    if not isinstance(mob, VMobject):
        if not mob.family_members_with_points():
            return None
        left, bottom = mob.get_critical_point((-1, -1, 0))[:2]
        right, top = mob.get_critical_point((1, 1, 0))[:2]
        return np.array([left, bottom, right, top])
    anchors = boundary(mob)  # what get_critical_point reads, in one array
    if len(anchors) == 0:
        return None
    flat = anchors[:, :2]
    return np.concatenate([flat.min(axis=0), flat.max(axis=0)])


def _frame_height() -> float:
    """The height of Manim's frame when the camera has not moved."""
    from manim import config

    return float(config.frame_height)


def _quote(content: str, limit: int = 40) -> str:
    flat = " ".join(content.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


class _Recorder:
    """Measures a scene after each of its ``play``/``wait`` calls."""

    def __init__(self, scene: Any, result: SceneLint, pixel_height: int) -> None:
        self.scene = scene
        self.result = result
        self.pixel_height = pixel_height
        self.caption: Any = None  # the caption being timed
        self.caption_ready = 0.0  # when it was fully shown
        self.caption_over = False
        self.seen: set[tuple[str, int, int]] = set()
        self.before_play: set[int] = set()
        self.alive: list[Any] = []  # keeps ids in self.seen from being reused

    def on_screen(self) -> set[int]:
        return {id(m) for top in self.scene.mobjects for m in top.get_family()}

    def frame(self) -> tuple[np.ndarray, float, float]:
        camera = self.scene.renderer.camera
        frame = getattr(camera, "frame", None)
        if frame is not None:  # a MovingCamera
            return frame.get_center(), frame.width, frame.height
        return (
            np.zeros(3),
            float(camera.frame_width),
            float(camera.frame_height),
        )

    def close_caption(self, at: float) -> None:
        if self.caption is None:
            return
        content = text_content(self.caption) or ""
        self.result.captions.append(
            Caption(
                text=content,
                shown_at=round(self.caption_ready, 3),
                seconds=round(max(at - self.caption_ready, 0.0), 3),
                required=round(required_seconds(content), 3),
                over_previous=self.caption_over,
            )
        )
        self.caption = None

    def before(self) -> None:
        self.before_play = self.on_screen()

    def empty_picture(self, animations: Iterable[Any], at: float) -> None:
        """After a wait: a caption on screen over an empty picture."""
        from manim import Wait

        caption = getattr(self.scene, "_caption", None)
        anims = list(animations)
        if caption is None or not anims or not all(isinstance(a, Wait) for a in anims):
            return
        if id(caption) not in self.on_screen():
            return
        center, _, height = self.frame()
        top = center[1] + height / 2
        body_top = getattr(self.scene, "body_top", None)
        if body_top is not None:  # on screen, under the header: zoom counts
            top = center[1] + body_top * height / _frame_height()
        bottom = caption.get_top()[1]
        own = {id(part) for part in caption.get_family()}
        for top_level in self.scene.mobjects:
            for part in top_level.family_members_with_points():
                if id(part) in own or not visible(part):
                    continue
                if bottom < part.get_center()[1] < top:
                    return
        if self._first("empty", caption):
            content = text_content(caption) or ""
            self.result.empty.append(
                Finding(round(at, 3), _quote(content), "nothing else is drawn")
            )

    def after(self, start: float, end: float) -> None:
        """A caption arrives when it first is on screen at the end of an animation
        (it is then fully shown); the one it replaces stopped being fully shown
        when that animation started."""
        now = self.on_screen()
        new = getattr(self.scene, "_caption", None)
        if new is not None and new is not self.caption and id(new) in now:
            over = self.caption is not None and id(self.caption) in self.before_play
            self.close_caption(start)
            self.caption, self.caption_over, self.caption_ready = new, over, end
        elif self.caption is not None and id(self.caption) not in now:
            self.close_caption(start)
        self.measure(end)

    def measure(self, at: float) -> None:
        center, width, height = self.frame()
        px = self.pixel_height / height
        tol = TOLERANCE_PX / px
        found = [
            (mob, content, box)
            for mob, content in texts(self.scene.mobjects)
            if visible(mob) and (box := _box(mob)) is not None
        ]
        result = self.result
        for mob, content, box in found:
            if not any(ch.isalnum() for ch in TEX_COMMAND.sub("", content)):
                continue  # ⋮, …, =, \cdot: no letter or digit to read
            tall = (box[3] - box[1]) * px
            if result.smallest_px is None or tall < result.smallest_px:
                result.smallest_px = round(float(tall), 1)
                result.smallest_text = content
            if tall < MIN_TEXT_PX and self._first("small", mob):
                result.small.append(
                    Finding(round(at, 3), _quote(content), f"{tall:.1f} px")
                )
        half = np.array([width, height]) / 2
        low, high = center[:2] - half - tol, center[:2] + half + tol
        for mob, content, box in found:
            if (box[:2] < low).any() or (box[2:] > high).any():
                if self._first("off", mob):
                    sides = [
                        name
                        for name, out in (
                            ("left", box[0] < low[0]),
                            ("bottom", box[1] < low[1]),
                            ("right", box[2] > high[0]),
                            ("top", box[3] > high[1]),
                        )
                        if out
                    ]
                    result.off_frame.append(
                        Finding(
                            round(at, 3), _quote(content), "past " + ", ".join(sides)
                        )
                    )
        self.map_overlaps(found, tol, at)
        if len(found) < 2:
            return
        boxes = np.array([box for _, _, box in found])
        wide = np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(
            boxes[:, None, 0], boxes[None, :, 0]
        )
        high_ = np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(
            boxes[:, None, 1], boxes[None, :, 1]
        )
        hits = np.argwhere(np.triu((wide > tol) & (high_ > tol), k=1))
        for i, j in hits:
            a, b = found[i], found[j]
            key = ("overlap", *sorted((id(a[0]), id(b[0]))))
            if key in self.seen:
                continue
            self.seen.add(key)
            self.alive += [a[0], b[0]]
            result.overlaps.append(
                Finding(round(at, 3), f"{_quote(a[1])} and {_quote(b[1])}")
            )

    def map_overlaps(self, found: list[tuple[Any, str, np.ndarray]], tol, at) -> None:
        """Texts over the corner map of the model (``scene.corner_map``)."""
        corner = getattr(self.scene, "corner_map", None)
        if corner is None or id(corner) not in self.on_screen() or not visible(corner):
            return
        area = _box(corner)
        if area is None:
            return
        for mob, content, box in found:
            wide = min(area[2], box[2]) - max(area[0], box[0])
            high = min(area[3], box[3]) - max(area[1], box[1])
            if wide > tol and high > tol and self._first("map", mob):
                self.result.overlaps.append(
                    Finding(round(at, 3), f"the map of the model and {_quote(content)}")
                )

    def _first(self, kind: str, mob: Any) -> bool:
        key = (kind, id(mob), 0)
        if key in self.seen:
            return False
        self.seen.add(key)
        self.alive.append(mob)
        return True


# --- running scenes -----------------------------------------------------------------


def lint_scene(
    scene_class: type,
    name: str = "",
    *,
    quality: str = "medium",
    media_dir: str | Path = "output/.manim",
) -> SceneLint:
    """Run ``scene_class`` without drawing or writing anything and measure it."""
    from manim import tempconfig

    if quality not in QUALITIES:
        raise ValueError(f"unknown quality {quality!r}; valid: {', '.join(QUALITIES)}")
    name = name or scene_class.__name__
    media = Path(media_dir).resolve()
    (media / "tex-work").mkdir(parents=True, exist_ok=True)
    tex_dir = private_dir(media, "Tex", f"check-{name}")
    text_dir = private_dir(media, "texts", f"check-{name}")
    options = {
        "quality": QUALITIES[quality],
        "media_dir": str(media),
        "tex_dir": str(tex_dir),
        "text_dir": str(text_dir),
        "dry_run": True,
        "disable_caching": True,
        "progress_bar": "none",
        "verbosity": "WARNING",
    }
    try:
        with (
            tempconfig(options),
            svg_by_content(),
            svg_paths_shared(),
            fast_subpaths(),
            fast_boundary(),
        ):
            from manim import config

            result = SceneLint(name=name, pixel_height=int(config.pixel_height))
            scene = scene_class(skip_animations=True)
            draw_nothing(scene.renderer)
            recorder = _Recorder(scene, result, int(config.pixel_height))
            inner = scene.play

            def play(*args: Any, **kwargs: Any) -> None:
                start = float(scene.renderer.time)
                recorder.before()
                inner(*args, **kwargs)
                recorder.after(start, float(scene.renderer.time))
                recorder.empty_picture(args, float(scene.renderer.time))

            scene.play = play  # this instance only; wait() calls it too
            scene.render()
            result.seconds = round(float(scene.renderer.time), 3)
            recorder.close_caption(result.seconds)
    finally:
        publish(tex_dir, media / "Tex")
        publish(text_dir, media / "texts")
    return result


def draw_nothing(renderer: Any) -> None:
    """Make ``renderer`` (this instance only) skip drawing pixels.

    With animations skipped Manim still paints each ``play``'s still mobjects
    and then its moving ones at the final time with Cairo (about a tenth of a
    check's time); the linter measures mobjects, never pixels, and a dry run
    writes no frame."""

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    renderer.update_frame = nothing
    renderer.save_static_frame_data = nothing
    renderer.render = nothing


@contextmanager
def svg_by_content() -> Iterator[None]:
    """For the duration, every SVG Manim parses (a text's, a formula's) is kept in
    memory keyed by the file's content, and parsed once per process.

    Manim keeps formulas, keyed by the file's path, and no ``Text`` at all
    (``use_svg_cache=False``: it would keep each big SVG for nothing in a single
    render). Each check reads its SVGs from private folders of its own (see
    :func:`~explainer.render.worker.private_dir`), so a text or formula was
    parsed again in every scene and every case, and parsing was about a third of
    a check's time. The key here is Manim's with the path replaced by a SHA-256
    of the file: the parse depends on nothing else (the class, ``svg_default``
    and ``path_string_config`` stay in the key; colour, size and position are
    applied to the copy afterwards)."""
    from manim.mobject.svg import svg_mobject
    from manim.mobject.svg.svg_mobject import SVGMobject

    by_path = SVGMobject.__dict__["hash_seed"]
    init = SVGMobject.__dict__["init_svg_mobject"]

    def by_content(self: Any) -> tuple:
        seed = by_path.fget(self)
        name = getattr(self, "file_name", None)
        if name is None:
            return seed
        try:
            digest = hashlib.sha256(Path(self.get_file_path()).read_bytes())
        except OSError:
            return seed
        return tuple(
            ("sha256", digest.hexdigest()) if part == name else part for part in seed
        )

    def always_cached(self: Any, use_svg_cache: bool) -> Any:
        return init(self, use_svg_cache=True)

    with (
        patched(SVGMobject, "hash_seed", property(by_content)),
        patched(SVGMobject, "init_svg_mobject", always_cached),
        patched(svg_mobject, "SVG_HASH_TO_MOB_MAP", _PARSED),
    ):
        yield


# The SVGs parsed by checks in this process (see svg_by_content), by content: a
# scene makes 100–200, a few hundred kB each.
_PARSED = Recent(PARSED_SVGS)


@contextmanager
def trace_file(trace: Trace) -> Iterator[Path]:
    """The scenes read the trace from ``EXPLAINER_TRACE``: point it at a temporary
    copy of ``trace`` for the duration."""
    folder = Path(tempfile.mkdtemp(prefix="explainer-check-"))
    path = folder / "trace.json"
    path.write_text(trace_json.dumps(trace), encoding="utf-8")
    old = os.environ.get("EXPLAINER_TRACE")
    os.environ["EXPLAINER_TRACE"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("EXPLAINER_TRACE", None)
        else:
            os.environ["EXPLAINER_TRACE"] = old
        shutil.rmtree(folder, ignore_errors=True)


def lint_specs(
    trace: Trace,
    specs: Iterable[SceneSpec],
    *,
    quality: str = "medium",
    media_dir: str | Path = "output/.manim",
    on_scene: Callable[[SceneLint], None] | None = None,
) -> list[SceneLint]:
    """:func:`lint_scene` for each registered scene of ``specs``, showing ``trace``;
    ``on_scene`` is called with each result as it comes."""
    from explainer.render import tex_format

    tex_format.install(media_dir)  # LaTeX starts from a format of its preamble
    results = []
    with trace_file(trace):
        for spec in specs:
            reason = spec.unavailable(trace)
            if reason:
                raise ValueError(f"scene {spec.name!r} {reason}")
            module = importlib.import_module(spec.import_path)
            result = lint_scene(
                getattr(module, spec.cls),
                spec.name,
                quality=quality,
                media_dir=media_dir,
            )
            results.append(result)
            if on_scene is not None:
                on_scene(result)
    return results
