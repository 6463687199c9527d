"""The causal mask of the decoder's self-attention: no looking ahead.

Stages of the first masked self-attention, head 0 (counted from 0, as in the
report): ``.scaled``, ``.mask``, ``.masked``, ``.weights``. Vaswani et al. 2017, §3.2.3.
"""

from __future__ import annotations

import sympy as sp
from explainer.scenes.attention_formulas import scores_latex
from explainer.scenes.common import (
    TraceScene,
    equation,
    stack_tokens,
    where,
)
from manim import *

from explainer.i18n import _
from explainer.symbolic.attention import causal_mask, masked_score
from explainer.symbolic.symbols import i, j
from explainer.trace import Op, Trace

FONT = 22


def causal_prefix(trace: Trace) -> str:
    """The first self-attention with a causal mask; ValueError if there is none."""
    masks = trace.find(Op.CAUSAL_MASK)
    if not masks:
        raise ValueError(
            f"this trace has no causal mask (an {trace.config.architecture} model); "
            "use --architecture decoder or encoder-decoder"
        )
    return masks[0].name.rsplit(".", 1)[0]


class CausalMask(TraceScene):
    """Scaled scores, the mask, −∞ above the diagonal, then softmax."""

    def construct(self) -> None:
        trace = self.trace
        prefix = causal_prefix(trace)
        tokens = stack_tokens(trace, prefix.split(".")[0])
        s_ij = sp.Symbol("s_{ij}")
        lines = [
            equation(r"\mathrm{allowed}(i, j)", causal_mask(i, j)),
            equation("s'_{ij}", masked_score(s_ij, causal_mask(i, j))),
        ]
        head = self.header(_("Causal mask"), lines, tag=where(trace, prefix, 0))
        self.play(FadeIn(head), run_time=0.8)

        scaled = self.matrix(f"{prefix}.scaled", (0,), font_size=FONT)
        mask = self.matrix(f"{prefix}.mask", font_size=FONT, h_buff=scaled.h_buff)
        rows = scaled.label_rows(tokens, 18)
        cols = scaled.label_cols(tokens, 16)
        mask_cols = mask.label_cols(tokens, 16)
        left = VGroup(rows, cols, scaled)
        right = VGroup(mask_cols, mask)
        layout = VGroup(left, right).arrange(RIGHT, buff=1.0, aligned_edge=DOWN)
        self.body(layout)
        s_name = MathTex(scores_latex(), font_size=28).next_to(scaled, DOWN, 0.15)
        m_name = MathTex(r"\mathrm{allowed}", font_size=28).next_to(mask, DOWN, 0.15)
        self.play(
            FadeIn(left, s_name),
            *self.caption(_("The decoder's scaled scores: query rows, key columns")),
            run_time=0.9,
        )
        self.wait(0.8)
        values = trace[f"{prefix}.mask"]
        for (r, c), cell in mask.cells.items():
            cell.set_color(GREEN_C if values[r, c] else RED_C)
        self.play(
            FadeIn(mask, mask_cols, m_name),
            *self.caption(
                _("Query i may look at key j only if j ≤ i: itself and earlier words")
            ),
            run_time=1.0,
        )
        self.wait(1.2)

        masked = self.matrix(
            f"{prefix}.masked", (0,), font_size=FONT, h_buff=scaled.h_buff
        ).align_like(scaled)
        hidden = VGroup(
            *(
                BackgroundRectangle(cell, color=RED_E, fill_opacity=0.5, buff=0.06)
                for (r, c), cell in masked.cells.items()
                if not values[r, c]
            )
        )
        self.play(
            FadeTransform(scaled, masked),
            FadeIn(hidden),
            *self.caption(_("Where not allowed, the score becomes −∞")),
            run_time=1.2,
        )
        self.wait(1.0)

        # The mask's column spacing: its key words stay over the weights' columns.
        weights = self.matrix(
            f"{prefix}.weights", (0,), font_size=FONT, h_buff=mask.h_buff
        )
        weights.align_like(mask)
        heat = weights.heat(peak=1.0)
        levels = [square.get_fill_opacity() for square in heat]
        w_name = MathTex(r"\mathrm{softmax}", font_size=28).move_to(m_name)
        self.add(heat.set_fill(opacity=0))
        self.bring_to_front(mask)
        self.play(
            FadeTransform(mask, weights),
            *(
                square.animate.set_fill(opacity=target)
                for square, target in zip(heat, levels, strict=True)
            ),
            FadeTransform(m_name, w_name),
            *self.caption(
                _("softmax: e^(−∞) = 0, so no weight ever falls on a later word")
            ),
            run_time=1.2,
        )
        self.finish(2.0)
