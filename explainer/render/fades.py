"""Fades that change only opacity (and a shift), without Manim's copies.

Manim's ``FadeIn`` and ``FadeOut`` are ``Transform``s: each one deep-copies the
faded mobjects two or three times when it begins, then interpolates every point
and every colour of every glyph between two copies on each frame. The scenes fade
a lot (each caption in and out, the picture before the next, the whole screen at
the end), and for a text or a table of numbers that cost about as much CPU as
drawing the frames.

:func:`install` gives them a faster path with the same result: the colours' alpha
is the original's times the fraction shown, the points are the original's plus
the part of the shift not yet done, frame by frame (``lag_ratio`` and the rate
function as before). Fades with ``scale`` or ``target_position``, and of anything
that is not a vectorised mobject, go through Manim's own code. The frames agree
with Manim's to within rounding (tests/test_render_fades.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

COLOURS = ("fill_rgbas", "stroke_rgbas", "background_stroke_rgbas")


class _Start:
    """A member's colours and points as they were when the fade began."""

    __slots__ = ("colours", "points")

    def __init__(self, mob: Any) -> None:
        self.colours = {name: np.array(getattr(mob, name)) for name in COLOURS}
        self.points = np.array(mob.points)


def install() -> bool:
    """Patch Manim's fades (once per process); False if this Manim has no such
    fade (then nothing changed)."""
    try:
        from manim.animation.fading import FadeIn, _Fade
    except ImportError:
        return False
    if getattr(_Fade.begin, "fast", False):
        return True
    original_begin = _Fade.begin
    original_families = _Fade.get_all_families_zipped
    original_submobject = _Fade.interpolate_submobject
    original_all = _Fade.get_all_mobjects

    def begin(self: Any) -> None:
        self._starts = _starts(self)
        if self._starts is None:
            original_begin(self)
            return
        self._showing = isinstance(self, FadeIn)
        self.starting_mobject = self.mobject
        if self.suspend_mobject_updating:
            self.mobject.suspend_updating()
        self.interpolate(0)

    def get_all_mobjects(self: Any) -> Any:
        if getattr(self, "_starts", None) is None:
            return original_all(self)
        return [self.mobject]

    def get_all_families_zipped(self: Any) -> Iterable[tuple]:
        if getattr(self, "_starts", None) is None:
            return original_families(self)
        return zip(self._members, self._starts, strict=True)

    def interpolate_submobject(self: Any, *args: Any) -> Any:
        if getattr(self, "_starts", None) is None:
            return original_submobject(self, *args)
        mob, start, alpha = args
        shown = alpha if self._showing else 1.0 - alpha
        for name, colours in start.colours.items():
            faded = colours.copy()
            faded[:, 3] *= shown
            setattr(mob, name, faded)
        if self._shift:
            done = alpha - 1.0 if self._showing else alpha  # FadeIn arrives
            mob.points = start.points + self.shift_vector * done
        return self

    def _starts(self: Any) -> list[_Start] | None:
        """The members' starting states, or None: Manim's own fade must do."""
        from manim import VMobject

        if self.point_target or self.scale_factor != 1:
            return None
        members = self.mobject.family_members_with_points()
        if not all(isinstance(m, VMobject) for m in members):
            return None
        self._members = members
        self._shift = bool(np.any(np.asarray(self.shift_vector) != 0))
        return [_Start(m) for m in members]

    begin.fast = True  # type: ignore[attr-defined]
    _Fade.begin = begin
    _Fade.get_all_mobjects = get_all_mobjects
    _Fade.get_all_families_zipped = get_all_families_zipped
    _Fade.interpolate_submobject = interpolate_submobject
    return True
