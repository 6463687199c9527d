"""Residual connection and normalisation.  Vaswani et al. 2017, §3.1 (post-LN);
Xiong et al. 2020 (pre-LN).

Post-LN (the paper): LayerNorm(x + Sublayer(x)).
Pre-LN (GPT-2 and most later models): x + Sublayer(LayerNorm(x)).
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step, chain
from .layer_norm import mean
from .symbols import i, k, m, matrix, n, n_layers

LayerNorm = sp.Function("LN")  # "LayerNorm" would print as ‖Layer‖ in SymPy
Sublayer = sp.Function("Sublayer")


def post_norm(x: sp.Expr) -> sp.Expr:
    """LayerNorm(x + Sublayer(x)).  Vaswani et al. 2017, §3.1.

    >>> from sympy.abc import x
    >>> post_norm(x)
    LN(x + Sublayer(x))
    """
    return LayerNorm(x + Sublayer(x))


def pre_norm(x: sp.Expr) -> sp.Expr:
    """x + Sublayer(LayerNorm(x)).  Xiong et al. 2020, Eq. (pre-LN Transformer).

    >>> from sympy.abc import x
    >>> pre_norm(x)
    x + Sublayer(LN(x))
    """
    return x + Sublayer(LayerNorm(x))


def residual_expr(rows: int, cols: int) -> sp.ImmutableMatrix:
    """x + y for ``matrix("x", rows, cols)`` and ``matrix("y", rows, cols)``: the
    residual ``add`` (and embedding + PE).  Vaswani et al. 2017, §3.1 and §3.5.

    >>> residual_expr(1, 2)
    Matrix([[x_00 + y_00, x_01 + y_01]])
    """
    return matrix("x", rows, cols) + matrix("y", rows, cols)


@functools.cache
def derivation() -> Derivation:
    """Residual + norm: gradient paths of post-LN and pre-LN; the residual stream."""
    x = sp.Symbol("x", real=True)
    u = sp.Symbol("u", real=True)
    stream = sp.IndexedBase("x", real=True)  # x_l: the residual stream after l blocks
    step_of = sp.IndexedBase("Delta", real=True)  # Δ_l = x_{l+1} − x_l
    f = sp.IndexedBase("f", real=True)  # the sub-layer's output row
    summed = sp.IndexedBase("u", real=True)  # u = x + f, the row post-LN normalises
    mu_u = sp.Symbol("mu_u", real=True)
    s_u = sp.Symbol("s_u", positive=True)  # √(σ_u² + ε), the same for every i
    return Derivation(
        name="residual-norm",
        title=N_("Residual connection and layer normalisation"),
        source="Vaswani et al. 2017, §3.1 (post-LN); Xiong et al. 2020 (pre-LN)",
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("post-LN(x)"), post_norm(x)),
            sp.Eq(sp.Symbol("pre-LN(x)"), pre_norm(x)),
        ),
        ops=("add", "layer_norm"),
        steps=(
            Step(
                sp.Derivative(pre_norm(x), x),
                1
                + sp.Subs(sp.Derivative(Sublayer(u), u), u, LayerNorm(x))
                * sp.Derivative(LayerNorm(x), x),
                N_(
                    "chain rule: the 1 is the residual path, untouched by any layer "
                    "(one coordinate; for vectors the Jacobian is I + J_Sublayer·J_LN)"
                ),
                by=("doit", "simplify"),
                title=N_("Pre-LN: the gradient keeps an identity path"),
            ),
            Step(
                sp.Derivative(post_norm(x), x),
                sp.Subs(sp.Derivative(LayerNorm(u), u), u, x + Sublayer(x))
                * (1 + sp.Derivative(Sublayer(x), x)),
                N_(
                    "chain rule: in post-LN the identity path "
                    "passes through LayerNorm's "
                    "derivative at every block"
                ),
                by=("doit", "expand"),
                title=N_("Post-LN: the identity path goes through LayerNorm"),
            ),
            *chain(
                stream[0] + sp.Sum(step_of[m], (m, 0, n_layers - 1)),
                (
                    stream[n_layers],
                    N_(
                        "telescoping: with Δ_m = Sublayer_m(LN(x_m)), a pre-LN "
                        "stack's output is the input plus every block's contribution"
                    ),
                    ("doit",),
                ),
                title=N_("Pre-LN: the residual stream is a sum over the N blocks"),
                defs=((step_of, sp.Lambda(m, stream[m + 1] - stream[m])),),
            ),
            Step(
                sp.Sum((summed[i] - mu_u) / s_u, (i, 0, n - 1)) / n,
                0,
                N_(
                    "u = x + Sublayer(x); whatever the sub-layer returns, a post-LN "
                    "block's output row has mean 0 before γ and "
                    "β (pre-LN needs a final "
                    "LayerNorm)"
                ),
                by=("sums", "cancel", "sums"),
                defs=(
                    (mu_u, mean(summed, n)),
                    (summed, sp.Lambda(k, stream[k] + f[k])),
                ),
                title=N_("Post-LN: every block emits a normalised row"),
            ),
        ),
    )
