"""Layer normalisation over the last axis.  Ba, Kiros & Hinton 2016, §3.

LN(x)_i = γ_i (x_i − μ) / √(σ² + ε) + β_i with μ the mean and σ² the *biased*
variance (divide by n, not n − 1) of the n entries of the row.  Vaswani et al.
2017, §3.1 apply it after every sub-layer.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step, chain, held_ratio
from .symbols import beta, depending, eps, gamma, i, j, k, n, r, vector, written, x

mu = sp.Symbol("mu", real=True)  # the row mean, an abbreviation in the steps
sigma2 = sp.Symbol("sigma^2", positive=True)  # the biased variance (x not constant)
x_hat = sp.IndexedBase("xhat", real=True)  # the normalised row, before γ and β


def mean(x: sp.IndexedBase, n: sp.Expr) -> sp.Expr:
    """μ = (1/n) Σ_k x_k.  Ba et al. 2016, §3.

    >>> from explainer.symbolic.symbols import x
    >>> mean(x, 2).doit()
    x[0]/2 + x[1]/2
    """
    return sp.Sum(x[k], (k, 0, n - 1)) / n


def variance(x: sp.IndexedBase, n: sp.Expr) -> sp.Expr:
    """σ² = (1/n) Σ_k (x_k − μ)², the biased variance.  Ba et al. 2016, §3.

    >>> from explainer.symbolic.symbols import x
    >>> sp.factor(variance(x, 2).doit())
    (x[0] - x[1])**2/4
    """
    return sp.Sum((x[k] - mean(x, n)) ** 2, (k, 0, n - 1)) / n


def normalised(x: sp.IndexedBase, i: sp.Symbol, n: sp.Expr, eps: sp.Expr) -> sp.Expr:
    """x̂_i = (x_i − μ) / √(σ² + ε), the output before γ and β.  Ba et al. 2016.

    >>> from explainer.symbolic.symbols import x, i, eps
    >>> normalised(x, 0, 2, 0).doit().simplify()
    (x[0] - x[1])/Abs(x[0] - x[1])
    """
    return (x[i] - mean(x, n)) / sp.sqrt(written(sp.Add, variance(x, n), eps))


def layer_norm(
    x: sp.IndexedBase,
    i: sp.Symbol,
    n: sp.Expr,
    gamma: sp.IndexedBase,
    beta: sp.IndexedBase,
    eps: sp.Expr,
) -> sp.Expr:
    """LN(x)_i = γ_i (x_i − μ)/√(σ² + ε) + β_i.  Ba et al. 2016, §3; Vaswani §3.1.

    >>> from explainer.symbolic.symbols import x, i, n, gamma, beta, eps
    >>> layer_norm(x, i, n, gamma, beta, eps).has(sp.Sum)
    True
    """
    return written(sp.Add, gamma[i] * normalised(x, i, n, eps), beta[i])


def layer_norm_expr(size: int) -> sp.ImmutableMatrix:
    """LayerNorm of the row ``vector("x", size)`` with gains ``vector("gamma", size)``,
    biases ``vector("beta", size)`` and ``eps``: a 1 × size matrix to lambdify.

    >>> e = layer_norm_expr(2)
    >>> sorted(str(s) for s in e.free_symbols)
    ['beta_0', 'beta_1', 'epsilon', 'gamma_0', 'gamma_1', 'x_0', 'x_1']
    """
    if size < 1:
        raise ValueError(f"size ({size}) must be at least 1")
    row, gains, biases = vector("x", size), vector("gamma", size), vector("beta", size)
    centre = sum(row) / size
    var = sum((entry - centre) ** 2 for entry in row) / size
    return sp.ImmutableMatrix(
        [
            [
                gains[col] * (row[col] - centre) / sp.sqrt(var + eps) + biases[col]
                for col in range(size)
            ]
        ]
    )


@functools.cache
def derivation() -> Derivation:
    """LayerNorm: zero mean and unit variance before γ, β, for any n; the gradient."""
    defs = ((mu, mean(x, n)), (sigma2, sp.Sum((x[k] - mu) ** 2, (k, 0, n - 1)) / n))
    s = sp.sqrt(written(sp.Add, sigma2, eps))  # printed σ² + ε, as in the paper
    hat = (x[i] - mu) / s
    # μ and σ² as functions of x_j, for the chain rule.
    mu_f, var_f = depending("mu", x[j]), depending("sigma^2", x[j])
    s_f = sp.sqrt(written(sp.Add, var_f, eps))
    dmu, dvar = sp.Derivative(mu_f, x[j]), sp.Derivative(var_f, x[j])
    any_n = (((n, j + 1 + r),),)
    return Derivation(
        name="layer-norm",
        title=N_("Layer normalisation"),
        source="Ba, Kiros & Hinton 2016, §3; Vaswani et al. 2017, §3.1",
        formula=sp.Eq(
            sp.Symbol("LN(x)_i"), gamma[i] * (x[i] - mu) / s + beta[i], evaluate=False
        ),
        ops=("layer_norm",),
        steps=(
            *chain(
                sp.Sum(hat, (i, 0, n - 1)) / n,
                (
                    held_ratio(sp.Sum(x[i], (i, 0, n - 1)) - n * mu, n * s),
                    N_("√(σ² + ε) does not depend on i; Σ_i μ = nμ"),
                    ("sums", "cancel"),
                ),
                (
                    0,
                    N_("nμ = Σ_i x_i by the definition of μ, for any n"),
                    ("sums",),
                    "definition",
                ),
                title=N_("Before γ and β the mean is 0, for a symbolic length n"),
                defs=defs,
            ),
            *chain(
                sp.Sum(hat**2, (i, 0, n - 1)) / n,
                (
                    sigma2 / (sigma2 + eps),
                    N_("the sum of squared deviations over n is σ² itself"),
                    ("sums", "expand"),
                ),
                title=N_("Before γ and β the variance is σ²/(σ² + ε), for any n"),
                defs=defs,
            ),
            Step(
                sp.Limit(sigma2 / (sigma2 + eps), eps, 0, "+"),
                1,
                N_("ε only guards against σ² = 0; for a non-constant row σ² > 0"),
                by=("doit",),
            ),
            Step(
                sigma2,
                sp.Sum(x[i] ** 2, (i, 0, n - 1)) / n - mu**2,
                N_("biased variance = mean of squares − square of mean (divide by n)"),
                by=("sums", "cancel"),
                defs=defs,
                title=N_("The variance is the biased one"),
            ),
            Step(
                sp.Derivative(mu, x[j]),
                1 / n,
                N_("every x_j (j < n) enters the mean with weight 1/n"),
                by=("doit",),
                cases=any_n,
                defs=defs,
                title=N_("The gradient, by the chain rule"),
            ),
            Step(
                sp.Derivative(sigma2, x[j]),
                2 * (x[j] - mu) / n,
                N_(
                    "d/dx_j of Σ_k (x_k − μ)²/n; the μ-terms cancel because "
                    "Σ_k (x_k − μ) = 0"
                ),
                by=("diff", "cancel"),
                cases=any_n,
                defs=defs,
            ),
            Step(
                sp.Derivative((x[i] - mu_f) / s_f, x[j]),
                (sp.KroneckerDelta(i, j) - dmu) / s_f
                - (x[i] - mu_f) * dvar / (2 * s_f**3),
                N_("quotient and chain rule through μ(x) and σ²(x)"),
                by=("doit", "cancel"),
            ),
            Step(
                (sp.KroneckerDelta(i, j) - dmu) / s_f
                - (x[i] - mu_f) * dvar / (2 * s_f**3),
                (sp.KroneckerDelta(i, j) - 1 / n - x_hat[i] * x_hat[j] / n) / s_f,
                N_("insert ∂μ/∂x_j = 1/n and ∂σ²/∂x_j = 2(x_j − μ)/n from above"),
                by=("cancel",),
                kind="definition",
                defs=(
                    (dmu, 1 / n),
                    (dvar, 2 * (x[j] - mu_f) / n),
                    (x_hat, sp.Lambda(k, (x[k] - mu_f) / s_f)),
                ),
            ),
        ),
    )
