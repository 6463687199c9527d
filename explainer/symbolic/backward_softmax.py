"""Backward pass of softmax: the vector–Jacobian product dx = p ⊙ (dy − ⟨dy, p⟩).
Bridle 1990; Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.5 and §6.2.2.3.

For p = softmax(x) over a row of length n and dy = ∂L/∂p, the Jacobian
∂p_i/∂x_j = p_i(δ_ij − p_j) contracts with dy to

    dx_j = Σ_i dy_i p_i (δ_ij − p_j) = p_j (dy_j − Σ_i dy_i p_i),

so the backward pass never builds the n × n Jacobian.  SymPy proves it for a
symbolic n.  Applied row by row to the attention weights.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .softmax import softmax
from .symbols import i, j, k, n, r, vector, x

dy = sp.IndexedBase("dy", real=True)  # ∂L/∂p, the upstream gradient
p = sp.IndexedBase("p")  # the softmax output, an abbreviation in the steps


def vjp_entry(p_j: sp.Expr, dy_j: sp.Expr, inner: sp.Expr) -> sp.Expr:
    """dx_j = p_j (dy_j − ⟨dy, p⟩), given ⟨dy, p⟩ = ``inner``.  Bridle 1990.

    >>> vjp_entry(sp.Rational(1, 2), 3, 2)
    1/2
    """
    return p_j * (dy_j - inner)


def softmax_vjp(
    p: sp.IndexedBase, dy: sp.IndexedBase, j: sp.Symbol, n: sp.Expr
) -> sp.Expr:
    """dx_j = p_j (dy_j − Σ_i dy_i p_i), for a row of length n.

    >>> softmax_vjp(p, dy, j, 2).doit()
    (-dy[0]*p[0] - dy[1]*p[1] + dy[j])*p[j]
    """
    return vjp_entry(p[j], dy[j], sp.Sum(dy[i] * p[i], (i, 0, n - 1)))


def softmax_vjp_expr(size: int) -> sp.ImmutableMatrix:
    """dx for the rows ``vector("p", size)`` (softmax output) and
    ``vector("dy", size)``, a 1 × size matrix to lambdify.

    >>> softmax_vjp_expr(1)
    Matrix([[p_0*(-dy_0*p_0 + dy_0)]])
    """
    probs, grads = vector("p", size), vector("dy", size)
    inner = sum(grads[col] * probs[col] for col in range(size))
    return sp.ImmutableMatrix(
        [[vjp_entry(probs[col], grads[col], inner) for col in range(size)]]
    )


def build(rule=softmax_vjp) -> Derivation:
    """The softmax VJP derivation for ``rule(p, dy, j, n)`` (tests plant others)."""
    defs = ((p, sp.Lambda(i, softmax(x, i, n))),)
    any_n = (((n, j + 1 + r),),)  # j < n, for every n
    upstream = sp.Sum(dy[i] * p[i], (i, 0, n - 1))
    contracted = sp.Sum(dy[i] * p[i] * (sp.KroneckerDelta(i, j) - p[j]), (i, 0, n - 1))
    return Derivation(
        name="backward-softmax",
        title=N_("Backward pass of softmax (vector–Jacobian product)"),
        source="Bridle 1990; Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.5",
        formula=sp.Eq(sp.Symbol("dx_j"), rule(p, dy, j, n), evaluate=False),
        steps=(
            Step(
                sp.Derivative(upstream, x[j]),
                contracted,
                N_(
                    "chain rule: dx_j = Σ_i dy_i ∂p_i/∂x_j, with the Jacobian "
                    "∂p_i/∂x_j = p_i(δ_ij − p_j) (derivation softmax)"
                ),
                by=("diff", "sums", "cancel"),
                cases=any_n,
                defs=defs,
                title=N_("dx = Jᵀ dy, for any length n"),
            ),
            Step(
                contracted,
                rule(p, dy, j, n),
                N_(
                    "the δ_ij term keeps i = j; the p_j term is p_j times ⟨dy, p⟩: "
                    "no n × n Jacobian is needed"
                ),
                by=("deltas", "expand", "sums"),
                cases=any_n,
            ),
            Step(
                sp.Sum(rule(p, dy, k, n), (k, 0, n - 1)),
                0,
                N_(
                    "the gradient sums to 0 over the row (Σ_j p_j = 1): adding a "
                    "constant to every score changes nothing, so its gradient is 0"
                ),
                by=("sums", "cancel"),
                defs=defs,
                title=N_("A check: dx sums to zero"),
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """dx = p ⊙ (dy − ⟨dy, p⟩), proved for every n."""
    return build()
