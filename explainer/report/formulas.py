"""The SymPy expression ``verify`` evaluates for each op of a section, as MathML,
with a line saying what its symbols stand for."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from markupsafe import Markup

from explainer.report.mathml import mathml
from explainer.trace import Op, Stage
from explainer.verify.formulas import FORMULAS

# What the symbols of each formula of verify stand for (verify.formulas.FORMULAS).
GLOSS = {
    Op.ONE_HOT: "entry (t, col) for the token id t",
    Op.EMBEDDING: "O: the one-hot rows, E: the embedding matrix",
    Op.SCALE_EMBEDDING: "each entry z",
    Op.POSITIONAL_ENCODING: "entry (pos, col)",
    Op.ADD: "X, Y: the two inputs",
    Op.PROJECT_HEADS: "X: the input rows; W, b: the weights; 1_R b adds b to each row",
    Op.QK: "per head",
    Op.SCALE: "each score z",
    Op.CAUSAL_MASK: "query i may see key j",
    Op.NO_MASK: "every pair",
    Op.PADDING_MASK: "key id t",
    Op.APPLY_MASK: "each score z",
    Op.SOFTMAX: "entry i of each row x of length n",
    Op.ATTEND: "A: the weights, V: the values, per head",
    Op.CONCAT_HEADS: "column col of head h goes to this column (d = d_v)",
    Op.LINEAR: "X: the input rows; 1_R b adds b to each row",
    Op.LAYER_NORM: "entry i of each row x of length n",
    Op.RELU: "each entry z",
    Op.GELU: "each entry z",
    Op.LOGITS: "H: the last rows, E: the embedding matrix",
    Op.POSITION_EMBEDDING: "entry (pos, col) of the learned position table P",
    Op.SEGMENT_EMBEDDING: "entry (s_t, col) of the segment table S; s_t = 0",
    Op.MEAN_POOL: "each column: x_j is the token j's entry, n the token count",
    Op.L2_NORMALIZE: "entry i of the pooled vector x of length n",
    Op.RMS_NORM: "entry i of each row x of length n; no mean, no β",
    Op.ROPE_ANGLES: "position pos, z = ω_i = b^(−2i/d_k) from rope.inv_freq",
    Op.ROPE: "the pair (x_2i, x_2i+1) of a query or key, θ = θ_{pos,i}",
    Op.REPEAT_KV: "the K/V head that query head j reads, r query heads per K/V head",
    Op.SWIGLU: "each entry: z of x W_gate, u of x W_up (SiLU(z)·u)",
}


@dataclass(frozen=True)
class OpFormula:
    op: str
    stages: tuple[str, ...]
    math: Markup
    gloss: str

    @property
    def short(self) -> str:
        """The stages by their last name part: ``scores, scaled``."""
        return ", ".join(name.rsplit(".", 1)[-1] for name in self.stages)


def op_formulas(stages: list[Stage]) -> list[OpFormula]:
    """The SymPy expression verify evaluates for each op of these stages."""
    by_op: dict[Op, list[str]] = {}
    for s in stages:
        if s.op in FORMULAS:
            by_op.setdefault(s.op, []).append(s.name)
    return [
        OpFormula(str(op), tuple(names), _op_math(op), GLOSS.get(op, ""))
        for op, names in by_op.items()
    ]


@functools.cache
def _op_math(op: Op) -> Markup:
    return mathml(FORMULAS[op])
