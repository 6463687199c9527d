"""Progress of a render: a bar per scene and one overall, on stderr.

On a terminal the block of bars is redrawn in place; otherwise (a log, CI) each
change of state is printed as one line.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

WIDTH = 24  # characters of a bar


def bar(fraction: float, width: int = WIDTH) -> str:
    """A text progress bar.

    >>> bar(0.5, 10)
    '█████·····'
    """
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "·" * (width - filled)


@dataclass
class _Row:
    name: str
    expected: float  # seconds of video expected
    state: str = "queued"
    video: float = 0.0  # seconds of video rendered so far
    started: float = 0.0
    finished: float = 0.0
    note: str = ""

    def fraction(self) -> float:
        if self.state in ("done", "cached"):
            return 1.0
        return min(self.video / self.expected, 0.99) if self.expected else 0.0


@dataclass
class Progress:
    """Call :meth:`begin`, then :meth:`update` as scenes move, then :meth:`end`."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    live: bool | None = None  # redraw in place; default: when stream is a terminal
    rows: dict[str, _Row] = field(default_factory=dict)
    _drawn: int = 0
    _start: float = 0.0
    _last_draw: float = 0.0

    def begin(self, expected: dict[str, float]) -> None:
        if self.live is None:
            self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self.rows = {name: _Row(name, seconds) for name, seconds in expected.items()}
        if self.live:
            self._draw(force=True)

    def update(
        self, name: str, state: str, video: float | None = None, note: str = ""
    ) -> None:
        row = self.rows[name]
        now = time.monotonic()
        changed = state != row.state
        if changed and state == "rendering":
            row.started = now
        if changed and state in ("done", "cached", "failed"):
            row.finished = now
        row.state = state
        row.note = note or row.note
        if video is not None:
            row.video = video
        if self.live:
            self._draw(force=changed)
        elif changed:
            self._line(row)

    def end(self) -> None:
        if self.live:
            self._draw(force=True)

    # --- drawing ----------------------------------------------------------------------

    def _counts(self) -> tuple[int, int]:
        done = sum(r.state in ("done", "cached", "failed") for r in self.rows.values())
        return done, len(self.rows)

    def _overall(self) -> str:
        done, total = self._counts()
        expected = sum(r.expected for r in self.rows.values()) or 1.0
        rendered = sum(r.expected * r.fraction() for r in self.rows.values())
        elapsed = time.monotonic() - self._start
        return (
            f"{'all scenes':<20} {bar(rendered / expected)} {done}/{total} "
            f"{elapsed:5.1f} s"
        )

    def _describe(self, row: _Row) -> str:
        now = time.monotonic()
        if row.state == "rendering":
            status = f"rendering {row.video:4.1f}/{row.expected:.0f} s of video"
            status += f", {now - row.started:.0f} s"
        elif row.state == "done":
            status = f"done in {row.finished - row.started:.1f} s"
        elif row.state == "failed":
            status = "FAILED"
        else:
            status = row.state
        if row.note:
            status += f" ({row.note})"
        return f"{row.name:<20} {bar(row.fraction())} {status}"

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < 0.2:
            return
        self._last_draw = now
        lines = [self._describe(r) for r in self.rows.values()] + [self._overall()]
        if self._drawn:
            self.stream.write(f"\x1b[{self._drawn}F")  # back to the block's first line
        for line in lines:
            self.stream.write(f"\x1b[2K{line}\n")
        self._drawn = len(lines)
        self.stream.flush()

    def _line(self, row: _Row) -> None:
        done, total = self._counts()
        self.stream.write(f"[{done}/{total}] {self._describe(row)}\n")
        self.stream.flush()
