"""The ops a BERT encoder (MiniLM) adds: learned position and segment rows
(Devlin et al. 2019, §3.2), mean pooling and unit length (Reimers & Gurevych
2019, §3). Pretrained models only: no gradients."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explainer import numeric
from explainer.i18n import N_
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.formula import Formula, later, symbols
from explainer.ops.lambdified import Backend, Evaluator, along_last, idx
from explainer.ops.spec import OpSpec
from explainer.trace import Op

sym_learned = later("explainer.symbolic.learned_embedding")
sym_pooling = later("explainer.symbolic.pooling")
sym_pe = later("explainer.symbolic.positional_encoding")


def _position_formula() -> tuple[tuple, object]:
    table, pos, col = sym_learned.P, symbols().pos, sym_pe.col
    return (table, pos, col), sym_learned.position_embedding(table, pos, col)


def _segment_formula() -> tuple[tuple, object]:
    table, segment, col = sym_learned.S, sym_learned.segment, sym_pe.col
    return (table, segment, col), sym_learned.segment_embedding(table, segment, col)


def _l2_formula() -> tuple[tuple, object]:
    x, i, n = symbols().x, symbols().i, symbols().n
    return (x, i, n), sym_pooling.l2_normalize(x, i, n)


POSITION_EMBEDDING = Formula("position_embedding", _position_formula)
SEGMENT_EMBEDDING = Formula("segment_embedding", _segment_formula)
MEAN_POOL = Formula(
    "mean_pool",
    lambda: (
        (symbols().x, symbols().n),
        sym_pooling.mean_pool(symbols().x, symbols().n),
    ),
)
L2_NORMALIZE = Formula("l2_normalize", _l2_formula)


def _table_rows(formula: Formula, positions: bool) -> Evaluator:
    """P[pos, col] / S[s_t, col]: the formula indexes the table at every (row, col)
    of the recorded shape; the row index is the position (``positions``), or
    segment 0."""

    def run(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
        f = be.function(formula)
        rows, width = ctx.shape[-2:]
        where = idx(rows, 0, 2) if positions else np.zeros((1, 1))
        value = f(be.array(inputs[0]), where.astype(int), idx(width, 1, 2))
        return np.broadcast_to(np.asarray(value), (rows, width))

    return run


def _mean_pool(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(MEAN_POOL)
    moved = np.moveaxis(be.array(inputs[0]), -2, 0)  # (T, ..., d)
    return np.asarray(f(moved, be.number(moved.shape[0])))


def _l2_normalize(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    return along_last(L2_NORMALIZE, inputs[0], be)


_T, _D = ex.T, ex.D_MODEL

SPECS = (
    OpSpec(
        Op.POSITION_EMBEDDING,
        numeric=lambda a, c: numeric.position_embedding(a[0], c.shape[-2]),
        formula=POSITION_EMBEDDING,
        evaluate=_table_rows(POSITION_EMBEDDING, positions=True),
        gloss=N_("entry (pos, col) of the learned position table P"),
        section="learned",
        scene="position-embedding",
        example=lambda r: ([ex.normal(r, 2 * _T, _D)], ex.context(_T, _D)),
    ),
    OpSpec(
        Op.SEGMENT_EMBEDDING,
        numeric=lambda a, c: numeric.segment_embedding(a[0], c.shape[-2]),
        formula=SEGMENT_EMBEDDING,
        evaluate=_table_rows(SEGMENT_EMBEDDING, positions=False),
        gloss=N_("entry (s_t, col) of the segment table S; s_t = 0"),
        section="learned",
        scene="position-embedding",
        example=lambda r: ([ex.normal(r, 2, _D)], ex.context(_T, _D)),
    ),
    OpSpec(
        Op.MEAN_POOL,
        numeric=lambda a, c: numeric.mean_pool(a[0]),
        formula=MEAN_POOL,
        evaluate=_mean_pool,
        gloss=N_("each column: x_j is the token j's entry, n the token count"),
        section="pooling",
        scene="sentence-embedding",
        example=lambda r: ([ex.normal(r, _T, _D)], ex.context(_D)),
    ),
    OpSpec(
        Op.L2_NORMALIZE,
        numeric=lambda a, c: numeric.l2_normalize(a[0]),
        formula=L2_NORMALIZE,
        evaluate=_l2_normalize,
        gloss=N_("entry i of the pooled vector x of length n"),
        section="pooling",
        scene="sentence-embedding",
        example=lambda r: ([ex.normal(r, _D)], ex.context(_D)),
    ),
)
