"""Columns that line up in a terminal when the text is Chinese: a CJK character
takes two cells."""

from __future__ import annotations

import unicodedata


def cells(text: str) -> int:
    """The terminal cells ``text`` takes: two for a wide (CJK) character.

    >>> cells("check"), cells("检查"), cells("x² ✓")
    (5, 4, 4)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def ljust(text: str, width: int) -> str:
    """``text`` padded on the right to ``width`` cells.

    >>> ljust("检查", 6) + "|"
    '检查  |'
    """
    return text + " " * max(0, width - cells(text))


def rjust(text: str, width: int) -> str:
    """``text`` padded on the left to ``width`` cells."""
    return " " * max(0, width - cells(text)) + text
