"""Backward pass of the multi-head split and concat: the gradient is split and
concatenated the same way.  Vaswani et al. 2017, §3.2.2; Goodfellow, Bengio &
Courville, Deep Learning, 2016, §6.5.

Concat(head_1, …, head_h) places the heads side by side, so its gradient dC is
cut into the same column blocks: dhead_a = block a of dC.  The forward pass
projects once, Q = X [W_1 … W_h], and splits the columns into heads Q_a = X W_a;
backwards the heads' gradients are concatenated, dQ = [dQ_1 … dQ_h], and the
projection's rule applies to the whole: dW = Xᵀ dQ = [Xᵀ dQ_1 … Xᵀ dQ_h] and
dX = dQ Wᵀ = Σ_a dQ_a W_aᵀ.  Entry by entry SymPy proves the three rules for a
symbolic number of heads h (and any T, d_model, d_k); the block-matrix picture
is checked for h = 3 heads, any sizes.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .backward_vjp import Gradient, pairing
from .derivation import Derivation, Step
from .multi_head import HEADS, concat_heads, head_column
from .symbols import T, d_k, d_model, matrix, n_heads


def split_grad(dC: sp.MatrixBase, n_heads: int) -> list[sp.MatrixBase]:
    """dhead_a = columns a·d_v … (a + 1)·d_v − 1 of dC: Concat's backward pass.

    >>> split_grad(sp.Matrix([[1, 2, 3, 4]]), 2)
    [Matrix([[1, 2]]), Matrix([[3, 4]])]
    """
    width = dC.shape[1] // n_heads
    return [dC[:, a * width : (a + 1) * width] for a in range(n_heads)]


def concat_grad(dheads: list[sp.MatrixBase]) -> sp.MatrixBase:
    """dQ = [dQ_1 … dQ_h]: the split's backward pass is a concat.

    >>> concat_grad([sp.Matrix([[1]]), sp.Matrix([[2]])])
    Matrix([[1, 2]])
    """
    return sp.Matrix.hstack(*dheads)


def concat_backward_expr(T: int, n_heads: int, d_v: int) -> list[sp.ImmutableMatrix]:
    """The heads' gradients from ``matrix("dC", T, n_heads·d_v)``, to lambdify.

    >>> concat_backward_expr(1, 2, 1)
    [Matrix([[dC_00]]), Matrix([[dC_01]])]
    """
    dC = matrix("dC", T, n_heads * d_v)
    return [sp.ImmutableMatrix(block) for block in split_grad(dC, n_heads)]


def concat_entry_grad(
    dC: sp.IndexedBase, b: sp.Expr, s: sp.Expr, e: sp.Expr
) -> sp.Expr:
    """∂L/∂head_b[s, e] = dC[s, b·d_k + e]: column e of head b is column b·d_k + e
    of the concatenation (:func:`explainer.symbolic.multi_head.head_column`).

    >>> concat_entry_grad(sp.IndexedBase("dC"), 1, 0, 2)
    dC[0, d_k + 2]
    """
    return dC[s, head_column(b, e, d_k)]


def _any_heads(entry_rule) -> tuple[Step, ...]:
    """The three rules entry by entry, for symbolic h, T, d_model and d_k."""
    a, b, c, e, t, s, m, m0 = sp.symbols(
        "a b c e t s m m_0", integer=True, nonnegative=True
    )
    slack = sp.symbols("r_1:4", integer=True, nonnegative=True)
    head, dC = sp.IndexedBase("head", real=True), sp.IndexedBase("dC", real=True)
    X, W = sp.IndexedBase("X", real=True), sp.IndexedBase("W", real=True)
    dQ = sp.IndexedBase("dQ", real=True)
    concat = sp.Sum(
        sp.Sum(
            sp.Sum(dC[t, head_column(a, c, d_k)] * head[a, t, c], (c, 0, d_k - 1)),
            (a, 0, n_heads - 1),
        ),
        (t, 0, T - 1),
    )
    projected = dQ[a, t, c] * sp.Sum(X[t, m] * W[a, m, c], (m, 0, d_model - 1))
    by_time = sp.Sum(  # the same pairing summed in two orders: what is
        sp.Sum(sp.Sum(projected, (c, 0, d_k - 1)), (a, 0, n_heads - 1)),  # summed
        (t, 0, T - 1),  # out must be innermost for the deltas tactic
    )
    by_head = sp.Sum(
        sp.Sum(sp.Sum(projected, (t, 0, T - 1)), (c, 0, d_k - 1)), (a, 0, n_heads - 1)
    )
    return (
        Step(
            sp.Derivative(concat, head[b, s, e]),
            entry_rule(dC, b, s, e),
            N_(
                "Concat puts column e of head b at column "
                "b·d_k + e: that entry of dC is "
                "its gradient, for any h, T and d_k (head b < h, row s < T, e < d_k)"
            ),
            by=("diff",),
            cases=(
                (
                    (n_heads, b + 1 + slack[0]),
                    (T, s + 1 + slack[1]),
                    (d_k, e + 1 + slack[2]),
                ),
            ),
            title=N_("Entry by entry, for any number of heads h"),
        ),
        Step(
            sp.Derivative(by_time, W[b, m0, e]),
            sp.Sum(X[t, m0] * dQ[b, t, e], (t, 0, T - 1)),
            N_(
                "head b's projection W_b = columns b·d_k … of W gets dW_b = Xᵀ dQ_b: "
                "the heads' weight gradients sit side by side, dW = Xᵀ [dQ_1 … dQ_h]"
            ),
            by=("diff", "sums"),
            cases=(
                (
                    (n_heads, b + 1 + slack[0]),
                    (d_model, m0 + 1 + slack[1]),
                    (d_k, e + 1 + slack[2]),
                ),
            ),
        ),
        Step(
            sp.Derivative(by_head, X[s, m0]),
            sp.Sum(
                sp.Sum(dQ[a, s, c] * W[a, m0, c], (c, 0, d_k - 1)), (a, 0, n_heads - 1)
            ),
            N_(
                "X feeds every head: dX = Σ_a dQ_a W_aᵀ, the same pairing summed "
                "head by head"
            ),
            by=("diff", "sums"),
            cases=(((T, s + 1 + slack[0]), (d_model, m0 + 1 + slack[1])),),
        ),
    )


def build(rule=None, entry_rule=concat_entry_grad) -> Derivation:
    """The derivation; ``rule(dC_blocks, a)`` gives dhead_a as a block and
    ``entry_rule(dC, b, s, e)`` entry by entry (tests plant others)."""
    rule = rule or (lambda blocks, a: blocks[a])
    H = [sp.MatrixSymbol(f"head_{a}", T, d_k) for a in range(1, HEADS + 1)]
    dC_blocks = [sp.MatrixSymbol(f"dC_{a}", T, d_k) for a in range(1, HEADS + 1)]
    W = [sp.MatrixSymbol(f"W_{a}", d_model, d_k) for a in range(1, HEADS + 1)]
    dQ = [sp.MatrixSymbol(f"dQ_{a}", T, d_k) for a in range(1, HEADS + 1)]
    X = sp.MatrixSymbol("X", T, d_model)
    dC = sp.BlockMatrix([dC_blocks])
    per_head = sp.Add(*[pairing(g, h) for g, h in zip(dC_blocks, H, strict=True)])
    heads = sp.Add(*[pairing(g, X * w) for g, w in zip(dQ, W, strict=True)])
    on = f"h = {HEADS} heads, any sizes"
    return Derivation(
        name="backward-multi-head",
        title=N_("Backward pass of the multi-head split and concat"),
        source="Vaswani et al. 2017, §3.2.2; Goodfellow, Bengio & Courville, "
        "Deep Learning, 2016, §6.5",
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("dhead_a"), sp.Symbol("dC_a"), evaluate=False),
            sp.Eq(sp.Symbol("dQ"), sp.BlockMatrix([dQ]), evaluate=False),
        ),
        steps=(
            *_any_heads(entry_rule),
            Step(
                pairing(dC, concat_heads(H)),
                per_head,
                N_(
                    "cut dC into the heads' column blocks: the pairing splits into "
                    "one pairing per head"
                ),
                by=("block",),
                kind="instances",
                on=on,
                title=N_("As block matrices (h = 3): dhead_a is column block a of dC"),
            ),
            *(
                Step(
                    Gradient(per_head, H[a]),
                    rule(dC_blocks, a),
                    f"only the pairing of head {a + 1} involves head_{a + 1}",
                    by=("doit",),
                    kind="instances",
                    on=on,
                )
                for a in range(HEADS)
            ),
            Step(
                Gradient(heads, X),
                sp.MatAdd(*[g * w.T for g, w in zip(dQ, W, strict=True)]),
                N_(
                    "each head's projection Q_a = X W_a sends back dQ_a W_aᵀ; X feeds "
                    "every head, so they add"
                ),
                by=("doit",),
                kind="instances",
                on=on,
                title=N_("Split: the heads' gradients are concatenated"),
            ),
            Step(
                sp.MatAdd(*[g * w.T for g, w in zip(dQ, W, strict=True)]),
                sp.BlockMatrix([dQ]) * sp.BlockMatrix([W]).T,
                N_(
                    "a sum over heads is one product of the concatenations: "
                    "dX = [dQ_1 … dQ_h][W_1 … W_h]ᵀ, the linear rule for the whole"
                ),
                by=("block",),
                kind="instances",
                on=on,
            ),
            Step(
                sp.BlockMatrix([[X.T * g for g in dQ]]),
                X.T * sp.BlockMatrix([dQ]),
                N_(
                    "dW_a = Xᵀ dQ_a side by side is Xᵀ [dQ_1 … dQ_h]: the single "
                    "projection's dW = Xᵀ dQ"
                ),
                by=("block",),
                kind="instances",
                on=on,
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """Concat's gradient is split, the split's gradient concatenated."""
    return build()
