"""The backward pass's SymPy rules (explainer/symbolic/backward_*.py, the ones
their derivations prove) turned into functions with ``sp.lambdify`` (once, cached)
that take a backward stage's input arrays.

Each op's entry (``explainer/ops/*.py``) builds its own with :func:`rule`: a rule
on ``MatrixSymbol``s of symbolic size (the sizes are arguments) is applied to
each head's matrix in turn (:func:`each`); an entry-by-entry rule broadcasts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np  # noqa: F401  (the doctest's arrays)
import sympy as sp

from explainer.ops.lambdified import as_rows, each  # noqa: F401  (the rules' helpers)

R, C, K = sp.symbols("r c k", integer=True, positive=True)  # sizes
z, dy, p, y, n = sp.symbols("z dy p y n", real=True)

Arg = tuple[str, sp.Expr, sp.Expr] | sp.Basic
"""A rule's argument: (name, rows, cols) for a matrix, or a SymPy symbol."""


@functools.cache
def rule(
    build: Callable[..., sp.Expr],
    *args: Arg,
    sizes: tuple[sp.Symbol, ...] = (),
    modules: tuple[str, ...] = ("numpy",),
) -> Callable[..., Any]:
    """``build(*args)`` lambdified, called with the arrays for ``args`` then the
    numbers for ``sizes`` (the sizes the expression mentions besides its
    matrices'); an argument (name, rows, cols) is a MatrixSymbol of that size.

    >>> from explainer.symbolic import backward_linear
    >>> f = rule(backward_linear.weight_grad, ("X", R, C), ("dY", R, K))
    >>> f(np.array([[1.0, 2.0]]), np.array([[3.0]]))  # Xᵀ dY
    array([[3.],
           [6.]])
    """
    symbols = [sp.MatrixSymbol(*a) if isinstance(a, tuple) else a for a in args]
    return lambdified((*symbols, *sizes), build(*symbols), modules)


def lambdified(
    args: Sequence[Any], expr: sp.Basic, modules: Sequence[str] = ("numpy",)
) -> Callable[..., Any]:
    """``expr`` as a function of ``args`` (for rules on explicit matrices)."""
    return sp.lambdify(args, expr, modules=list(modules), cse=True)
