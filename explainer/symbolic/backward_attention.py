"""Backward pass of scaled dot-product attention: dQ, dK, dV, with the mask.
Vaswani et al. 2017, §3.2.1, Eq. 1; Goodfellow, Bengio & Courville, Deep
Learning, 2016, §6.5.

Forward: S = Q Kᵀ/√d_k + M (M is 0 where allowed, −∞ where masked),
P = softmax(S) row by row, O = P V.  Given dO:

    dV = Pᵀ dO,   dP = dO Vᵀ,   dS = P ⊙ (dP − rowsum(P ⊙ dP) 1ᵀ),
    dQ = dS K/√d_k,   dK = dSᵀ Q/√d_k.

dS is the softmax VJP of each row (derivation backward-softmax).  A masked entry
has P_ij = 0, so dS_ij = 0: masked scores get no gradient and the masked keys
contribute nothing to dQ_i.  The matrix rules are proved for symbolic sizes; the
whole chain is checked end to end on one small instance.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .backward_linear import ones_row
from .backward_softmax import vjp_entry
from .backward_vjp import Gradient, pairing
from .derivation import Derivation, Step
from .softmax import RowSoftmax
from .symbols import T_k, T_q, c, d_k, d_v, matrix


def value_grad(P: sp.MatrixExpr, dO: sp.MatrixExpr) -> sp.MatrixExpr:
    """dV = Pᵀ dO.  Goodfellow et al. 2016, §6.5.

    >>> value_grad(sp.Matrix([[1, 0]]), sp.Matrix([[2]]))
    Matrix([
    [2],
    [0]])
    """
    return P.T * dO


def weights_grad(dO: sp.MatrixExpr, V: sp.MatrixExpr) -> sp.MatrixExpr:
    """dP = dO Vᵀ.  Goodfellow et al. 2016, §6.5.

    >>> weights_grad(sp.Matrix([[2]]), sp.Matrix([[1], [3]]))
    Matrix([[2, 6]])
    """
    return dO * V.T


def scores_grad(P: sp.MatrixExpr, dP: sp.MatrixExpr) -> sp.MatrixExpr:
    """dS = P ⊙ (dP − rowsum(P ⊙ dP) 1ᵀ): the softmax VJP of every row.

    >>> scores_grad(sp.Matrix([[1, 0]]), sp.Matrix([[2, 5]]))
    Matrix([[0, 0]])
    """
    if isinstance(P, sp.MatrixBase):  # explicit: the softmax rule, entry by entry
        return sp.ImmutableMatrix(
            P.rows,
            P.cols,
            lambda i, j: vjp_entry(
                P[i, j], dP[i, j], sum(P[i, k] * dP[i, k] for k in range(P.cols))
            ),
        )
    cols = P.shape[1]
    inner = sp.hadamard_product(P, dP) * sp.OneMatrix(cols, 1)
    return sp.hadamard_product(P, dP - inner * ones_row(cols))


def query_grad(dS: sp.MatrixExpr, K: sp.MatrixExpr, d_k: sp.Expr) -> sp.MatrixExpr:
    """dQ = dS K/√d_k.  Vaswani et al. 2017, Eq. 1, differentiated.

    >>> query_grad(sp.Matrix([[1, 0]]), sp.Matrix([[4], [2]]), 4)
    Matrix([[2]])
    """
    return dS * K / sp.sqrt(d_k)


def key_grad(dS: sp.MatrixExpr, Q: sp.MatrixExpr, d_k: sp.Expr) -> sp.MatrixExpr:
    """dK = dSᵀ Q/√d_k.  Vaswani et al. 2017, Eq. 1, differentiated.

    >>> key_grad(sp.Matrix([[1, 0]]), sp.Matrix([[4]]), 4)
    Matrix([
    [2],
    [0]])
    """
    return dS.T * Q / sp.sqrt(d_k)


def attention_backward_expr(
    T_q: int, T_k: int, d_k: int, d_v: int
) -> dict[str, sp.ImmutableMatrix]:
    """dQ, dK, dV (and dP, dS) from ``matrix("Q", T_q, d_k)``, ``matrix("K", T_k,
    d_k)``, ``matrix("V", T_k, d_v)``, the forward weights ``matrix("P", T_q,
    T_k)`` (0 where masked) and ``matrix("dO", T_q, d_v)``, to lambdify.

    >>> attention_backward_expr(1, 1, 1, 1)["dV"]
    Matrix([[P_00*dO_00]])
    """
    Q, K, V = matrix("Q", T_q, d_k), matrix("K", T_k, d_k), matrix("V", T_k, d_v)
    P, dO = matrix("P", T_q, T_k), matrix("dO", T_q, d_v)
    dP = weights_grad(dO, V)
    dS = scores_grad(P, dP)
    out = {
        "dV": value_grad(P, dO),
        "dP": dP,
        "dS": dS,
        "dQ": query_grad(dS, K, d_k),
        "dK": key_grad(dS, Q, d_k),
    }
    return {name: sp.ImmutableMatrix(value) for name, value in out.items()}


def _end_to_end(dQ_rule=query_grad) -> Step:
    """∂/∂Q of ⟨dO, softmax(QKᵀ/√d_k) V⟩ against the rules' chain, for T_q = 1,
    T_k = 2, d_k = 2, d_v = 1."""
    Q, K = sp.MatrixSymbol("Q", 1, 2), sp.MatrixSymbol("K", 2, 2)
    V, dO = sp.MatrixSymbol("V", 2, 1), sp.MatrixSymbol("dO", 1, 1)
    P = RowSoftmax(Q * K.T / sp.sqrt(2))
    return Step(
        Gradient(pairing(dO, P * V), Q),
        dQ_rule(scores_grad(P, weights_grad(dO, V)), K, 2),
        N_(
            "the chain dO → dP → dS → dQ against SymPy differentiating the whole "
            "forward formula, multiplied out"
        ),
        by=("doit", "cancel"),
        kind="instances",
        on="T_q = 1, T_k = 2, d_k = 2, d_v = 1",
        title=N_("End to end"),
    )


def build(dQ=query_grad, dK=key_grad, dV=value_grad) -> Derivation:
    """The attention derivation for the rules given (tests plant wrong ones)."""
    Q, K = sp.MatrixSymbol("Q", T_q, d_k), sp.MatrixSymbol("K", T_k, d_k)
    V, P = sp.MatrixSymbol("V", T_k, d_v), sp.MatrixSymbol("P", T_q, T_k)
    M = sp.MatrixSymbol("M", T_q, T_k)
    dO, dS = sp.MatrixSymbol("dO", T_q, d_v), sp.MatrixSymbol("dS", T_q, T_k)
    scores = Q * K.T / sp.sqrt(d_k) + M
    s_j, rest = sp.Symbol("s_j", real=True), sp.Symbol("R", positive=True)
    dp_j, inner = sp.Symbol("dp_j", real=True), sp.Symbol("r_i", real=True)
    p_masked = sp.exp(s_j + c) / (sp.exp(s_j + c) + rest)
    return Derivation(
        name="backward-attention",
        title=N_("Backward pass of scaled dot-product attention"),
        source=N_(
            "Vaswani et al. 2017, §3.2.1, Eq. 1; Goodfellow, Bengio & "
            "Courville, Deep Learning, 2016, §6.5"
        ),
        formula=sp.Tuple(
            sp.Eq(sp.MatrixSymbol("dV", T_k, d_v), dV(P, dO), evaluate=False),
            sp.Eq(
                sp.MatrixSymbol("dS", T_q, T_k),
                scores_grad(P, weights_grad(dO, V)),
                evaluate=False,
            ),
            sp.Eq(sp.MatrixSymbol("dQ", T_q, d_k), dQ(dS, K, d_k), evaluate=False),
            sp.Eq(sp.MatrixSymbol("dK", T_k, d_k), dK(dS, Q, d_k), evaluate=False),
        ),
        steps=(
            Step(
                Gradient(pairing(dO, P * V), V),
                dV(P, dO),
                N_("O = P V is a product: V's gradient is Pᵀ dO, for any sizes"),
                by=("doit",),
                title=N_("Through O = P V"),
            ),
            Step(
                Gradient(pairing(dO, P * V), P),
                weights_grad(dO, V),
                N_(
                    "… and the weights' gradient is dP = dO Vᵀ; each row of P is a "
                    "softmax, so dS is its VJP row by row (derivation backward-softmax)"
                ),
                by=("doit",),
            ),
            Step(
                Gradient(pairing(dS, scores), Q),
                dQ(dS, K, d_k),
                N_("S = Q Kᵀ/√d_k + M: the mask M is a constant and drops out"),
                by=("doit",),
                title=N_("Through S = Q Kᵀ/√d_k + M"),
            ),
            Step(
                Gradient(pairing(dS, scores), K),
                dK(dS, Q, d_k),
                N_("Kᵀ enters transposed, so dK = dSᵀ Q/√d_k"),
                by=("doit",),
            ),
            Step(
                sp.Limit(p_masked, c, -sp.oo),
                0,
                N_(
                    "a masked score s_j + c with c → −∞ (R > 0 is the sum over the "
                    "allowed keys): its weight p_j is 0 …"
                ),
                by=("doit",),
                title=N_("The mask: masked entries get zero gradient"),
            ),
            Step(
                sp.Limit(vjp_entry(p_masked, dp_j, inner), c, -sp.oo),
                0,
                N_(
                    "… so its gradient dS_j = p_j (dp_j − r_i), with r_i = ⟨dp, p⟩ of "
                    "row i, is 0 too, whatever dp_j: a masked key gets nothing from "
                    "query i"
                ),
                by=("doit",),
            ),
            _end_to_end(dQ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """dV = Pᵀ dO, dS = softmax VJP of dO Vᵀ, dQ = dS K/√d_k, dK = dSᵀ Q/√d_k."""
    return build()
