"""Backward pass of cross-entropy on softmax: ∂L/∂x = p − y.  Goodfellow, Bengio &
Courville, Deep Learning, 2016, §6.2.2.3.

For logits x of length n, p = softmax(x) and a target distribution y,
L = −Σ_i y_i log p_i has ∂L/∂x_j = (Σ_i y_i) p_j − y_j; for a one-hot target
(y_i = δ_it, the next token t) that is p_j − y_j.  SymPy proves both for a
symbolic n.  When the loss is the mean over N positions, each position's
gradient is divided by N.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .softmax import softmax
from .symbols import i, j, n, r, t, vector, x, y

p = sp.IndexedBase("p")  # softmax(z), an abbreviation in the steps


def cross_entropy(y: sp.IndexedBase, p: sp.IndexedBase, n: sp.Expr) -> sp.Expr:
    """L = −Σ_i y_i log p_i.  Goodfellow et al. 2016, §6.2.2.3.

    >>> cross_entropy(y, p, 2).doit()
    -log(p[0])*y[0] - log(p[1])*y[1]
    """
    return -sp.Sum(y[i] * sp.log(p[i]), (i, 0, n - 1))


def logits_grad(p_j: sp.Expr, y_j: sp.Expr, count: sp.Expr = 1) -> sp.Expr:
    """∂L/∂x_j = (p_j − y_j)/count, for a one-hot y and a loss averaged over
    ``count`` positions.  Goodfellow et al. 2016, §6.2.2.3.

    >>> logits_grad(sp.Rational(1, 4), 1)
    -3/4
    """
    return (p_j - y_j) / count


def cross_entropy_backward_expr(size: int) -> sp.ImmutableMatrix:
    """∂L/∂x for ``vector("p", size)`` (softmax of the logits) and a one-hot
    ``vector("y", size)``, a 1 × size matrix to lambdify.

    >>> cross_entropy_backward_expr(2)
    Matrix([[p_0 - y_0, p_1 - y_1]])
    """
    probs, target = vector("p", size), vector("y", size)
    return sp.ImmutableMatrix(
        [[logits_grad(probs[col], target[col]) for col in range(size)]]
    )


def build(rule=logits_grad) -> Derivation:
    """The derivation for the one-hot rule ``rule(p_j, y_j)`` (tests plant others)."""
    defs = ((p, sp.Lambda(i, softmax(x, i, n))),)
    one_hot = ((y, sp.Lambda(i, sp.KroneckerDelta(i, t))),)
    general = sp.Sum(y[i], (i, 0, n - 1)) * p[j] - y[j]
    return Derivation(
        name="backward-cross-entropy",
        title=N_("Backward pass of cross-entropy on softmax"),
        source="Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.2.2.3",
        formula=sp.Eq(
            sp.Derivative(sp.Symbol("L"), x[j]), rule(p[j], y[j]), evaluate=False
        ),
        steps=(
            Step(
                sp.Derivative(cross_entropy(y, p, n), x[j]),
                general,
                N_(
                    "log p_i = x_i − log Σ_k exp(x_k); the first term gives −y_j, the "
                    "second (Σ_i y_i)·p_j, for any length n"
                ),
                by=("diff", "sums", "cancel"),
                cases=(((n, j + 1 + r),),),
                defs=defs,
                title=N_("Any target distribution y"),
            ),
            Step(
                general,
                rule(p[j], y[j]),
                N_("a one-hot target y_i = δ_it (t < n, the correct token) sums to 1"),
                by=("deltas", "expand"),
                cases=(((n, t + 1 + r),),),
                defs=one_hot,
                title=N_("A one-hot target: p − y"),
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """∂L/∂x = p − y for a one-hot y, proved for every n."""
    return build()
