"""Backward pass of a linear layer Y = X W + 1 b.  Goodfellow, Bengio & Courville,
Deep Learning, 2016, §6.5 (back-propagation; matrix form as in §6.5.9).

Row-vector convention (X is T × d_in, W is d_in × d_out, b is 1 × d_out), given
dY = ∂L/∂Y:

    dX = dY Wᵀ,    dW = Xᵀ dY,    db = 1ᵀ dY = Σ_rows dY.

SymPy proves all three for symbolic T, d_in and d_out with its matrix calculus.
The same rules serve the Q/K/V projections, W_O and both FFN layers.
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.i18n import N_

from .backward_vjp import Gradient, pairing
from .derivation import Derivation, Step
from .symbols import T, matrix

d_in = sp.Symbol("d_in", positive=True, integer=True)
d_out = sp.Symbol("d_out", positive=True, integer=True)
t, col = sp.symbols("t c", integer=True, nonnegative=True)


def ones_row(rows: sp.Expr) -> sp.MatrixBase | sp.MatrixExpr:
    """1ᵀ, a 1 × rows row of ones: explicit for a number, symbolic otherwise.

    >>> ones_row(2)
    Matrix([[1, 1]])
    """
    if sp.S(rows).is_Integer:
        return sp.ones(1, int(rows))
    return sp.OneMatrix(1, rows)


def input_grad(dY: sp.MatrixExpr, W: sp.MatrixExpr) -> sp.MatrixExpr:
    """dX = dY Wᵀ.  Goodfellow et al. 2016, §6.5.

    >>> input_grad(sp.Matrix([[1, 2]]), sp.Matrix([[3, 4]]))
    Matrix([[11]])
    """
    return dY * W.T


def weight_grad(X: sp.MatrixExpr, dY: sp.MatrixExpr) -> sp.MatrixExpr:
    """dW = Xᵀ dY (a sum over rows of outer products).  Goodfellow et al. 2016, §6.5.

    >>> weight_grad(sp.Matrix([[1], [2]]), sp.Matrix([[3], [4]]))
    Matrix([[11]])
    """
    return X.T * dY


def bias_grad(dY: sp.MatrixExpr) -> sp.MatrixExpr:
    """db = 1ᵀ dY: the column sums of dY.  Goodfellow et al. 2016, §6.5.

    >>> bias_grad(sp.Matrix([[1, 2], [3, 4]]))
    Matrix([[4, 6]])
    """
    return ones_row(dY.shape[0]) * dY


def linear_backward_expr(
    rows: int, d_in: int, d_out: int
) -> dict[str, sp.ImmutableMatrix]:
    """dX, dW, db for ``matrix("x", rows, d_in)``, ``matrix("W", d_in, d_out)`` and
    ``matrix("dY", rows, d_out)``, explicit, to lambdify.

    >>> linear_backward_expr(1, 1, 2)["dX"]
    Matrix([[W_00*dY_00 + W_01*dY_01]])
    """
    X, W, dY = (
        matrix("x", rows, d_in),
        matrix("W", d_in, d_out),
        matrix("dY", rows, d_out),
    )
    return {
        "dX": sp.ImmutableMatrix(input_grad(dY, W)),
        "dW": sp.ImmutableMatrix(weight_grad(X, dY)),
        "db": sp.ImmutableMatrix(bias_grad(dY)),
    }


def build(
    dX=input_grad, dW=weight_grad, db=bias_grad
) -> Derivation:  # the rules are parameters so that tests can plant a wrong one
    """The linear layer's backward derivation for the rules given."""
    X = sp.MatrixSymbol("X", T, d_in)
    W = sp.MatrixSymbol("W", d_in, d_out)
    b = sp.MatrixSymbol("b", 1, d_out)
    dY = sp.MatrixSymbol("dY", T, d_out)
    Y = X * W + sp.OneMatrix(T, 1) * b
    loss = pairing(dY, Y)
    Y_any = sp.MatrixSymbol("Y", T, d_out)
    sym = {name: sp.MatrixSymbol(name, *shape) for name, shape in (
        ("dX", X.shape), ("dW", W.shape), ("db", b.shape)
    )}  # fmt: skip
    return Derivation(
        name="backward-linear",
        title=N_("Backward pass of a linear layer"),
        source="Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.5",
        formula=sp.Tuple(
            sp.Eq(sym["dX"], dX(dY, W), evaluate=False),
            sp.Eq(sym["dW"], dW(X, dY), evaluate=False),
            sp.Eq(sym["db"], db(dY), evaluate=False),
        ),
        steps=(
            Step(
                Gradient(pairing(dY, Y_any), Y_any),
                dY,
                N_(
                    "to first order L changes by tr(dYᵀ δY) = Σ dY·δY when Y changes "
                    "by δY; so ∂L/∂X is ∂/∂X tr(dYᵀ Y(X)) with dY held fixed (the "
                    "chain rule as a vector–Jacobian product)"
                ),
                by=("doit",),
                title=N_("What the backward pass computes"),
            ),
            Step(
                Gradient(loss, X),
                dX(dY, W),
                N_("matrix calculus: ∂ tr(dYᵀ X W)/∂X = dY Wᵀ; b does not depend on X"),
                by=("doit",),
                title=N_("∂L/∂X, for any T, d_in and d_out"),
            ),
            Step(
                Gradient(loss, W),
                dW(X, dY),
                N_(
                    "∂ tr(dYᵀ X W)/∂W = Xᵀ dY: one outer "
                    "product xₜᵀ dyₜ per row, summed"
                ),
                by=("doit",),
                title=N_("∂L/∂W"),
            ),
            Step(
                Gradient(loss, b),
                db(dY),
                N_(
                    "b is added to every row through the column of ones 1, so its "
                    "gradient is 1ᵀ dY"
                ),
                by=("doit",),
                title=N_("∂L/∂b"),
            ),
            Step(
                MatrixElement(db(dY), 0, col),
                sp.Sum(dY[t, col], (t, 0, T - 1)),
                N_("entry c of 1ᵀ dY is the sum of column c of dY over the T rows"),
                by=("doit", "sums"),
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """dX = dY Wᵀ, dW = Xᵀ dY, db = Σ_rows dY, proved for every size."""
    return build()
