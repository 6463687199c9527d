"""Learned positions (BERT): a row of a learned table per position and one per
segment, added to the token embeddings, then LayerNorm.

Stages: ``encoder.embed.lookup``, ``.positions`` (rows 0…T−1 of the parameter
``position_embedding``), ``.segments``, ``.sum`` and ``.norm`` (the input of layer 0).
Devlin et al. 2019, §3.2 and Figure 2.
"""

from __future__ import annotations

import sympy as sp
from explainer.scenes.common import (
    TraceScene,
    first_stack,
    stack_tokens,
)
from manim import *

from explainer.i18n import _
from explainer.symbolic import get_derivation
from explainer.symbolic.learned_embedding import (
    P,
    S,
    position_embedding,
    segment,
    segment_embedding,
)
from explainer.symbolic.positional_encoding import col
from explainer.symbolic.render import latex
from explainer.symbolic.symbols import t
from explainer.trace import Op

FONT = 22


def sum_latex() -> str:
    """x_{t,col} = E[id_t, col] + P[t, col] + S[s_t, col], from SymPy."""
    table = sp.IndexedBase("E", real=True)
    ids = sp.IndexedBase("id", integer=True)
    rhs = (
        table[ids[t], col]
        + position_embedding(P, t, col)
        + segment_embedding(S, segment, col)
    )
    return latex(sp.Eq(sp.IndexedBase("x")[t, col], rhs))


class PositionEmbedding(TraceScene):
    """P[0…T−1] from a learned table, + E rows + segment rows, then LayerNorm."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        tokens = stack_tokens(trace, stack)
        p = f"{stack}.embed"
        positions = trace.find(Op.POSITION_EMBEDDING)[0]
        table_rows = trace[positions.inputs[0]].shape[0]
        lines = [sum_latex(), latex(get_derivation("layer-norm").formula)]
        head = self.header(
            _("Learned positions"), lines, tag=f"{positions.name} · {p}.*"
        )
        self.play(FadeIn(head), run_time=0.8)

        # 1. The rows of the learned table for positions 0 … T−1.
        table = self.matrix(positions.name, font_size=FONT)
        labels = table.label_rows([f"pos {m}" for m in range(len(tokens))], 18)
        name = table.named(r"P[0 \ldots T-1]").next_to(table, DOWN, 0.15)
        group = VGroup(labels, table, name)
        self.body(group)
        self.play(
            FadeIn(group),
            *self.caption(
                _(
                    "No sinusoids: BERT learned one row per position ({n} of "
                    "them); this sentence uses the first ones"
                ).format(n=table_rows)
            ),
            run_time=1.0,
        )
        self.wait(1.5)

        # 2. Token rows + position rows + segment rows = the sum.
        parts = [
            (f"{p}.lookup", r"E[\mathrm{id}_t]"),
            (positions.name, "P[t]"),
            (f"{p}.segments", "S[0]"),
        ]
        # Three matrices side by side: 4 columns each (first two, …, last), legible.
        mobs = [self.matrix(stage, font_size=FONT, max_cols=4) for stage, _ in parts]
        token_labels = mobs[0].label_rows(tokens, 18)
        row = VGroup(
            VGroup(token_labels, mobs[0]),
            MathTex("+", font_size=40),
            mobs[1],
            MathTex("+", font_size=40),
            mobs[2],
        ).arrange(RIGHT, buff=0.25)
        self.body(row)
        names = VGroup(
            *(
                MathTex(tex, font_size=28).next_to(mob, DOWN, 0.15)
                for mob, (_, tex) in zip(mobs, parts, strict=True)
            )
        )
        self.play(
            FadeOut(labels, name),
            FadeTransform(table, mobs[1]),  # 4 columns: no collapsed leftovers
            FadeIn(row[0], row[1], row[3], mobs[2], names),
            *self.caption(
                _(
                    "Added to each token's embedding, with the segment row "
                    "(one sentence: segment 0 for every token)"
                )
            ),
            run_time=1.2,
        )
        self.wait(1.5)
        total = self.matrix(f"{p}.sum", font_size=FONT)
        total_labels = total.label_rows(tokens, 18)
        total_group = VGroup(total_labels, total)
        self.body(total_group)
        total_name = total.named(r"E[\mathrm{id}_t] + P[t] + S[0]")
        total_name.next_to(total, DOWN, 0.15)
        self.play(
            FadeTransform(VGroup(*mobs, row[1], row[3]), total),
            FadeTransform(token_labels, total_labels),
            FadeTransform(names, total_name),
            run_time=1.2,
        )
        self.wait(1.0)

        # 3. LayerNorm of the sum: the input of layer 0.
        normed = self.matrix(f"{p}.norm", font_size=FONT).align_like(total)
        norm_name = normed.named(r"\mathrm{LayerNorm}(\ldots)").move_to(total_name)
        self.play(
            FadeTransform(total, normed),
            FadeTransform(total_name, norm_name),
            *self.caption(
                _("BERT then normalises each row (LayerNorm): the input of layer 0")
            ),
            run_time=1.2,
        )
        # (no note under it: the first caption said P is learned, and a line
        # over the caption here read as a second caption about a P gone)
        self.finish(1.5)
