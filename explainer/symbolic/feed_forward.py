"""Position-wise feed-forward network.  Vaswani et al. 2017, §3.3, Eq. 2.

FFN(x) = max(0, x W_1 + b_1) W_2 + b_2, applied to every position (row)
separately and identically; GELU (Hendrycks & Gimpel 2016) is the common
smooth replacement for max(0, ·).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sympy as sp
from sympy import S
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.printing.pretty.stringpict import prettyForm

from explainer.i18n import N_

from .derivation import Derivation, Step
from .multi_head import linear_expr
from .symbols import T, d_ff, d_model, matrix, vector, written, z

__all__ = [  # linear_expr lives in multi_head; the FFN is two of them
    "MatrixRelu",
    "derivation",
    "feed_forward_expr",
    "feed_forward_parameters",
    "gelu",
    "linear_expr",
    "relu",
    "standard_normal_cdf",
]


def relu(z: sp.Expr) -> sp.Expr:
    """max(0, z).  Vaswani et al. 2017, §3.3, Eq. 2; Nair & Hinton 2010.

    >>> relu(-2), relu(3)
    (0, 3)
    """
    return sp.Max(0, z)


def standard_normal_cdf(z: sp.Expr) -> sp.Expr:
    """Φ(z) = (1 + erf(z/√2))/2, the standard normal CDF.

    >>> standard_normal_cdf(0)
    1/2
    """
    root2 = sp.Pow(sp.sqrt(2), -1, evaluate=False)  # z/√2, not √2·z/2
    erf = sp.erf(written(sp.Mul, z, root2))
    return written(sp.Mul, written(sp.Add, 1, erf), S.Half)


def gelu(z: sp.Expr) -> sp.Expr:
    """GELU(z) = z·Φ(z), exact erf form.  Hendrycks & Gimpel 2016, §2.

    >>> gelu(0)
    0
    >>> sp.N(gelu(1), 6)
    0.841345
    """
    return z * standard_normal_cdf(z)


class MatrixRelu(sp.MatrixExpr):
    """max(0, A) entry by entry, for a matrix expression A (shown as in Eq. 2).

    >>> A = sp.MatrixSymbol("A", 1, 2)
    >>> MatrixRelu(A).as_explicit()
    Matrix([[Max(0, A[0, 0]), Max(0, A[0, 1])]])
    """

    def __new__(cls, arg: sp.MatrixExpr) -> MatrixRelu:
        return super().__new__(cls, sp.sympify(arg))

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape

    def _entry(self, i, j, **kwargs) -> sp.Expr:
        return relu(self.args[0][i, j])

    def doit(self, **hints) -> sp.MatrixExpr:
        arg = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        if isinstance(arg, sp.MatrixBase):
            return arg.applyfunc(relu)
        return MatrixRelu(arg)

    def _latex(self, printer) -> str:
        return rf"\max\left(0, {printer._print(self.args[0])}\right)"

    def _pretty(self, printer) -> prettyForm:
        inner = printer._print(self.args[0])
        inside = prettyForm(*prettyForm(*inner.left("0, ")).parens())
        return prettyForm(*inside.left("max"))

    def _sympystr(self, printer) -> str:
        return f"max(0, {printer._print(self.args[0])})"


def feed_forward_expr(
    rows: int,
    d_model: int,
    d_ff: int,
    activation: Callable[[sp.Expr], sp.Expr] = relu,
) -> sp.ImmutableMatrix:
    """activation(x W_1 + b_1) W_2 + b_2 for ``matrix("x", rows, d_model)`` with
    weights ``matrix("W1", d_model, d_ff)``, ``vector("b1", d_ff)``,
    ``matrix("W2", d_ff, d_model)``, ``vector("b2", d_model)``.

    Vaswani et al. 2017, §3.3, Eq. 2.

    >>> feed_forward_expr(1, 1, 1)
    Matrix([[W2_00*Max(0, W1_00*x_00 + b1_0) + b2_0]])
    """
    X = matrix("x", rows, d_model)
    W1, b1 = matrix("W1", d_model, d_ff), vector("b1", d_ff)
    W2, b2 = matrix("W2", d_ff, d_model), vector("b2", d_model)
    hidden = (X * W1 + sp.ones(rows, 1) * b1).applyfunc(activation)
    return hidden * W2 + sp.ones(rows, 1) * b2


def feed_forward_parameters(d_model: sp.Expr, d_ff: sp.Expr) -> sp.Expr:
    """Weights and biases of one FFN: d_model·d_ff + d_ff + d_ff·d_model + d_model.

    Vaswani et al. 2017, §3.3.

    >>> feed_forward_parameters(512, 2048)
    2099712
    """
    return d_model * d_ff + d_ff + d_ff * d_model + d_model


@functools.cache
def derivation() -> Derivation:
    """FFN: row by row; ReLU as a piecewise function; GELU from the normal CDF."""
    W_1 = sp.MatrixSymbol("W_1", d_model, d_ff)
    W_2 = sp.MatrixSymbol("W_2", d_ff, d_model)
    b_1, b_2 = sp.MatrixSymbol("b_1", 1, d_ff), sp.MatrixSymbol("b_2", 1, d_model)
    X = sp.MatrixSymbol("X", T, d_model)  # T positions, one row each
    ones = sp.OneMatrix(T, 1)  # adds a bias to every row
    row, col = sp.symbols("t c", integer=True, nonnegative=True)
    Phi, GELU = sp.Function("Phi"), sp.Function("GELU")
    defs = (
        (Phi, sp.Lambda(z, standard_normal_cdf(z))),
        (GELU, sp.Lambda(z, z * Phi(z))),
    )
    x_row = sp.MatrixSymbol("x", 1, d_model)
    parts = sp.Add(d_model * d_ff, d_ff, d_ff * d_model, d_model, evaluate=False)
    return Derivation(
        name="feed-forward",
        title=N_("Position-wise feed-forward network"),
        source=N_(
            "Vaswani et al. 2017, §3.3, Eq. 2; GELU: Hendrycks & Gimpel 2016, §2"
        ),
        formula=sp.Tuple(
            sp.Eq(
                sp.Symbol("FFN(x)"),
                MatrixRelu(x_row * W_1 + b_1) * W_2 + b_2,
                evaluate=False,
            ),
            sp.Eq(GELU(z), z * Phi(z)),
        ),
        ops=("linear", "relu", "gelu"),
        steps=(
            Step(
                MatrixElement(
                    MatrixRelu(X * W_1 + ones * b_1) * W_2 + ones * b_2, row, col
                ),
                MatrixElement(MatrixRelu(X[row, :] * W_1 + b_1) * W_2 + b_2, 0, col),
                N_(
                    "output row t depends on input row t only: the same FFN at every "
                    "position, for any T, d_model and d_ff"
                ),
                by=("doit", "sums"),
                title=N_("Applied to each position separately"),
            ),
            Step(
                relu(z),
                sp.Piecewise((z, z > 0), (0, True)),
                N_("max(0, z) passes positive values and zeroes the rest"),
                by=("piecewise",),
                title=N_("ReLU"),
            ),
            Step(
                sp.Derivative(Phi(z), z),
                sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi),
                N_("Φ' is the standard normal density …"),
                by=("doit", "simplify"),
                defs=defs,
                title=N_("GELU(z) = z·Φ(z) with Φ the standard normal CDF"),
            ),
            Step(
                sp.Limit(Phi(z), z, -sp.oo),
                0,
                N_("… and Φ(−∞) = 0, so Φ(z) = P(Z ≤ z) for Z ~ N(0, 1)"),
                by=("erfc", "doit"),
                defs=defs,
            ),
            Step(
                GELU(z) - z,
                -z * sp.erfc(z / sp.sqrt(2)) / 2,
                N_("1 + erf = 2 − erfc"),
                by=("doit", "erf"),
                defs=defs,
                title=N_("GELU ≈ ReLU away from 0"),
            ),
            Step(
                sp.Limit(-z * sp.erfc(z / sp.sqrt(2)) / 2, z, sp.oo),
                0,
                N_("so GELU(z) → z for large positive z …"),
                by=("doit",),
            ),
            Step(
                sp.Limit(GELU(z), z, -sp.oo),
                0,
                N_("… and GELU(z) → 0 for large negative z"),
                by=("erfc", "doit"),
                defs=defs,
            ),
            Step(
                sp.Subs(parts, (d_model, d_ff), (512, 2048)),
                2099712,
                N_(
                    "W_1 (d_model × d_ff), b_1 (d_ff), W_2 (d_ff × d_model), b_2 "
                    "(d_model) in the base model"
                ),
                by=("doit",),
                kind="definition",
                title=N_("Parameters"),
            ),
        ),
    )
