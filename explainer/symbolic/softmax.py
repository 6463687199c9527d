"""Softmax: exp(x_i) / Σ_k exp(x_k).  Bridle 1990; Vaswani et al. 2017, §3.2.1, Eq. 1.

The forward pass applies it along the last axis of the attention scores and of
the output logits.
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

from explainer.i18n import N_

from .derivation import Derivation, Step, chain, held, held_ratio
from .symbols import c, i, j, k, m, n, r, vector, x

x_max = sp.Symbol("x_max", real=True)  # max_k x_k, subtracted for stability


def _bound(*avoid: sp.Symbol) -> sp.Symbol:
    """A summation index that is none of ``avoid``."""
    return next(s for s in (k, m, j, i) if s not in avoid)


def softmax(x: sp.IndexedBase, i: sp.Symbol, n: sp.Expr, shift: sp.Expr = 0) -> sp.Expr:
    """softmax(x + shift)_i = exp(x_i + shift) / Σ_k exp(x_k + shift), length n.

    Bridle 1990; Vaswani et al. 2017, §3.2.1, Eq. 1.

    >>> from explainer.symbolic.symbols import x, i, n
    >>> softmax(x, i, n)
    exp(x[i])/Sum(exp(x[k]), (k, 0, n - 1))
    >>> sp.simplify(sp.Sum(softmax(x, i, 3), (i, 0, 2)).doit())
    1
    """
    over = _bound(i)
    return sp.exp(x[i] + shift) / sp.Sum(sp.exp(x[over] + shift), (over, 0, n - 1))


def softmax_jacobian(
    x: sp.IndexedBase, i: sp.Symbol, j: sp.Symbol, n: sp.Expr
) -> sp.Expr:
    """∂softmax(x)_i/∂x_j = p_i (δ_ij − p_j).  Standard; see Bridle 1990.

    >>> from explainer.symbolic.symbols import x, i, j
    >>> J = softmax_jacobian(x, i, j, 2).subs({i: 0, j: 1}).doit()
    >>> sp.simplify(J - sp.diff(softmax(x, 0, 2).doit(), x[1]))
    0
    """
    return softmax(x, i, n) * (sp.KroneckerDelta(i, j) - softmax(x, j, n))


class RowSoftmax(sp.MatrixExpr):
    """softmax over the last axis of a matrix expression, row by row.

    Shown as ``softmax(QKᵀ/√d_k)``; entry (i, j) is exp(a_ij)/Σ_k exp(a_ik).

    >>> A = sp.MatrixSymbol("A", 2, 2)
    >>> RowSoftmax(A)[0, 1]
    exp(A[0, 1])/(exp(A[0, 0]) + exp(A[0, 1]))
    """

    def __new__(cls, arg: sp.MatrixExpr) -> RowSoftmax:
        return super().__new__(cls, sp.sympify(arg))

    @property
    def shape(self) -> tuple[sp.Expr, sp.Expr]:
        return self.args[0].shape

    def _entry(self, i, j, **kwargs) -> sp.Expr:
        arg = self.args[0]
        over = sp.Dummy("k", integer=True)
        total = sp.Sum(sp.exp(arg[i, over]), (over, 0, arg.shape[1] - 1))
        return sp.exp(arg[i, j]) / (total.doit() if arg.shape[1].is_Integer else total)

    def doit(self, **hints) -> sp.MatrixExpr:
        arg = self.args[0].doit(**hints) if hints.get("deep", True) else self.args[0]
        if isinstance(arg, sp.MatrixBase):
            return sp.ImmutableMatrix(
                arg.rows, arg.cols, lambda i, j: self._entry_of(arg, i, j)
            )
        return RowSoftmax(arg)

    @staticmethod
    def _entry_of(arg: sp.MatrixBase, i: int, j: int) -> sp.Expr:
        return sp.exp(arg[i, j]) / sum(sp.exp(arg[i, col]) for col in range(arg.cols))

    def _latex(self, printer) -> str:
        return rf"\operatorname{{softmax}}\left({printer._print(self.args[0])}\right)"

    def _pretty(self, printer) -> prettyForm:
        inner = printer._print(self.args[0])
        return prettyForm(*prettyForm(*inner.parens()).left("softmax"))

    def _sympystr(self, printer) -> str:
        return f"softmax({printer._print(self.args[0])})"


def softmax_expr(size: int) -> sp.ImmutableMatrix:
    """softmax of the row ``vector("x", size)``, as a 1 × size matrix to lambdify.

    Vaswani et al. 2017, §3.2.1, Eq. 1.

    >>> softmax_expr(2)
    Matrix([[exp(x_0)/(exp(x_0) + exp(x_1)), exp(x_1)/(exp(x_0) + exp(x_1))]])
    """
    if size < 1:
        raise ValueError(f"size ({size}) must be at least 1")
    row = vector("x", size)
    total = sum(sp.exp(entry) for entry in row)
    return row.applyfunc(lambda entry: sp.exp(entry) / total)


@functools.cache
def derivation() -> Derivation:
    """The softmax derivation: sums to one, shift invariance, max trick, Jacobian."""
    p_i = softmax(x, i, n)
    total = sp.Sum(sp.exp(x[k]), (k, 0, n - 1))
    p = sp.IndexedBase("p")
    shifted = softmax(x, i, n, shift=c)
    exp_c = sp.exp(c)
    return Derivation(
        name="softmax",
        title=N_("Softmax"),
        source=N_("Bridle 1990; Vaswani et al. 2017, §3.2.1, Eq. 1"),
        formula=sp.Eq(p[i], p_i),
        ops=("softmax",),
        steps=(
            *chain(
                sp.Sum(p_i, (i, 0, n - 1)),
                (
                    sp.Sum(sp.exp(x[i]), (i, 0, n - 1)) / total,
                    N_("the denominator does not depend on i: take it out of the sum"),
                    ("sums",),
                ),
                (1, N_("numerator and denominator are the same sum"), ("sums",)),
                title=N_("The probabilities sum to one, for any length n"),
            ),
            *chain(
                shifted,
                (
                    held_ratio(held(exp_c, sp.exp(x[i])), held(exp_c, total)),
                    N_(
                        "exp(a + b) = exp(a)·exp(b); the constant exp(c) leaves the sum"
                    ),
                    ("sums", "expand"),
                ),
                (p_i, N_("cancel exp(c)"), ("expand",)),
                title=N_("Adding a constant c to every score changes nothing"),
            ),
            Step(
                softmax(x, i, n, shift=-x_max),
                p_i,
                N_(
                    "the case c = −max_k x_k: every exponent is ≤ 0, so exp cannot "
                    "overflow, and the result is exactly the same"
                ),
                by=("sums", "expand"),
                title=N_("Subtracting the maximum (for numerical stability) is exact"),
            ),
            Step(
                sp.Derivative(p[i], x[j]),
                p[i] * (sp.KroneckerDelta(i, j) - p[j]),
                N_(
                    "quotient rule; ∂/∂x_j Σ_k exp(x_k) = exp(x_j) because j < n, "
                    "which SymPy sees by writing n = j + 1 + r with r ≥ 0"
                ),
                by=("diff", "cancel"),
                cases=(((n, j + 1 + r),),),
                defs=((p, sp.Lambda(i, p_i)),),
                title=N_("Jacobian ∂p_i/∂x_j = p_i(δ_ij − p_j)"),
            ),
        ),
    )
