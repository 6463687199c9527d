"""Backpropagation as vector–Jacobian products.  Goodfellow, Bengio & Courville,
Deep Learning, 2016, §6.5.

For a layer Y = f(X) inside a network with a scalar loss L, the backward pass
receives dY = ∂L/∂Y (same shape as Y) and returns dX = ∂L/∂X.  By the chain
rule dX is the gradient of the pairing ⟨dY, f(X)⟩ = tr(dYᵀ f(X)) with dY held
fixed: a first-order change of X changes L by tr(dYᵀ δY).  Every backward
derivation therefore differentiates ``pairing(dY, f(X))``; :class:`Gradient`
keeps that derivative unevaluated (a matrix of X's shape) until a step's
``doit`` asks SymPy's matrix calculus for it, for symbolic sizes; for concrete
sizes its entries are the derivatives of the multiplied-out pairing.

>>> T, d = sp.symbols("T d", positive=True, integer=True)
>>> X, W = sp.MatrixSymbol("X", T, d), sp.MatrixSymbol("W", d, 4)
>>> dY = sp.MatrixSymbol("dY", T, 4)
>>> Gradient(pairing(dY, X * W), W).shape
(d, 4)
>>> Gradient(pairing(dY, X * W), W).doit()
X.T*dY
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

from .tactics import explicit


def pairing(upstream: sp.MatrixExpr, output: sp.MatrixExpr) -> sp.Expr:
    """⟨dY, Y⟩ = tr(dYᵀ Y): the loss to first order in Y.  Goodfellow et al. 2016, §6.5.

    >>> a = sp.MatrixSymbol("a", 1, 2)
    >>> pairing(a, a)
    Trace(a.T*a)
    """
    return sp.Trace(upstream.T * output)


class Gradient(sp.MatrixExpr):
    """∂f/∂W for a scalar f and a matrix W, shown unevaluated; ``doit`` asks
    SymPy's matrix calculus (``sp.diff``), which works for symbolic sizes.

    >>> n = sp.Symbol("n", positive=True, integer=True)
    >>> a, w = sp.MatrixSymbol("a", 1, n), sp.MatrixSymbol("w", 1, n)
    >>> Gradient(pairing(a, 3 * w), w).doit()
    3*a
    >>> Gradient(pairing(a, w) + pairing(w, w), w).doit()  # SymPy alone says 0
    a + 2*w
    >>> Gradient(pairing(a, 3 * w), w).subs(n, 1).doit()
    Matrix([[3*a[0, 0]]])
    """

    def __new__(cls, scalar: sp.Expr, wrt: sp.MatrixExpr) -> Gradient:
        return super().__new__(cls, sp.sympify(scalar), wrt)

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[1].shape

    def _concrete(self) -> bool:
        return all(sp.S(size).is_Integer for size in self.shape)

    def _entry(self, i, j, **kwargs) -> sp.Expr:
        scalar, wrt = self.args
        if self._concrete():  # the pairing multiplied out, then one entry
            scalar = scalar.replace(
                lambda e: isinstance(e, sp.Trace),
                lambda e: explicit(e.arg.doit()).trace(),
            )
            return sp.diff(scalar, wrt[i, j])
        return self.doit()[i, j]

    def doit(self, **hints) -> sp.MatrixExpr:
        scalar, wrt = self.args
        if self._concrete():
            rows, cols = (int(size) for size in self.shape)
            return sp.ImmutableMatrix(rows, cols, lambda i, j: self._entry(i, j))
        if hints.get("deep", True):
            scalar = scalar.doit(**hints)
        # Term by term: SymPy 1.14 differentiates tr(A) + tr(B) w.r.t. a matrix
        # as 0 (each term alone is right), so linearity is applied here.
        terms = [sp.diff(term, wrt) for term in sp.Add.make_args(scalar)]
        terms = [term for term in terms if term != 0]
        if not terms:
            return sp.ZeroMatrix(*wrt.shape)
        return sp.MatAdd(*terms).doit() if len(terms) > 1 else terms[0]

    def _derivative(self) -> sp.Derivative:
        return sp.Derivative(*self.args)

    def _latex(self, printer) -> str:
        return printer._print(self._derivative())

    def _pretty(self, printer) -> prettyForm:
        return printer._print(self._derivative())

    def _sympystr(self, printer) -> str:
        scalar, wrt = (printer._print(arg) for arg in self.args)
        return f"d/d{wrt}({scalar})"
