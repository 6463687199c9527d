"""The ops a BERT encoder (MiniLM) adds: learned position and segment rows
(Devlin et al. 2019, §3.2), mean pooling and unit length (Reimers & Gurevych
2019, §3). Pretrained models only: no gradients."""

from __future__ import annotations

from collections.abc import Sequence

import mpmath
import numpy as np
import sympy as sp

from explainer import numeric
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.lambdified import Backend, Evaluator, along_last, idx
from explainer.ops.spec import OpSpec
from explainer.symbolic import learned_embedding as sym_learned
from explainer.symbolic import pooling as sym_pooling
from explainer.symbolic.positional_encoding import col
from explainer.symbolic.symbols import i, n, pos, x
from explainer.trace import Op

POSITION_EMBEDDING = sym_learned.position_embedding(sym_learned.P, pos, col)
SEGMENT_EMBEDDING = sym_learned.segment_embedding(
    sym_learned.S, sym_learned.segment, col
)
MEAN_POOL = sym_pooling.mean_pool(x, n)
L2_NORMALIZE = sym_pooling.l2_normalize(x, i, n)


def _table_rows(expr: sp.Basic, table: sp.Basic, index: sp.Symbol) -> Evaluator:
    """P[pos, col] / S[s_t, col]: the formula indexes the table at every (row, col)
    of the recorded shape; the row index is the position, or segment 0."""
    positions = index == pos

    def run(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
        f = be.compile((table, index, col), expr)
        rows, width = ctx.shape[-2:]
        where = idx(rows, 0, 2) if positions else np.zeros((1, 1))
        value = f(be.array(inputs[0]), where.astype(int), idx(width, 1, 2))
        return np.broadcast_to(np.asarray(value), (rows, width))

    return run


def _mean_pool(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((x, n), MEAN_POOL)
    moved = np.moveaxis(be.array(inputs[0]), -2, 0)  # (T, ..., d)
    count = moved.shape[0] if be.name == "numpy" else mpmath.mpf(moved.shape[0])
    return np.asarray(f(moved, count))


def _l2_normalize(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    return along_last(L2_NORMALIZE, (x, i, n), inputs[0], be)


_T, _D = ex.T, ex.D_MODEL

SPECS = (
    OpSpec(
        Op.POSITION_EMBEDDING,
        numeric=lambda a, c: numeric.position_embedding(a[0], c.shape[-2]),
        formula=POSITION_EMBEDDING,
        evaluate=_table_rows(POSITION_EMBEDDING, sym_learned.P, pos),
        gloss="entry (pos, col) of the learned position table P",
        section="learned",
        scene="position-embedding",
        example=lambda r: ([ex.normal(r, 2 * _T, _D)], ex.context(_T, _D)),
    ),
    OpSpec(
        Op.SEGMENT_EMBEDDING,
        numeric=lambda a, c: numeric.segment_embedding(a[0], c.shape[-2]),
        formula=SEGMENT_EMBEDDING,
        evaluate=_table_rows(SEGMENT_EMBEDDING, sym_learned.S, sym_learned.segment),
        gloss="entry (s_t, col) of the segment table S; s_t = 0",
        section="learned",
        scene="position-embedding",
        example=lambda r: ([ex.normal(r, 2, _D)], ex.context(_T, _D)),
    ),
    OpSpec(
        Op.MEAN_POOL,
        numeric=lambda a, c: numeric.mean_pool(a[0]),
        formula=MEAN_POOL,
        evaluate=_mean_pool,
        gloss="each column: x_j is the token j's entry, n the token count",
        section="pooling",
        scene="sentence-embedding",
        example=lambda r: ([ex.normal(r, _T, _D)], ex.context(_D)),
    ),
    OpSpec(
        Op.L2_NORMALIZE,
        numeric=lambda a, c: numeric.l2_normalize(a[0]),
        formula=L2_NORMALIZE,
        evaluate=_l2_normalize,
        gloss="entry i of the pooled vector x of length n",
        section="pooling",
        scene="sentence-embedding",
        example=lambda r: ([ex.normal(r, _D)], ex.context(_D)),
    ),
)
