"""SymPy formulas turned into functions (``sp.lambdify``, once, cached) and applied
to the arrays a trace recorded, with two back-ends for the same expressions:
NumPy (float64) and mpmath (50 significant digits, on object arrays).

Element formulas in index symbols (softmax, LayerNorm, PE, masks) are evaluated with
index arrays that broadcast; matrix formulas (QKᵀ, AV, xW + b) one head at a time
(:func:`matrix_op`). The ops' own evaluators (``explainer/ops/*.py``) are built
from these pieces.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter, SciPyPrinter

from explainer.ops.context import Context

DIGITS = 50  # significant digits of the high-precision back-end

# Matrix symbols of symbolic size: lambdify prints their products as ``.dot``.
R, C, K = sp.symbols("R C K", positive=True, integer=True)
X = sp.MatrixSymbol("X", R, K)
Y = sp.MatrixSymbol("Y", R, K)
W = sp.MatrixSymbol("W", K, C)
B = sp.MatrixSymbol("b", 1, C)
Q = sp.MatrixSymbol("Q", R, K)
KM = sp.MatrixSymbol("K", C, K)
A = sp.MatrixSymbol("A", R, C)
V = sp.MatrixSymbol("V", C, K)
H = sp.MatrixSymbol("H", R, K)
EM = sp.MatrixSymbol("E", C, K)
OH = sp.MatrixSymbol("O", R, C)
dk = sp.Symbol("d_k", positive=True)
pad = sp.Symbol("pad", integer=True)


def _vectorise(func: Callable[..., Any]) -> Callable[..., Any]:
    vec = np.vectorize(func, otypes=[object])

    def apply(arg: Any) -> Any:
        return vec(arg) if isinstance(arg, np.ndarray) else func(arg)

    return apply


_MPMATH = {
    name: _vectorise(getattr(mpmath, name))
    for name in ("exp", "sqrt", "sin", "cos", "erf", "floor")
}


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
        return _to_mpf(arr.astype(np.float64))

    def compile(self, args: tuple[Any, ...], expr: sp.Basic) -> Callable[..., Any]:
        return compiled(self.name, args, expr)


NUMPY = Backend("numpy")
MPMATH = Backend("mpmath")


@functools.cache
def compiled(backend: str, args: tuple[Any, ...], expr: sp.Basic) -> Callable:
    if backend != "numpy":
        modules: Any = [_MPMATH, "numpy"]
    else:  # scipy only where needed (erf): importing scipy.special takes 0.2 s
        modules = ["scipy", "numpy"] if expr.has(sp.erf) else ["numpy"]
    printer = (_SciPySums if "scipy" in modules else _NumPySums)(
        {
            "fully_qualified_modules": False,
            "inline": True,
            "allow_unknown_functions": True,
            "user_functions": {name: name for name in _MPMATH}
            if backend != "numpy"
            else {},
        }
    )  # lambdify's own settings for its printer
    return sp.lambdify(args, expr, modules=modules, cse=True, printer=printer)


class _ArraySums:
    """Prints ``Sum(f(x[k]), (k, a, b))`` as one array operation,
    ``sum(f(x[arange(a, b + 1)]), axis=0)``, where ``k`` only indexes the first
    axis; lambdify's own loop (``builtins.sum(… for k in range(…))``) made one
    NumPy call per term: 49,152 of them for a softmax over SmolLM2's vocabulary.
    Terms are added in the same order (NumPy reduces axis 0 term by term, except
    for a 1-D array, where it adds pairwise)."""

    def _print_Sum(self, expr: sp.Sum) -> str:
        if len(expr.limits) != 1 or not _first_index_only(
            expr.function, expr.limits[0][0]
        ):
            return super()._print_Sum(expr)  # type: ignore[misc]
        k, a, b = (self._print(v) for v in expr.limits[0])  # type: ignore[attr-defined]
        body = self._print(expr.function)  # type: ignore[attr-defined]
        total = self._module_format("numpy.sum")  # type: ignore[attr-defined]
        arange = self._module_format("numpy.arange")  # type: ignore[attr-defined]
        return f"({total}((lambda {k}: {body})({arange}({a}, {b}+1)), axis=0))"


class _NumPySums(_ArraySums, NumPyPrinter):
    pass


class _SciPySums(_ArraySums, SciPyPrinter):
    pass


def _first_index_only(expr: sp.Basic, k: sp.Symbol) -> bool:
    """``k`` occurs in ``expr`` only as the first index of an indexed array."""
    if k not in expr.free_symbols:
        return True
    if isinstance(expr, sp.Indexed):
        first, *rest = expr.indices
        return (first == k or k not in first.free_symbols) and all(
            k not in r.free_symbols for r in rest
        )
    if isinstance(expr, sp.Symbol):
        return False
    return all(_first_index_only(arg, k) for arg in expr.args)


_to_mpf = np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])


def idx(size: int, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = size
    return np.arange(size).reshape(shape)


def matrix_op(
    expr: sp.Basic, args: tuple[sp.Basic, ...]
) -> Callable[[Sequence[np.ndarray], Context, Backend], np.ndarray]:
    """A 2-D matrix formula applied to every head/batch slice of its first input.

    When the formula mentions the row count ``R`` (a bias broadcast over rows), it
    is passed as a last argument."""
    if R in expr.free_symbols:
        args = (*args, R)
    column = expr.shape[1]  # axes of each input that index the output's columns
    axes = [
        [k for k, size in enumerate(a.shape) if size == column]
        if isinstance(a, sp.MatrixSymbol)
        else []
        for a in args
    ]

    def run(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
        f = be.compile(args, expr)
        if (
            be.name == "numpy"
            and max(np.size(a) for a in inputs) > _BLOCK
            and all(np.ndim(a) <= 2 for a in inputs)
        ):
            return _by_columns(f, [as2d(np.asarray(a)) for a in inputs], axes)
        arrays = [be.array(a) for a in inputs]
        first = arrays[0]
        rows = (first.shape[-2],) if R in args else ()
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


def along_last(
    expr: sp.Basic, args: tuple[sp.Basic, ...], arr: np.ndarray, be: Backend
) -> np.ndarray:
    f = be.compile(args, expr)
    moved = np.moveaxis(be.array(arr), -1, 0)  # (n, ...)
    width = moved.shape[0]
    return np.moveaxis(np.asarray(f(moved, np.arange(width), width)), 0, -1)


Evaluator = Callable[[Sequence[np.ndarray], Context, Backend], Any]
"""A forward op's formula on the arrays of its inputs, on a back-end."""
