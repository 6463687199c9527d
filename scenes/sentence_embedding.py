"""The output of a sentence encoder (MiniLM): not next-token probabilities but one
vector for the whole sentence, the mean of the last layer's rows at unit length.

Stages: the last encoder stage, ``output.pooled`` (mean over positions) and
``output.embedding`` (÷ its length). Reimers & Gurevych 2019, §3 (mean pooling).
The length of the pooled vector is worked out on screen to explain the division;
the numbers of the embedding are the trace's.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    BODY_BOTTOM,
    HIGHLIGHT,
    MUTED,
    TraceScene,
    first_stack,
    stack_tokens,
)
from manim import *

from explainer.i18n import _, ngettext
from explainer.symbolic.pooling import l2_normalize, mean_pool
from explainer.symbolic.render import latex
from explainer.symbolic.symbols import d_model, i

FONT = 22


def pooling_lines() -> list[str]:
    """u = (1/T) Σ_t x_t and e_i = u_i / ‖u‖, from SymPy."""
    rows, u = sp.IndexedBase("x", real=True), sp.IndexedBase("u", real=True)
    count = sp.Symbol("T", positive=True, integer=True)
    return [
        latex(sp.Eq(sp.Symbol("u"), mean_pool(rows, count))),
        # over the d_model entries of u (the screen shows u as 1 × d_model)
        latex(sp.Eq(sp.IndexedBase("e")[i], l2_normalize(u, i, d_model))),
    ]


class SentenceEmbedding(TraceScene):
    """Last layer's rows → their mean → scaled to length 1."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        tokens = stack_tokens(trace, stack)
        pooled = trace.stage("output.pooled")
        last = pooled.inputs[0]
        head = self.header(
            _("Output: a sentence embedding"),
            pooling_lines(),
            tag=f"{last} → output.pooled → output.embedding",
        )
        self.play(FadeIn(head), run_time=0.8)

        rows = self.matrix(last, font_size=FONT)
        labels = rows.label_rows(tokens, 18)
        rows_name = rows.named("x_t").next_to(rows, DOWN, 0.15)
        mean = self.matrix("output.pooled", font_size=FONT, h_buff=rows.h_buff)
        mean_name = mean.named("u").next_to(mean, DOWN, 0.15)
        column = VGroup(VGroup(labels, rows, rows_name), VGroup(mean, mean_name))
        column.arrange(DOWN, buff=0.6, aligned_edge=RIGHT)
        self.body(column)
        self.play(
            FadeIn(rows, labels, rows_name),
            *self.caption(
                ngettext(
                    "No next-token output: the {n} row of the last layer "
                    "({stage}), one per token",
                    "No next-token output: the {n} rows of the last layer "
                    "({stage}), one per token",
                    len(tokens),
                ).format(n=len(tokens), stage=last)
            ),
            run_time=1.0,
        )
        self.wait(1.0)
        self.play(
            TransformFromCopy(rows, mean),
            FadeIn(mean_name),
            *self.caption(_("Their mean, column by column: one row for the sentence")),
            run_time=1.4,
        )
        self.wait(1.0)

        length = float(np.linalg.norm(trace["output.pooled"].astype(float)))
        self.play(
            FadeOut(rows, labels, rows_name),
            VGroup(mean, mean_name).animate.move_to(self.body_middle()),
            run_time=0.6,
        )
        embedding = self.matrix("output.embedding", font_size=FONT, h_buff=rows.h_buff)
        embedding.match_height(mean).move_to(mean)
        note = MathTex(
            rf"\lVert u \rVert = {length:.2f}", font_size=32, color=HIGHLIGHT
        )
        note.next_to(mean, UP, buff=0.3)
        self.play(
            FadeIn(note),
            *self.caption(_("Its length, √(Σ u_i²)")),
            run_time=0.9,
        )
        self.wait(0.6)
        emb_name = embedding.named(r"e = u / \lVert u \rVert").move_to(mean_name)
        self.play(
            FadeTransform(mean, embedding),
            FadeTransform(mean_name, emb_name),
            *self.caption(
                _(
                    "Divided by it: length 1, so the dot product of two sentences' "
                    "vectors is their cosine similarity"
                )
            ),
            run_time=1.2,
        )
        width = trace["output.embedding"].shape[-1]
        size = MathTex(
            rf"e \in \mathbb{{R}}^{{{width}}},\ \lVert e \rVert = 1",
            font_size=32,
            color=MUTED,
        ).next_to(emb_name, DOWN, buff=0.4)
        self.play(FadeOut(note), FadeIn(size), run_time=0.6)
        self.finish(2.0)

    def body_middle(self) -> np.ndarray:
        """The centre of the free area under the header."""
        return np.array([0.0, (self.body_top + BODY_BOTTOM) / 2, 0.0])
