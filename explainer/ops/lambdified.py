"""SymPy formulas turned into functions (``sp.lambdify``, once, cached) and applied
to the arrays a trace recorded, with two back-ends for the same expressions:
NumPy (float64) and mpmath (50 significant digits, on object arrays).

Element formulas in index symbols (softmax, LayerNorm, PE, masks) are evaluated with
index arrays that broadcast; matrix formulas (QKᵀ, AV, xW + b) one head at a time
(:func:`matrix_op`). The ops' own evaluators (``explainer/ops/*.py``) are built
from these pieces. The functions come from :class:`~explainer.ops.formula.Formula`
(NumPy's remembered across runs); nothing here imports SymPy or mpmath until a
function is made or the 50-digit back-end is used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from explainer.ops.context import Context
from explainer.ops.formula import Formula, later

if TYPE_CHECKING:
    import sympy as sp

DIGITS = 50  # significant digits of the high-precision back-end

matrices = later("explainer.ops.matrices")
"""The matrix symbols (``matrices.X``, ``matrices.W``, …), imported on first use."""


def compiled(backend: str, args: tuple[Any, ...], expr: sp.Basic) -> Callable:
    """``expr`` lambdified in ``args`` on ``backend`` (explainer.ops.printer)."""
    from explainer.ops.printer import compiled as made

    return made(backend, args, expr)


@dataclass(frozen=True)
class Backend:
    """Where a formula is evaluated: NumPy float64, or mpmath at ``DIGITS``."""

    name: str

    def array(self, value: np.ndarray) -> np.ndarray:
        if self.name == "numpy":
            return np.asarray(value, dtype=np.float64)
        arr = np.asarray(value)
        if arr.dtype == object:
            return arr
        return _to_mpf()(arr.astype(np.float64))

    def compile(self, args: tuple[Any, ...], expr: sp.Basic) -> Callable[..., Any]:
        return compiled(self.name, args, expr)

    def function(self, formula: Formula) -> Callable[..., Any]:
        """``formula`` lambdified on this back-end."""
        return formula.function(self.name)

    def number(self, value: float) -> Any:
        """A size or a constant as this back-end's number."""
        if self.name == "numpy":
            return value
        import mpmath

        return mpmath.mpf(value)


NUMPY = Backend("numpy")
MPMATH = Backend("mpmath")


@functools.cache
def _to_mpf() -> Callable[[np.ndarray], np.ndarray]:
    import mpmath

    return np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])


def idx(size: int, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = size
    return np.arange(size).reshape(shape)


def matrix_formula(name: str, build: Callable[[], tuple[Any, tuple]]) -> Formula:
    """A matrix formula, ``build() = (expr, its MatrixSymbol arguments)``; when it
    mentions the row count ``R`` (a bias broadcast over rows), ``R`` is a last
    argument."""

    def made() -> tuple[tuple, Any]:
        expr, args = build()
        rows = matrices.R
        return ((*args, rows) if rows in expr.free_symbols else args), expr

    return Formula(name, made, facts={"layout": _layout})


def _layout(formula: Formula) -> dict[str, Any]:
    """Whether the row count is an argument, and the axes of each argument that
    index the output's columns."""
    import sympy as sp

    column = formula.expr.shape[1]
    axes = [
        [k for k, size in enumerate(a.shape) if size == column]
        if isinstance(a, sp.MatrixSymbol)
        else []
        for a in formula.args
    ]
    return {"rows": matrices.R in formula.args, "axes": axes}


def matrix_op(
    formula: Formula,
) -> Callable[[Sequence[np.ndarray], Context, Backend], np.ndarray]:
    """A 2-D matrix formula (:func:`matrix_formula`) applied to every head/batch
    slice of its first input."""

    def run(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
        f = be.function(formula)
        layout = formula.fact("layout")
        axes = layout["axes"]
        if (
            be.name == "numpy"
            and max(np.size(a) for a in inputs) > _BLOCK
            and all(np.ndim(a) <= 2 for a in inputs)
        ):
            return _by_columns(f, [as2d(np.asarray(a)) for a in inputs], axes)
        arrays = [be.array(a) for a in inputs]
        first = arrays[0]
        rows = (first.shape[-2],) if layout["rows"] else ()
        if first.ndim == 2 and all(a.ndim <= 2 for a in arrays):
            return np.asarray(f(*[as2d(a) for a in arrays], *rows))
        lead = first.shape[:-2]
        parts = []
        for at in np.ndindex(*lead):
            parts.append(
                f(
                    *[as2d(a[at] if a.ndim == first.ndim else a) for a in arrays],
                    *rows,
                )
            )
        return np.stack([np.asarray(p) for p in parts]).reshape(
            *lead, *np.asarray(parts[0]).shape
        )

    return run


_BLOCK = 1 << 22
"""Entries: a larger input (SmolLM2's 49,152 × 576 embedding) is widened to
float64 a block of output columns at a time, not whole (226 MB more at peak)."""


def _by_columns(
    f: Callable[..., Any], arrays: list[np.ndarray], axes: list[list[int]]
) -> np.ndarray:
    """``f(*arrays)`` in float64, one block of output columns at a time: each
    block gets the columns of every input that index the output's columns (the
    same products and sums per entry as the whole call)."""
    rows = (arrays[0].shape[0],) if len(axes) > len(arrays) else ()
    pairs = list(zip(arrays, axes[: len(arrays)], strict=True))
    width = next(a.shape[ax[0]] for a, ax in pairs if ax)
    per_column = max(a.size // width for a, ax in pairs if ax)
    step = max(1, _BLOCK // max(per_column, 1))
    parts = []
    for start in range(0, width, step):
        block = slice(start, start + step)
        cut = [
            a[tuple(block if k in ax else slice(None) for k in range(a.ndim))]
            if ax
            else a
            for a, ax in pairs
        ]
        args = [np.asarray(a, dtype=np.float64) for a in cut]
        parts.append(np.asarray(f(*args, *rows)))
    return np.concatenate(parts, axis=1)


def as2d(a: np.ndarray) -> np.ndarray:
    return a.reshape(1, -1) if a.ndim == 1 else a


def along_last(formula: Formula, arr: np.ndarray, be: Backend) -> np.ndarray:
    """A formula in (x, i, n) applied along the last axis of ``arr``."""
    f = be.function(formula)
    moved = np.moveaxis(be.array(arr), -1, 0)  # (n, ...)
    width = moved.shape[0]
    return np.moveaxis(np.asarray(f(moved, np.arange(width), width)), 0, -1)


Evaluator = Callable[[Sequence[np.ndarray], Context, Backend], Any]
"""A forward op's formula on the arrays of its inputs, on a back-end."""


def each(fn: Callable, arrays: Sequence[np.ndarray], *extra) -> np.ndarray:
    """``fn`` on each head's matrices (arrays of shape (…, rows, cols)) in turn."""
    lead = arrays[0].shape[:-2]
    if not lead:
        return np.asarray(fn(*arrays, *extra), dtype=np.float64)
    out = [fn(*(a[i] for a in arrays), *extra) for i in np.ndindex(*lead)]
    return np.stack(out).reshape(*lead, *np.shape(out[0]))


def as_rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])
