"""Arrays as plain table data: rounded text for reading, the exact value for
hovering, and a colour class from a fixed scale.

Diverging scales (``d0`` … ``d8``, white at ``d4``) are relative to the largest
|value| of the whole array; probabilities and attention weights use an absolute
scale (``s0`` … ``s8``, so equal colours mean equal probabilities); masks are
``yes``/``no``; −∞ is ``ninf``.

>>> t = table("x", np.array([[0.5, -1.0]]), rows=["a"], cols=["0", "1"])
>>> [(c.text, c.exact, c.tone) for c in t.rows[0].cells]
[('0.500', '0.5', 'd6'), ('−1.000', '-1.0', 'd0')]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_ROWS = 32  # longer arrays show their first rows and say how many are hidden
MAX_COLS = 64


@dataclass(frozen=True)
class Cell:
    text: str  # rounded, for reading
    exact: str  # shortest text that reads back as the same float
    tone: str  # CSS class of the colour scale


@dataclass(frozen=True)
class Row:
    label: str
    index: int
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    """One matrix of a stage or parameter, ready for the template."""

    name: str  # the stage or parameter it shows (``data-stage``)
    caption: str
    shape: str  # of the full array, e.g. "6 × 4"
    cols: tuple[str, ...]
    rows: tuple[Row, ...]
    scale: str  # diverging | probability | mask | integer
    head: int | None = None
    compact: bool = False  # tiny cells without text (one-hot rows, wide strips)
    hidden_rows: int = 0
    hidden_cols: int = 0
    source_rows: tuple[int, ...] | None = None  # rows of ``name`` shown, if not all


def number(value: float) -> str:
    """A value rounded for reading, with a true minus sign.

    >>> number(-0.12345), number(0.0), number(2.5e-05), number(float("-inf"))
    ('−0.123', '0', '2.5e−05', '−∞')
    """
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value == 0:
        return "0"
    magnitude = abs(value)
    text = f"{value:.1e}" if magnitude < 1e-3 or magnitude >= 1e4 else f"{value:.3f}"
    return text.replace("-", "−")


def exact(value: float | int | bool) -> str:
    """The value as Python prints it: enough digits to read back exactly."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    return repr(float(value))


def _tone(value: float, scale: str, largest: float) -> str:
    if scale == "mask":
        return "yes" if value else "no"
    if scale == "integer":
        return "int"
    if math.isinf(value):
        return "ninf" if value < 0 else "pinf"
    if scale == "probability":
        return f"s{min(8, max(0, round(value * 8)))}"
    if largest == 0:
        return "d4"
    return f"d{min(8, max(0, round(4 + 4 * value / largest)))}"


def _cell(value, scale: str, largest: float) -> Cell:
    if scale == "mask":
        return Cell("✓" if value else "✗", exact(bool(value)), _tone(value, scale, 0))
    if scale == "integer":
        return Cell(str(int(value)), exact(int(value)), "int")
    value = float(value)
    return Cell(number(value), exact(value), _tone(value, scale, largest))


def table(
    name: str,
    value: np.ndarray,
    *,
    rows: Sequence[str],
    cols: Sequence[str],
    caption: str = "",
    scale: str = "diverging",
    head: int | None = None,
    compact: bool = False,
    shape: tuple[int, ...] | None = None,
    source_rows: tuple[int, ...] | None = None,
) -> Table:
    """A 1-D or 2-D array as a :class:`Table` (a 1-D array is one row)."""
    arr = np.asarray(value)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name}: a table needs a 1-D or 2-D array, not {arr.shape}")
    if len(rows) != arr.shape[0] or len(cols) != arr.shape[1]:
        raise ValueError(
            f"{name}: {len(rows)} row and {len(cols)} column labels for {arr.shape}"
        )
    finite = np.abs(arr[np.isfinite(arr)]) if arr.dtype.kind == "f" else np.abs(arr)
    largest = float(finite.max(initial=0.0))
    shown = arr[:MAX_ROWS, :MAX_COLS]
    body = tuple(
        Row(
            rows[r],
            r,
            tuple(_cell(v, scale, largest) for v in shown[r]),
        )
        for r in range(shown.shape[0])
    )
    full = shape if shape is not None else tuple(np.asarray(value).shape)
    return Table(
        name=name,
        caption=caption or name,
        shape=" × ".join(str(n) for n in full),
        cols=tuple(cols[: shown.shape[1]]),
        rows=body,
        scale=scale,
        head=head,
        compact=compact,
        hidden_rows=arr.shape[0] - shown.shape[0],
        hidden_cols=arr.shape[1] - shown.shape[1],
        source_rows=source_rows,
    )


def indices(n: int) -> list[str]:
    """Column labels 0 … n − 1."""
    return [str(i) for i in range(n)]
