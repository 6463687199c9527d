"""``--help`` wrapped by the columns a terminal gives each character: a Chinese
character takes two, so click's wrapping (which counts characters) would make
Chinese lines twice as wide as the terminal. Text without wide characters is
left to click, byte for byte.

>>> wrap("每个词元变成一个向量，再加上位置编码。", 12)
['每个词元变成', '一个向量，再', '加上位置编', '码。']
>>> wrap("词元 id 是行号（token id）", 12)
['词元 id 是行', '号（token', 'id）']
"""

from __future__ import annotations

import click

from explainer.line_breaks import break_points, is_wide


def columns(text: str) -> int:
    """The terminal columns of ``text``: two for a wide (Chinese) character."""
    return sum(2 if is_wide(c) else 1 for c in text)


def has_wide(text: str) -> bool:
    """Whether ``text`` holds a wide character."""
    return any(is_wide(c) for c in text)


def _rewrapped_wide(text: str) -> bool:
    """Whether a paragraph click would rewrap (not one after ``\\b``) holds a
    wide character."""
    return any(
        has_wide(paragraph) and paragraph.strip("\n").splitlines()[0].strip() != "\b"
        for paragraph in text.split("\n\n")
        if paragraph.strip()
    )


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns where a break allows it."""
    lines: list[str] = []
    start, fits = 0, None
    points = [*break_points(text), len(text)]
    n = 0
    while n < len(points):
        end = points[n]
        if columns(text[start:end].strip()) <= width:
            fits = end
            n += 1
            continue
        cut = fits if fits is not None else end  # a word longer than the line
        lines.append(text[start:cut].strip())
        start, fits = cut, None
        if cut == end:
            n += 1
    if text[start:].strip():
        lines.append(text[start:].strip())
    return lines


def _paragraphs(text: str, width: int, indent: str) -> str:
    """``text`` as click lays it out (blank lines between paragraphs, a paragraph
    after ``\\b`` kept as written), wrapped by :func:`columns`."""
    out: list[str] = []
    for paragraph in text.strip("\n").split("\n\n"):
        lines = paragraph.splitlines()
        if lines and lines[0].strip() == "\b":
            out.append("\n".join(indent + line for line in lines[1:]))
            continue
        joined = lines[0].strip() if lines else ""
        for line in lines[1:]:
            line = line.strip()
            glue = "" if has_wide(joined[-1:]) and has_wide(line[:1]) else " "
            joined += glue + line
        wrapped = wrap(joined, max(width - len(indent), 10))
        out.append("\n".join(indent + line for line in wrapped))
    return "\n\n".join(out)


class WideFormatter(click.HelpFormatter):
    """click's help formatter, wrapping text with wide characters by columns."""

    def write_text(self, text: str) -> None:
        if not _rewrapped_wide(text):
            return super().write_text(text)
        self.write(_paragraphs(text, self.width, " " * self.current_indent) + "\n")

    def write_dl(self, rows: object, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)  # type: ignore[call-overload]
        if not any(_rewrapped_wide(second) for _, second in rows):
            return super().write_dl(rows, col_max, col_spacing)
        first_col = min(max(len(first) for first, _ in rows), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if len(first) <= first_col - col_spacing:
                self.write(" " * (first_col - len(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            text_width = max(self.width - first_col - 2, 10)
            lines = _paragraphs(second, text_width, "").splitlines() or [""]
            pad = " " * (first_col + self.current_indent)
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write((pad + line if line else "") + "\n")


class WideContext(click.Context):
    """A context whose ``--help`` uses :class:`WideFormatter`."""

    formatter_class = WideFormatter
