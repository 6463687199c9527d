"""Arrays as plain table data: rounded text for reading, the exact value for
hovering, and a colour class from a fixed scale.

A matrix of at most ``MAX_ROWS`` × ``MAX_COLS`` is shown whole; a larger one (a
row of d_model = 576, logits over 49,152 tokens) is *summarised*: its first and
last ``EDGE`` rows and columns with an ellipsis between them, its shape, and the
minimum, maximum, mean and standard deviation of all its entries, the way NumPy
prints a large array (``numpy.set_printoptions(edgeitems=…)``).

Diverging scales (``d0`` … ``d8``, white at ``d4``) run from −L to +L, L the
largest |value| of the whole array, or of all the arrays shown side by side
(:func:`share_scale`); probabilities and attention weights use an absolute scale
(``s0`` … ``s8``, so equal colours mean equal probabilities); masks are
``yes``/``no``; −∞ is ``ninf``. Every group of tables shows its scale's numbers
in a legend (:attr:`Table.legend`).

>>> t = table("x", np.array([[0.5, -1.0]]), rows=["a"], cols=["0", "1"])
>>> [(c.text, c.exact, c.tone) for c in t.rows[0].cells]
[('0.500', '0.5', 'd6'), ('−1.000', '-1.0', 'd0')]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

MAX_ROWS = 32  # larger arrays are summarised: first and last EDGE rows/columns
MAX_COLS = 64
EDGE = 8
GAP = -1  # the index of an ellipsis row or column


@dataclass(frozen=True)
class Cell:
    text: str  # rounded, for reading
    exact: str  # shortest text that reads back as the same float
    tone: str  # CSS class of the colour scale
    value: float = 0.0  # the number itself (for re-colouring on a shared scale)


@dataclass(frozen=True)
class Row:
    label: str
    index: int  # the row of the array it shows; GAP for an ellipsis row
    cells: tuple[Cell, ...]


def shape_text(shape: Sequence[int]) -> str:
    """An array's shape as the report writes it.

    >>> shape_text((52, 384))
    '52 × 384'
    """
    return " × ".join(str(n) for n in shape)


@dataclass(frozen=True)
class Stats:
    """Minimum, maximum, mean and standard deviation of a summarised array, each
    rounded (``text``) and exact (``exact``), and the shape of that array."""

    text: dict[str, str]
    exact: dict[str, str]
    of: tuple[int, ...]

    @property
    def size(self) -> str:
        return shape_text(self.of)


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
    source_cols: tuple[int, ...] | None = None  # columns of ``name`` shown, if not all
    stats: Stats | None = None  # of the whole array, when it is summarised
    largest: float = 0.0  # a diverging scale runs from −largest to +largest

    @property
    def width(self) -> int:
        """Columns shown, ellipses included."""
        return len(self.cols)

    @property
    def legend(self) -> list[tuple[str, str]]:
        """The colour scale's swatches: (CSS class, the value at its centre).

        >>> t = table("x", np.array([[2.0, -1.0]]), rows=["a"], cols=["0", "1"])
        >>> t.legend[0], t.legend[4], t.legend[8]
        (('d0', '−2.000'), ('d4', '0'), ('d8', '2.000'))
        """
        if self.scale == "probability":
            return [(f"s{k}", number(k / 8)) for k in range(9)]
        if self.scale == "diverging":
            return [(f"d{k}", number((k - 4) / 4 * self.largest)) for k in range(9)]
        return []

    @property
    def shown(self) -> tuple[int, int]:
        """(rows, columns) of numbers shown, ellipses not counted."""
        rows = sum(r.index != GAP for r in self.rows)
        return rows, sum(c != "⋯" for c in self.cols)


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
    """The value as Python prints it: enough digits to read back exactly, in its
    own precision (a float32 as the shortest text that reads back as that float32).

    >>> exact(0.1), exact(np.float32(0.1)), exact(np.float64(0.1)), exact(True)
    ('0.1', '0.1', '0.1', 'true')
    >>> exact(float(np.float32(0.1)))
    '0.10000000149011612'
    """
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, np.float32):
        return str(value)  # NumPy prints the shortest text that round-trips
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
    rounded = float(value)
    return Cell(number(rounded), exact(value), _tone(rounded, scale, largest), rounded)


_ELLIPSIS = Cell("⋯", "", "gap")
_VERTICAL = Cell("⋮", "", "gap")


def edges(n: int, limit: int, edge: int = EDGE) -> list[int]:
    """The indices of an axis of length ``n`` that a table shows: all of them up
    to ``limit``, else the first and last ``edge`` with a GAP between.

    >>> edges(3, 4), edges(6, 4, 2)
    ([0, 1, 2], [0, 1, -1, 4, 5])
    """
    if n <= limit:
        return list(range(n))
    return [*range(edge), GAP, *range(n - edge, n)]


def with_gaps(chosen: Sequence[int], n: int) -> list[int]:
    """Distinct ``chosen`` indices of an axis of length ``n``, sorted, with a GAP
    wherever indices are skipped.

    >>> with_gaps([5, 2, 3, 5], 8)
    [-1, 2, 3, -1, 5, -1]
    """
    out: list[int] = []
    previous = -1
    for i in sorted(set(chosen)):
        if i > previous + 1:
            out.append(GAP)
        out.append(i)
        previous = i
    if previous < n - 1:
        out.append(GAP)
    return out


def stats(arr: np.ndarray) -> Stats | None:
    """Min, max, mean and (biased) standard deviation of the finite entries.

    >>> stats(np.array([[1.0, 3.0]])).text
    {'min': '1.000', 'max': '3.000', 'mean': '2.000', 'std': '1.000'}
    """
    if arr.dtype.kind not in "fiu":
        return None
    finite = arr[np.isfinite(arr)].astype(np.float64)
    if not finite.size:
        return None
    values = {
        "min": float(finite.min()),
        "max": float(finite.max()),
        "mean": float(finite.mean()),
        "std": float(finite.std()),
    }
    return Stats(
        {k: number(v) for k, v in values.items()},
        {k: exact(v) for k, v in values.items()},
        tuple(arr.shape),
    )


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
    columns: Sequence[int] | None = None,
    max_cols: int = MAX_COLS,
) -> Table:
    """A 1-D or 2-D array as a :class:`Table` (a 1-D array is one row).

    A large array is summarised (see the module's docstring); ``columns`` picks
    the columns to show instead (e.g. the ids of a one-hot matrix), with an
    ellipsis wherever columns are skipped.
    """
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
    row_ids = edges(arr.shape[0], MAX_ROWS)
    col_ids = (
        edges(arr.shape[1], max_cols)
        if columns is None
        else with_gaps(columns, arr.shape[1])
    )
    body = tuple(
        Row("⋮", GAP, tuple(_VERTICAL for _ in col_ids))
        if r == GAP
        else Row(
            rows[r],
            r,
            tuple(
                _ELLIPSIS if c == GAP else _cell(arr[r, c], scale, largest)
                for c in col_ids
            ),
        )
        for r in row_ids
    )
    shown_rows = [r for r in row_ids if r != GAP]
    shown_cols = [c for c in col_ids if c != GAP]
    summarised = len(shown_rows) < arr.shape[0] or len(shown_cols) < arr.shape[1]
    if summarised and source_rows is None:
        source_rows = tuple(shown_rows)
    elif source_rows is not None:
        source_rows = tuple(source_rows[r] for r in shown_rows)
    full = shape if shape is not None else tuple(np.asarray(value).shape)
    return Table(
        name=name,
        caption=caption or name,
        shape=shape_text(full),
        cols=tuple("⋯" if c == GAP else cols[c] for c in col_ids),
        rows=body,
        scale=scale,
        head=head,
        compact=compact,
        hidden_rows=arr.shape[0] - len(shown_rows),
        hidden_cols=arr.shape[1] - len(shown_cols),
        source_rows=source_rows,
        source_cols=tuple(shown_cols) if summarised else None,
        stats=stats(arr) if summarised else None,
        largest=largest,
    )


def share_scale(tables: Sequence[Table]) -> list[Table]:
    """The diverging ``tables`` re-coloured on one scale, −L … +L with L the
    largest |value| among all of them, so that equal colours mean equal values
    across matrices shown side by side.

    >>> a = table("a", np.array([[1.0]]), rows=["r"], cols=["c"])
    >>> b = table("b", np.array([[-4.0]]), rows=["r"], cols=["c"])
    >>> [t.rows[0].cells[0].tone for t in share_scale([a, b])]
    ['d5', 'd0']
    """
    diverging = [t for t in tables if t.scale == "diverging"]
    largest = max((t.largest for t in diverging), default=0.0)
    return [
        t
        if t.scale != "diverging" or t.largest == largest
        else replace(
            t,
            largest=largest,
            rows=tuple(
                Row(r.label, r.index, tuple(_recoloured(c, largest) for c in r.cells))
                for r in t.rows
            ),
        )
        for t in tables
    ]


def _recoloured(c: Cell, largest: float) -> Cell:
    """``c`` with its diverging tone on the scale −largest … +largest; built
    directly (``dataclasses.replace`` on each of MiniLM's 6,392 cells took 1.3 s)."""
    if c.tone == "gap":
        return c
    tone = _tone(c.value, "diverging", largest)
    return c if tone == c.tone else Cell(c.text, c.exact, tone, c.value)


def indices(n: int) -> list[str]:
    """Column labels 0 … n − 1."""
    return [str(i) for i in range(n)]
