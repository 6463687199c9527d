"""The SwiGLU feed-forward network.  Shazeer 2020, "GLU Variants Improve
Transformer", Eq. 6; Llama uses it (Touvron et al. 2023, §2.2).

FFN_SwiGLU(x) = (SiLU(x W_gate) ⊙ x W_up) W₂, with SiLU(z) = z σ(z) = z / (1 + e^(−z))
(Elfwing et al. 2018; "Swish" with β = 1, Ramachandran et al. 2017).
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .symbols import z

g = sp.Symbol("g", real=True)  # the "gate" projection of one row entry
u = sp.Symbol("u", real=True)  # the "up" projection of the same row entry


def sigmoid(z: sp.Expr) -> sp.Expr:
    """σ(z) = 1 / (1 + e^(−z)).

    >>> sigmoid(0)
    1/2
    """
    return 1 / (1 + sp.exp(-z))


def silu(z: sp.Expr) -> sp.Expr:
    """SiLU(z) = z / (1 + e^(−z)).  Elfwing et al. 2018.

    >>> silu(0)
    0
    """
    return z / (1 + sp.exp(-z))


def swiglu(gate: sp.Expr, up: sp.Expr) -> sp.Expr:
    """SiLU(gate) · up, one entry of the hidden row.  Shazeer 2020, Eq. 6.

    >>> swiglu(z, 0)
    0
    """
    return silu(gate) * up


@functools.cache
def derivation() -> Derivation:
    """SiLU is z σ(z); its derivative; the gate closes at −∞ and opens at +∞."""
    sigma = sp.Function("sigma")
    return Derivation(
        name="swiglu",
        title=N_("SwiGLU feed-forward"),
        source=N_("Shazeer 2020, Eq. 6; Elfwing et al. 2018 (SiLU)"),
        formula=sp.Eq(sp.Symbol("SwiGLU(g, u)"), swiglu(g, u)),
        ops=("swiglu",),
        steps=(
            Step(
                silu(z),
                z * sigma(z),
                N_("SiLU is the input gated by its own sigmoid"),
                by=("simplify",),
                defs=((sigma, sp.Lambda(z, sigmoid(z))),),
                title=N_("A self-gated unit"),
                kind="definition",
            ),
            Step(
                sp.Derivative(silu(z), z),
                sigmoid(z) * (1 + z * (1 - sigmoid(z))),
                N_("quotient rule; σ′ = σ(1 − σ)"),
                by=("doit", "simplify"),
                title=N_("Its slope"),
            ),
            Step(
                sp.Limit(swiglu(z, u), z, -sp.oo),
                0,
                N_("a very negative gate closes: no signal passes"),
                by=("doit",),
                title=N_("The gate"),
            ),
            Step(
                sp.Limit(swiglu(z, u) / z, z, sp.oo),
                u,
                N_("a very positive gate opens: the output grows as gate × up"),
                by=("doit",),
            ),
        ),
    )
