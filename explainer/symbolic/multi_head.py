"""Multi-head attention.  Vaswani et al. 2017, §3.2.2.

MultiHead(Q, K, V) = Concat(head_1, …, head_h) W_O with
head_i = Attention(Q W_Q^(i), K W_K^(i), V W_V^(i)).  The forward pass projects
once with a d_model × d_model matrix and splits the columns into h heads of
width d_k = d_model/h; the derivation shows this is the same thing, and that
concatenating then projecting is a sum over heads.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step, chain
from .symbols import T, d_k, d_model, d_v, matrix, n_heads, vector

HEADS = 3  # the block identities are shown for three heads (they hold for any h)


def concat_heads(heads: Sequence[sp.MatrixExpr]) -> sp.BlockMatrix:
    """Concat(head_1, …, head_h) along the columns.  Vaswani et al. 2017, §3.2.2.

    >>> H = [sp.MatrixSymbol(f"H_{a}", 2, 1) for a in (1, 2)]
    >>> concat_heads(H).shape
    (2, 2)
    """
    if not heads:
        raise ValueError("heads must not be empty")
    return sp.BlockMatrix([list(heads)])


def head_column(head: sp.Expr, col: sp.Expr, d_head: sp.Expr) -> sp.Expr:
    """Column of the concatenation that holds column ``col`` of head ``head`` (from 0).

    Vaswani et al. 2017, §3.2.2 (Concat).

    >>> head_column(2, 1, 4)
    9
    """
    return head * d_head + col


def multi_head_parameters(
    d_model: sp.Expr, n_heads: sp.Expr, d_k: sp.Expr, d_v: sp.Expr
) -> sp.Expr:
    """Weights and biases of one multi-head attention layer.  Vaswani et al. §3.2.2.

    W_Q^(i), W_K^(i): d_model × d_k; W_V^(i): d_model × d_v, with biases; W_O:
    h·d_v × d_model with a bias.

    >>> multi_head_parameters(512, 8, 64, 64)
    1050624
    """
    return (
        n_heads * 2 * (d_model * d_k + d_k)
        + n_heads * (d_model * d_v + d_v)
        + (n_heads * d_v * d_model + d_model)
    )


def concat_heads_expr(T: int, n_heads: int, d_v: int) -> sp.ImmutableMatrix:
    """Concat of ``matrix(f"H{h}", T, d_v)`` for h = 0 … n_heads − 1, T × n_heads·d_v.

    Vaswani et al. 2017, §3.2.2.

    >>> concat_heads_expr(1, 2, 1)
    Matrix([[H0_00, H1_00]])
    """
    if n_heads < 1:
        raise ValueError(f"n_heads ({n_heads}) must be at least 1")
    blocks = [matrix(f"H{h}", T, d_v) for h in range(n_heads)]
    return sp.ImmutableMatrix(sp.Matrix.hstack(*blocks))


def linear_expr(rows: int, d_in: int, d_out: int) -> sp.ImmutableMatrix:
    """x W + b for ``matrix("x", rows, d_in)``, ``matrix("W", d_in, d_out)``,
    ``vector("b", d_out)`` (row-vector convention, W is d_in × d_out).

    Used for the Q/K/V projections (project_heads), W_O and the FFN layers.

    >>> linear_expr(1, 2, 1)
    Matrix([[W_00*x_00 + W_10*x_01 + b_0]])
    """
    X, W, b = matrix("x", rows, d_in), matrix("W", d_in, d_out), vector("b", d_out)
    return X * W + sp.ones(rows, 1) * b


@functools.cache
def derivation() -> Derivation:
    """Multi-head: split = per-head projections; Concat·W_O = Σ heads; parameters."""
    X = sp.MatrixSymbol("X", T, d_model)
    one = sp.MatrixSymbol("1_T", T, 1)  # a column of ones: adds b to every row
    W = [sp.MatrixSymbol(f"W_{a}", d_model, d_k) for a in range(1, HEADS + 1)]
    b = [sp.MatrixSymbol(f"b_{a}", 1, d_k) for a in range(1, HEADS + 1)]
    H = [sp.MatrixSymbol(f"head_{a}", T, d_v) for a in range(1, HEADS + 1)]
    W_O = [sp.MatrixSymbol(f"W_O{a}", d_v, d_model) for a in range(1, HEADS + 1)]
    P = sp.Function("P")  # P(h, d_k, d_v): parameters of a layer, d_model fixed
    count = sp.Lambda(
        (n_heads, d_k, d_v), multi_head_parameters(d_model, n_heads, d_k, d_v)
    )
    defs = ((P, count),)
    return Derivation(
        name="multi-head",
        title=N_("Multi-head attention"),
        source="Vaswani et al. 2017, §3.2.2",
        formula=sp.Eq(
            sp.Symbol("MultiHead(Q, K, V)"),
            concat_heads(H) * sp.BlockMatrix([[w] for w in W_O]),
            evaluate=False,
        ),
        ops=("project_heads", "concat_heads", "linear"),
        steps=(
            Step(
                X * sp.BlockMatrix([W]) + one * sp.BlockMatrix([b]),
                sp.BlockMatrix([[X * w + one * c for w, c in zip(W, b, strict=True)]]),
                N_(
                    "one d_model × h·d_k projection, split by columns, is h separate "
                    "projections W_Q^(i) (block matrices, any sizes; shown for h = 3)"
                ),
                by=("block",),
                kind="instances",
                on="h = 3 heads, any sizes",
                title=N_("Project once, then split into heads"),
            ),
            Step(
                concat_heads(H) * sp.BlockMatrix([[w] for w in W_O]),
                sp.MatAdd(*[h * w for h, w in zip(H, W_O, strict=True)]),
                N_(
                    "block product: W_O split into row blocks W_O^(i) of d_v rows; "
                    "so the heads' order in Concat must match W_O's rows"
                ),
                by=("block",),
                kind="instances",
                on="h = 3 heads, any sizes",
                title=N_("Concat(head_1 … head_h) W_O = Σ_i head_i W_O^(i)"),
            ),
            Step(
                P(n_heads, d_model / n_heads, d_model / n_heads),
                4 * d_model**2 + 4 * d_model,
                N_(
                    "W_Q, W_K, W_V, W_O and their biases with d_k = d_v = d_model/h: "
                    "the count does not depend on h"
                ),
                by=("expand",),
                defs=defs,
                title=N_("Parameters of one layer"),
            ),
            *chain(
                P(8, 64, 64),
                (
                    P(1, 512, 512),
                    N_(
                        "the base model (d_model = 512): 8 heads of width 64 cost what "
                        "one head of width 512 costs"
                    ),
                    ("expand",),
                    "definition",
                ),
                (1050624, N_("4·512² + 4·512"), ("expand",), "definition"),
                defs=tuple((name, f.subs(d_model, 512)) for name, f in defs),
            ),
        ),
    )
