"""Where a caption breaks into lines: at a space in English; between any two Chinese
characters in Chinese, but never inside a Latin word or a number, never before a
closing mark (，。；：、）…) and never after an opening one (（「“…).

Pure functions, so that the rules can be tested without drawing anything; the
scenes measure the characters with the font (:meth:`TraceScene.caption`).
"""

from __future__ import annotations

from collections.abc import Sequence

from explainer.line_breaks import CLOSING, OPENING, break_points, is_wide

__all__ = ["CLOSING", "OPENING", "break_points", "is_wide", "split_lines"]

MAX_LINES = 2  # a caption is read in one glance: never more than two lines

# A break after one of these (a pause) is preferred when both lines fit.
PAUSES = frozenset("，。；：、！？,;:.!?")


def line_width(content: str, widths: Sequence[float], start: int, end: int) -> float:
    """The width of ``content[start:end]`` without the spaces at its ends."""
    while start < end and content[start].isspace():
        start += 1
    while end > start and content[end - 1].isspace():
        end -= 1
    return float(sum(widths[start:end]))


def split_lines(
    content: str, max_width: float, widths: Sequence[float] | None = None
) -> list[str]:
    """``content`` as one line if it fits ``max_width``, else as two lines of about
    the same width, broken at a :func:`break_points` point: after a pause (a comma,
    a full stop) if one lets both lines fit and neither is under a quarter of the
    whole, else the most even. ``widths`` gives
    each character's width (default: 1 each). If no break makes both lines fit,
    the two lines are still the most even ones (the caller shrinks them).

    >>> split_lines("Each token becomes a vector", 30)
    ['Each token becomes a vector']
    >>> split_lines("Each token becomes a vector", 20)
    ['Each token', 'becomes a vector']
    >>> split_lines("每个词元变成一个向量，再加上位置编码。", 12)
    ['每个词元变成一个向量，', '再加上位置编码。']
    >>> split_lines("每个词元变成一个向量再加上位置编码。", 12)
    ['每个词元变成一个向', '量再加上位置编码。']
    >>> split_lines("第 12 行乘以 W_Q 的每一列", 12)
    ['第 12 行乘以', 'W_Q 的每一列']
    """
    if widths is None:
        widths = [1.0] * len(content)
    if len(widths) != len(content):
        raise ValueError(f"{len(widths)} widths for {len(content)} characters")
    whole = line_width(content, widths, 0, len(content))
    points = break_points(content)
    if whole <= max_width or not points:
        return [content]

    def widest(i: int) -> float:
        return max(
            line_width(content, widths, 0, i),
            line_width(content, widths, i, len(content)),
        )

    def pause(i: int) -> bool:
        return content[:i].rstrip()[-1:] in PAUSES

    def shortest(i: int) -> float:
        return min(
            line_width(content, widths, 0, i),
            line_width(content, widths, i, len(content)),
        )

    paused = [
        i
        for i in points
        if pause(i) and widest(i) <= max_width and shortest(i) >= whole / 4
    ]
    best = min(paused or points, key=lambda i: (widest(i), i))
    return [content[:best].rstrip(), content[best:].lstrip()]
