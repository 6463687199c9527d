"""Backward pass of the multi-head split and concat: the gradient is split and
concatenated the same way.  Vaswani et al. 2017, §3.2.2; Goodfellow, Bengio &
Courville, Deep Learning, 2016, §6.5.

Concat(head_1, …, head_h) places the heads side by side, so its gradient dC is
cut into the same column blocks: dhead_a = block a of dC.  The forward pass
projects once, Q = X [W_1 … W_h], and splits the columns into heads Q_a = X W_a;
backwards the heads' gradients are concatenated, dQ = [dQ_1 … dQ_h], and the
projection's rule applies to the whole: dW = Xᵀ dQ = [Xᵀ dQ_1 … Xᵀ dQ_h] and
dX = dQ Wᵀ = Σ_a dQ_a W_aᵀ.  Every step is checked for h = 3 heads, with
symbolic T, d_model and d_k.
"""

from __future__ import annotations

import functools

import sympy as sp

from .backward_vjp import Gradient, pairing
from .derivation import Derivation, Step
from .multi_head import HEADS, concat_heads
from .symbols import T, d_k, d_model, matrix


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


def build(rule=None) -> Derivation:
    """The derivation; ``rule(dC_blocks, a)`` gives dhead_a (tests plant others)."""
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
        title="Backward pass of the multi-head split and concat",
        source="Vaswani et al. 2017, §3.2.2; Goodfellow, Bengio & Courville, "
        "Deep Learning, 2016, §6.5",
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("dhead_a"), sp.Symbol("dC_a"), evaluate=False),
            sp.Eq(sp.Symbol("dQ"), sp.BlockMatrix([dQ]), evaluate=False),
        ),
        steps=(
            Step(
                pairing(dC, concat_heads(H)),
                per_head,
                "cut dC into the heads' column blocks: the pairing splits into "
                "one pairing per head",
                by=("block",),
                kind="instances",
                on=on,
                title="Concat: dhead_a is column block a of dC",
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
                "each head's projection Q_a = X W_a sends back dQ_a W_aᵀ; X feeds "
                "every head, so they add",
                by=("doit",),
                kind="instances",
                on=on,
                title="Split: the heads' gradients are concatenated",
            ),
            Step(
                sp.MatAdd(*[g * w.T for g, w in zip(dQ, W, strict=True)]),
                sp.BlockMatrix([dQ]) * sp.BlockMatrix([W]).T,
                "a sum over heads is one product of the concatenations: "
                "dX = [dQ_1 … dQ_h][W_1 … W_h]ᵀ, the linear rule for the whole",
                by=("block",),
                kind="instances",
                on=on,
            ),
            Step(
                sp.BlockMatrix([[X.T * g for g in dQ]]),
                X.T * sp.BlockMatrix([dQ]),
                "dW_a = Xᵀ dQ_a side by side is Xᵀ [dQ_1 … dQ_h]: the single "
                "projection's dW = Xᵀ dQ",
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
