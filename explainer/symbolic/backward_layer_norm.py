"""Backward pass of layer normalisation: dx, dγ, dβ.  Ba, Kiros & Hinton 2016, §3;
Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.5.

Forward, per row of length n: x̂_i = (x_i − μ)/σ̂ with σ̂ = √(σ² + ε), and
y_i = γ_i x̂_i + β_i.  Given dy, write ĝ_i = dy_i γ_i; then

    dx_j = (ĝ_j − (1/n) Σ_i ĝ_i − x̂_j (1/n) Σ_i ĝ_i x̂_i) / σ̂,
    dγ_c = Σ_rows dy_c x̂_c,   dβ_c = Σ_rows dy_c.

The chain rule through μ(x) and σ²(x) and the contraction with dy are proved
for a symbolic n; the whole rule is also checked end to end against SymPy
differentiating LayerNorm itself for n = 2 and 3.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .layer_norm import mean
from .symbols import (
    beta,
    depending,
    eps,
    gamma,
    i,
    j,
    k,
    matrix,
    n,
    r,
    vector,
    written,
    x,
)

dy = sp.IndexedBase("dy", real=True)  # ∂L/∂y, one row
x_hat = sp.IndexedBase("xhat", real=True)  # the normalised row
sigma = sp.Symbol("sigmahat", positive=True)  # √(σ² + ε)
mu = sp.Symbol("mu", real=True)
sigma2 = sp.Symbol("sigma^2", positive=True)


def input_grad_entry(
    ghat_j: sp.Expr,
    mean_ghat: sp.Expr,
    mean_ghat_xhat: sp.Expr,
    xhat_j: sp.Expr,
    sigmahat: sp.Expr,
) -> sp.Expr:
    """dx_j = (ĝ_j − mean(ĝ) − x̂_j·mean(ĝ x̂))/σ̂.  Ba et al. 2016, differentiated.

    >>> input_grad_entry(sp.S(1), 0, 0, 0, 2)
    1/2
    """
    return (ghat_j - mean_ghat - xhat_j * mean_ghat_xhat) / sigmahat


def input_grad(j: sp.Symbol, n: sp.Expr, rule=input_grad_entry) -> sp.Expr:
    """dx_j with ĝ_i = dy_i γ_i and the abbreviations x̂ and σ̂, for a row of length n.

    >>> input_grad(j, 1).doit()
    (-dy[0]*gamma[0]*xhat[0]*xhat[j] - dy[0]*gamma[0] + dy[j]*gamma[j])/sigmahat
    """
    return rule(
        dy[j] * gamma[j],
        sp.Sum(dy[i] * gamma[i], (i, 0, n - 1)) / n,
        sp.Sum(dy[i] * gamma[i] * x_hat[i], (i, 0, n - 1)) / n,
        x_hat[j],
        sigma,
    )


def layer_norm_backward_expr(rows: int, size: int) -> dict[str, sp.ImmutableMatrix]:
    """dx (rows × size), dγ and dβ (1 × size) for ``matrix("x", rows, size)``,
    ``vector("gamma", size)``, ``matrix("dy", rows, size)`` and ``epsilon``, to
    lambdify.

    >>> layer_norm_backward_expr(1, 1)["dbeta"]
    Matrix([[dy_00]])
    """
    X, G, gains = (
        matrix("x", rows, size),
        matrix("dy", rows, size),
        vector("gamma", size),
    )
    dx, dgamma, dbeta = [], [0] * size, [0] * size
    for row in range(rows):
        centre = sum(X[row, :]) / size
        root = sp.sqrt(sum((v - centre) ** 2 for v in X[row, :]) / size + eps)
        hat = [(X[row, c] - centre) / root for c in range(size)]
        ghat = [G[row, c] * gains[c] for c in range(size)]
        mean_g = sum(ghat) / size
        mean_gx = sum(g * h for g, h in zip(ghat, hat, strict=True)) / size
        dx.append(
            [
                input_grad_entry(ghat[c], mean_g, mean_gx, hat[c], root)
                for c in range(size)
            ]
        )
        for c in range(size):
            dgamma[c] += G[row, c] * hat[c]
            dbeta[c] += G[row, c]
    return {
        "dx": sp.ImmutableMatrix(dx),
        "dgamma": sp.ImmutableMatrix([dgamma]),
        "dbeta": sp.ImmutableMatrix([dbeta]),
    }


def build(rule=input_grad_entry) -> Derivation:
    """The LayerNorm backward derivation for ``rule`` (tests plant wrong ones)."""
    defs = ((mu, mean(x, n)), (sigma2, sp.Sum((x[k] - mu) ** 2, (k, 0, n - 1)) / n))
    any_n = (((n, j + 1 + r),),)
    mu_f, var_f = depending("mu", x[j]), depending("sigma^2", x[j])
    s_f = sp.sqrt(written(sp.Add, var_f, eps))
    dmu, dvar = sp.Derivative(mu_f, x[j]), sp.Derivative(var_f, x[j])
    chain = (sp.KroneckerDelta(i, j) - dmu) / s_f - (x[i] - mu_f) * dvar / (2 * s_f**3)
    jacobian = (sp.KroneckerDelta(i, j) - 1 / n - x_hat[i] * x_hat[j] / n) / sigma
    rule_j = input_grad(j, n, rule)
    # dγ and dβ: rows t = 0 … T − 1 of a T × n input.
    T = sp.Symbol("T", positive=True, integer=True)
    t, col = sp.symbols("t c", integer=True, nonnegative=True)
    g2, h2 = sp.IndexedBase("dy", real=True), sp.IndexedBase("xhat", real=True)
    rows_out = sp.Sum(
        sp.Sum(g2[t, i] * (gamma[i] * h2[t, i] + beta[i]), (i, 0, n - 1)), (t, 0, T - 1)
    )
    full = sp.Derivative(
        sp.Sum(dy[i] * (gamma[i] * (x[i] - mu) / sigma + beta[i]), (i, 0, n - 1)), x[j]
    )
    written_out = (
        (x_hat, sp.Lambda(k, (x[k] - mu) / sigma)),
        (sigma, sp.sqrt(sigma2 + eps)),
        *defs,
    )
    return Derivation(
        name="backward-layer-norm",
        title=N_("Backward pass of layer normalisation"),
        source="Ba, Kiros & Hinton 2016, §3; Goodfellow, Bengio & Courville, "
        "Deep Learning, 2016, §6.5",
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("dx_j"), rule_j, evaluate=False),
            sp.Eq(
                sp.Symbol("dgamma_c"),
                sp.Sum(g2[t, col] * h2[t, col], (t, 0, T - 1)),
                evaluate=False,
            ),
            sp.Eq(
                sp.Symbol("dbeta_c"), sp.Sum(g2[t, col], (t, 0, T - 1)), evaluate=False
            ),
        ),
        steps=(
            Step(
                sp.Derivative(mu, x[j]),
                1 / n,
                N_("every x_j (j < n) enters the mean with weight 1/n"),
                by=("doit",),
                cases=any_n,
                defs=defs,
                title=N_("Through μ and σ², for any n"),
            ),
            Step(
                sp.Derivative(sigma2, x[j]),
                2 * (x[j] - mu) / n,
                N_("the μ-terms cancel because Σ_k (x_k − μ) = 0"),
                by=("diff", "cancel"),
                cases=any_n,
                defs=defs,
            ),
            Step(
                sp.Derivative((x[i] - mu_f) / s_f, x[j]),
                chain,
                N_("quotient and chain rule through μ(x) and σ²(x)"),
                by=("doit", "cancel"),
            ),
            Step(
                chain,
                jacobian,
                N_("insert ∂μ/∂x_j = 1/n and ∂σ²/∂x_j = 2(x_j − μ)/n from above"),
                by=("cancel",),
                kind="definition",
                defs=(
                    (dmu, 1 / n),
                    (dvar, 2 * (x[j] - mu_f) / n),
                    (x_hat, sp.Lambda(k, (x[k] - mu_f) / s_f)),
                    (sigma, s_f),
                ),
            ),
            Step(
                sp.Sum(dy[i] * gamma[i] * jacobian, (i, 0, n - 1)),
                rule_j,
                N_(
                    "dx_j = Σ_i dy_i γ_i ∂x̂_i/∂x_j: the δ_ij term keeps i = j, the "
                    "other two are means over the row; no n × n Jacobian is needed"
                ),
                by=("deltas", "expand", "sums"),
                cases=any_n,
                title=N_("dx = Jᵀ (dy ⊙ γ), for any n"),
            ),
            Step(
                sp.Derivative(rows_out, gamma[col]),
                sp.Sum(g2[t, col] * h2[t, col], (t, 0, T - 1)),
                N_(
                    "γ_c scales column c of every row: its gradient sums dy·x̂ over "
                    "the T rows …"
                ),
                by=("diff", "sums"),
                cases=(((n, col + 1 + r),),),
                title=N_("dγ and dβ, for any T and n"),
            ),
            Step(
                sp.Derivative(rows_out, beta[col]),
                sp.Sum(g2[t, col], (t, 0, T - 1)),
                N_("… and β_c is added to column c of every row: Σ_rows dy"),
                by=("diff", "sums"),
                cases=(((n, col + 1 + r),),),
            ),
            Step(
                full,
                rule_j,
                N_(
                    "the rule against SymPy differentiating Σ_i dy_i LN(x)_i itself, "
                    "with μ, σ² and x̂ written out"
                ),
                by=("doit", "cancel"),
                cases=(((n, 2), (j, 0)), ((n, 2), (j, 1)), ((n, 3), (j, 1))),
                defs=written_out,
                kind="instances",
                on="n = 2 (j = 0, 1) and n = 3 (j = 1)",
                title=N_("End to end"),
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """dx, dγ, dβ of LayerNorm: proved for any n, checked end to end for n = 2, 3."""
    return build()
