"""Root-mean-square layer normalisation.  Zhang & Sennrich 2019, Eq. 4.

RMSNorm(x)_i = γ_i x_i / √((1/n) Σ_k x_k² + ε): LayerNorm without the mean
subtraction and without β. Llama (Touvron et al. 2023, §2.2) normalises the input
of every sub-layer with it (pre-norm).
"""

from __future__ import annotations

import functools

import sympy as sp

from .derivation import Derivation, Step
from .layer_norm import layer_norm
from .symbols import eps, gamma, i, k, n, vector, x

c_pos = sp.Symbol("c", positive=True)  # a positive rescaling of the row


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


def _row(values: sp.Matrix, index: int, eps_value: sp.Expr) -> sp.Expr:
    """RMSNorm of an explicit row at ``index``, γ = 1."""
    size = len(values)
    return values[index] / sp.sqrt(sum(v**2 for v in values) / size + eps_value)


def _layer_norm_row(values: sp.Matrix, index: int, eps_value: sp.Expr) -> sp.Expr:
    """LayerNorm (its own definition) of an explicit row at ``index``, γ = 1, β = 0."""
    size = len(values)
    u = sp.IndexedBase("u", real=True)
    expr = layer_norm(u, index, size, ones, zeros, eps_value).doit()
    entries = {u[col]: values[col] for col in range(size)}
    return expr.subs(entries | {ones[index]: 1, zeros[index]: 0})


ones = sp.IndexedBase("one", real=True)
zeros = sp.IndexedBase("zero", real=True)


@functools.cache
def derivation() -> Derivation:
    """RMSNorm: invariant to rescaling; LayerNorm when the row has mean zero."""
    row = vector("x", 3)
    centred = sp.Matrix([[row[0], row[1], -row[0] - row[1]]])  # mean zero
    return Derivation(
        name="rms-norm",
        title="RMSNorm",
        source="Zhang & Sennrich 2019, Eq. 4; Touvron et al. 2023, §2.2 (Llama)",
        formula=sp.Eq(sp.Symbol("RMSNorm(x)_i"), rms_norm(x, i, n, gamma, eps)),
        ops=("rms_norm",),
        steps=(
            Step(
                _row(c_pos * row, 0, 0),
                _row(row, 0, 0),
                "with ε = 0, scaling the row by c > 0 scales x_i and RMS(x) alike: "
                "RMSNorm is invariant to rescaling (a 3-wide row)",
                by=("simplify",),
                title="Rescaling invariance",
            ),
            Step(
                _layer_norm_row(centred, 0, eps),
                _row(centred, 0, eps),
                "a row of mean zero has σ² = mean(x²): LayerNorm with γ = 1, β = 0 "
                "is RMSNorm there (RMSNorm drops the centring)",
                by=("simplify",),
                title="LayerNorm of a centred row",
            ),
        ),
    )
