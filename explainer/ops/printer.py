"""SymPy expressions lambdified (``sp.lambdify``, once, cached) for two back-ends:
NumPy (float64) and mpmath (50 significant digits, on object arrays), by a
printer that writes a sum over an array's first axis as one NumPy call.

Imported only when a function is made (a cache miss, a proof, the 50-digit pass):
:mod:`explainer.ops.lambdified` applies the functions, :mod:`explainer.ops.remember`
remembers the NumPy ones."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter, SciPyPrinter

import explainer.symbolic  # noqa: F401  (fills lambdify's NumPy names: numpy_names)


def _vectorise(func: Callable[..., Any]) -> Callable[..., Any]:
    vec = np.vectorize(func, otypes=[object])

    def apply(arg: Any) -> Any:
        return vec(arg) if isinstance(arg, np.ndarray) else func(arg)

    return apply


_MPMATH = {
    name: _vectorise(getattr(mpmath, name))
    for name in ("exp", "sqrt", "sin", "cos", "erf", "floor")
}


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
