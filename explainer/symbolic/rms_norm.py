"""Root-mean-square layer normalisation.  Zhang & Sennrich 2019, Eq. 4.

RMSNorm(x)_i = γ_i x_i / √((1/n) Σ_k x_k² + ε): LayerNorm without the mean
subtraction and without β. Llama (Touvron et al. 2023, §2.2) normalises the input
of every sub-layer with it (pre-norm).
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .layer_norm import layer_norm, mean
from .symbols import beta, eps, gamma, i, k, n, x

c_pos = sp.Symbol("c", positive=True)  # a positive rescaling of the row
scaled = sp.IndexedBase("y", real=True)  # y = c·x
centred = sp.IndexedBase("u", real=True)  # u = x − μ, a row of mean zero
mu = sp.Symbol("mu", real=True)  # the mean of x


def rms(x: sp.IndexedBase, n: sp.Expr, eps: sp.Expr) -> sp.Expr:
    """√((1/n) Σ_k x_k² + ε), the root mean square of the row (ε for stability).

    >>> from explainer.symbolic.symbols import x
    >>> rms(x, 2, 0).doit()
    sqrt(2)*sqrt(x[0]**2 + x[1]**2)/2
    """
    return sp.sqrt(sp.Sum(x[k] ** 2, (k, 0, n - 1)) / n + eps)


def rms_norm(
    x: sp.IndexedBase,
    i: sp.Symbol,
    n: sp.Expr,
    gamma: sp.IndexedBase,
    eps: sp.Expr,
) -> sp.Expr:
    """RMSNorm(x)_i = γ_i x_i / RMS(x).  Zhang & Sennrich 2019, Eq. 4.

    >>> from explainer.symbolic.symbols import x, i, n, gamma, eps
    >>> rms_norm(x, i, n, gamma, eps).has(sp.Sum)
    True
    """
    return gamma[i] * x[i] / rms(x, n, eps)


@functools.cache
def derivation() -> Derivation:
    """RMSNorm: invariant to rescaling; LayerNorm when the row has mean zero."""
    return Derivation(
        name="rms-norm",
        title=N_("RMSNorm"),
        source=N_("Zhang & Sennrich 2019, Eq. 4; Touvron et al. 2023, §2.2 (Llama)"),
        formula=sp.Eq(sp.Symbol("RMSNorm(x)_i"), rms_norm(x, i, n, gamma, eps)),
        ops=("rms_norm",),
        steps=(
            Step(
                rms_norm(scaled, i, n, gamma, 0),
                rms_norm(x, i, n, gamma, 0),
                N_(
                    "with ε = 0, scaling the row by c > 0 scales x_i and RMS(x) alike: "
                    "RMSNorm is invariant to rescaling, for any width n"
                ),
                by=("sums", "simplify"),
                defs=((scaled, sp.Lambda(k, c_pos * x[k])),),
                title=N_("Rescaling invariance"),
            ),
            Step(
                layer_norm(centred, i, n, gamma, beta, eps),
                rms_norm(centred, i, n, gamma, eps),
                N_(
                    "u = x − μ has mean zero, so its σ² is "
                    "mean(u²): LayerNorm with β = 0 "
                    "is RMSNorm there, for any width n (RMSNorm drops the centring)"
                ),
                by=("sums", "simplify"),
                defs=(
                    (centred, sp.Lambda(k, x[k] - mu)),
                    (mu, mean(x, n)),
                    (beta, sp.Lambda(k, 0)),
                ),
                title=N_("LayerNorm of a centred row"),
            ),
        ),
    )
