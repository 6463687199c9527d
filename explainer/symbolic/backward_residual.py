"""Backward pass of a residual connection: the gradient is copied to both branches.
He et al. 2016, §3.1; Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.5.

For Y = X + F(X) (Vaswani et al. 2017, §3.1: x + Sublayer(x)) the sum passes
dY unchanged to each summand, so dX = dY + (what F sends back): the skip path
carries dY to X whatever the sub-layer does.  With post-LN, LayerNorm's backward
pass (derivation backward-layer-norm) comes first.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .backward_vjp import Gradient, pairing
from .derivation import Derivation, Step
from .symbols import T, d_model


def residual_grads(dY: sp.MatrixExpr) -> tuple[sp.MatrixExpr, sp.MatrixExpr]:
    """(dA, dB) for Y = A + B: dY to both.  Goodfellow et al. 2016, §6.5.

    >>> residual_grads(sp.Matrix([[1, 2]]))
    (Matrix([[1, 2]]), Matrix([[1, 2]]))
    """
    return dY, dY


def build(rule=residual_grads) -> Derivation:
    """The residual derivation for ``rule(dY) = (dA, dB)`` (tests plant others)."""
    A, B, X = (sp.MatrixSymbol(name, T, d_model) for name in ("A", "B", "X"))
    W = sp.MatrixSymbol("W", d_model, d_model)
    dY = sp.MatrixSymbol("dY", T, d_model)
    dA, dB = rule(dY)
    return Derivation(
        name="backward-residual",
        title=N_("Backward pass of a residual connection"),
        source="He et al. 2016, §3.1; Goodfellow, Bengio & Courville, Deep "
        "Learning, 2016, §6.5",
        formula=sp.Tuple(
            sp.Eq(sp.MatrixSymbol("dA", T, d_model), dA, evaluate=False),
            sp.Eq(sp.MatrixSymbol("dB", T, d_model), dB, evaluate=False),
        ),
        steps=(
            Step(
                Gradient(pairing(dY, A + B), A),
                dA,
                N_("Y = A + B: each entry of A enters Y with weight 1 …"),
                by=("doit",),
                title=N_("Y = A + B copies dY to both branches, for any T and d_model"),
            ),
            Step(
                Gradient(pairing(dY, A + B), B),
                dB,
                N_("… and so does each entry of B"),
                by=("doit",),
            ),
            Step(
                Gradient(pairing(dY, X + X * W), X),
                dA + dY * W.T,
                N_(
                    "Y = X + X W (a linear sub-layer as an example): the skip path "
                    "delivers dY unchanged and the sub-layer adds its own dY Wᵀ"
                ),
                by=("doit",),
                title=N_("X + Sublayer(X): the two contributions add"),
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """dA = dB = dY for Y = A + B, proved for every size."""
    return build()
