"""Output layer: logits with the tied embedding, softmax, cross-entropy.

Vaswani et al. 2017, §3.4: the pre-softmax linear map shares its weights with
the embedding, so logits = h Eᵀ; Press & Wolf 2017 for weight tying.  The loss
is the cross-entropy of the softmax with the next token, whose gradient with
respect to the logits is p − y.
"""

from __future__ import annotations

import functools

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.i18n import N_

from .derivation import Derivation, Step, chain
from .softmax import softmax
from .symbols import d_model, j, k, m, matrix, r, r2, t, vector, vocab_size

z = sp.IndexedBase("z", real=True)  # the logits
y = sp.IndexedBase("y", real=True)  # the one-hot target
p = sp.IndexedBase("p", real=True)  # the predicted probabilities
h = sp.IndexedBase("h", real=True)  # the final hidden row
E = sp.IndexedBase("E", real=True)  # the (tied) embedding matrix
a = sp.Symbol("a", integer=True, nonnegative=True)  # a hidden coordinate


def logits(hidden: sp.MatrixExpr, embedding: sp.MatrixExpr) -> sp.MatrixExpr:
    """h Eᵀ: the logits with the output layer tied to the embedding.

    Vaswani et al. 2017, §3.4; Press & Wolf 2017.

    >>> H, Em = sp.MatrixSymbol("h", 1, 2), sp.MatrixSymbol("E", 5, 2)
    >>> logits(H, Em).shape
    (1, 5)
    """
    if hidden.shape[1] != embedding.shape[1]:
        raise ValueError(
            f"hidden width ({hidden.shape[1]}) must equal embedding width "
            f"({embedding.shape[1]})"
        )
    return hidden * embedding.T


def logits_expr(d_model: int, vocab_size: int) -> sp.ImmutableMatrix:
    """h Eᵀ for ``vector("h", d_model)`` and ``matrix("E", vocab_size, d_model)``.

    Vaswani et al. 2017, §3.4.

    >>> logits_expr(1, 2)
    Matrix([[E_00*h_0, E_10*h_0]])
    """
    return vector("h", d_model) * matrix("E", vocab_size, d_model).T


def cross_entropy(z: sp.IndexedBase, t: sp.Expr, n: sp.Expr) -> sp.Expr:
    """L = −log softmax(z)_t = −z_t + log Σ_k exp(z_k), for target token t.

    Standard; e.g. Goodfellow et al. 2016, §6.2.2.3.

    >>> sp.simplify(cross_entropy(z, 0, 2).doit().subs({z[0]: 0, z[1]: 0}))
    log(2)
    """
    return -z[t] + sp.log(sp.Sum(sp.exp(z[k]), (k, 0, n - 1)))


def cross_entropy_gradient(
    z: sp.IndexedBase, j: sp.Expr, t: sp.Expr, n: sp.Expr
) -> sp.Expr:
    """∂L/∂z_j = softmax(z)_j − y_j with y the one-hot row of t.

    >>> cross_entropy_gradient(z, 0, 0, 1).doit()
    0
    """
    return softmax(z, j, n) - sp.KroneckerDelta(j, t)


@functools.cache
def derivation() -> Derivation:
    """Output: tied logits; cross-entropy; ∂L/∂z = p − y; the tied gradient."""
    V = vocab_size
    h_row, E_all = sp.MatrixSymbol("h", 1, d_model), sp.MatrixSymbol("E", V, d_model)
    token = sp.Symbol("v", integer=True, nonnegative=True)  # a vocabulary entry
    one_hot_t = (y, sp.Lambda(m, sp.KroneckerDelta(m, t)))
    probs = (p, sp.Lambda(j, softmax(z, j, V)))
    logit = (z, sp.Lambda(m, sp.Sum(h[k] * E[m, k], (k, 0, d_model - 1))))
    loss = sp.Function("L")
    return Derivation(
        name="output",
        title=N_("Output layer: tied logits, softmax, cross-entropy"),
        source=N_("Vaswani et al. 2017, §3.4; Press & Wolf 2017 (weight tying)"),
        formula=sp.Tuple(
            sp.Eq(
                sp.Symbol("z"),
                logits(
                    sp.MatrixSymbol("h", 1, d_model), sp.MatrixSymbol("E", V, d_model)
                ),
                evaluate=False,
            ),
            sp.Eq(p[j], softmax(z, j, V)),
            sp.Eq(loss(z), -sp.Sum(y[j] * sp.log(p[j]), (j, 0, V - 1))),
        ),
        ops=("logits", "softmax", "argmax"),
        steps=(
            Step(
                MatrixElement(logits(h_row, E_all), 0, token),
                sp.Sum(h_row[0, a] * E_all[token, a], (a, 0, d_model - 1)),
                N_(
                    "logit v is the dot product of h with token v's own embedding row, "
                    "for any V and d_model: the same E as the input lookup"
                ),
                by=("doit", "sums"),
                title=N_("Tied weights: logits = h Eᵀ"),
            ),
            *chain(
                -sp.Sum(y[j] * sp.log(p[j]), (j, 0, V - 1)),
                (
                    -sp.log(p[t]),
                    N_("the target row y is one-hot at the next token t (t < V)"),
                    ("deltas", "expand_log"),
                ),
                (
                    -z[t] + sp.log(sp.Sum(sp.exp(z[k]), (k, 0, V - 1))),
                    N_("log of a quotient; log exp(z_t) = z_t; the sum is positive"),
                    ("expand_log",),
                ),
                title=N_("Cross-entropy with a one-hot target"),
                defs=(one_hot_t, probs),
                case_list=(((V, t + 1 + r),),),
            ),
            Step(
                sp.Derivative(cross_entropy(z, t, V), z[j]),
                p[j] - y[j],
                N_(
                    "the log-sum-exp differentiates to the softmax; −z_t to −δ_jt "
                    "(any V > j)"
                ),
                by=("diff", "cancel"),
                cases=(((V, j + 1 + r),),),
                defs=(one_hot_t, probs),
                title=N_("∂L/∂z_j = p_j − y_j"),
            ),
            Step(
                sp.Sum(p[j] - y[j], (j, 0, V - 1)),
                0,
                N_(
                    "Σ p = 1 and Σ y = 1: the gradient never shifts all logits together"
                ),
                by=("sums", "doit", "sums"),
                cases=(((V, t + 1 + r),),),
                defs=(one_hot_t, probs),
            ),
            Step(
                sp.Derivative(cross_entropy(z, t, V), h[a]),
                sp.Sum((p[j] - y[j]) * E[j, a], (j, 0, V - 1)),
                N_(
                    "chain rule through z_v = Σ_a h_a E_va: the "
                    "error p − y is sent back "
                    "through the same E (any d_model > a, V > t)"
                ),
                by=("diff", "sums", "cancel"),
                cases=(((d_model, a + 1 + r), (V, t + 1 + r2)),),
                defs=(logit, one_hot_t, probs),
                title=N_("Tying: the output gradient flows into E"),
            ),
        ),
    )
