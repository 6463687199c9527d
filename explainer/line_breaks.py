"""Where a line of text may break: at a space in English, between any two wide
(Chinese) characters, but never inside a Latin word or a number, never before a
closing mark (，。；：、）…) and never after an opening one (（「“…).

Shared by the videos' captions (``scenes/caption_lines.py``) and the command
line's ``--help`` (:mod:`explainer.cli.help_width`).
"""

from __future__ import annotations

import unicodedata

# No line starts with these (Chinese and Latin closing marks) ...
CLOSING = frozenset("，。；：、）！？」』”’》〉】〕…—,.;:!?)]}%")
# ... and no line ends with these (opening marks).
OPENING = frozenset("（「『“‘《〈【〔([{")


def is_wide(char: str) -> bool:
    """A character set one per em, as Chinese is (ideographs and fullwidth marks).

    >>> is_wide("注"), is_wide("，"), is_wide("a"), is_wide("1")
    (True, True, False, False)
    """
    return unicodedata.east_asian_width(char) in ("W", "F")


def break_points(content: str) -> list[int]:
    """The indices ``i`` where ``content`` may break into ``content[:i]`` and
    ``content[i:]`` (spaces at the break are dropped).

    >>> break_points("one two")
    [4]
    >>> break_points("词元 id 是行号")
    [1, 3, 6, 7, 8]
    >>> break_points("值（V）。")
    [1]
    """
    points = []
    for i in range(1, len(content)):
        before, after = content[i - 1], content[i]
        if after.isspace() or after in CLOSING or before in OPENING:
            continue
        if before.isspace() or is_wide(before) or is_wide(after):
            points.append(i)
    return points
