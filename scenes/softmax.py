"""Softmax, one row up close: exponentiate, sum, divide. The movie shows it just
before attention, which uses it.

Stages: ``{prefix}.masked`` (the row in) and ``{prefix}.weights`` (the row out) of the
first self-attention, head 1. Bridle 1990; Vaswani et al. 2017, §3.2.1.
The exponentials and their sum are worked out on screen to explain the division;
the weights shown are the trace's.
"""

from __future__ import annotations

import numpy as np
from explainer.scenes.common import (
    HIGHLIGHT,
    MUTED,
    WEIGHT_COLOR,
    TraceMatrix,
    TraceScene,
    first_self_attention,
    number,
    stack_tokens,
    where,
    word,
)
from manim import *

from explainer.i18n import _
from explainer.symbolic import get_derivation
from explainer.symbolic.render import latex

FONT = 28


class Softmax(TraceScene):
    """One row of scaled scores becomes attention weights that sum to 1."""

    def construct(self) -> None:
        trace = self.trace
        prefix = first_self_attention(trace)
        tokens = stack_tokens(trace, prefix.split(".")[0])
        masked = trace[f"{prefix}.masked"][0]
        # A row with some −∞ if the mask hides anything, else the first row.
        r = masked.shape[0] // 2 if np.isneginf(masked).any() else 0
        formula = latex(get_derivation("softmax").formula)
        row = _('row "{token}"').format(token=tokens[r])
        tag = f"{where(trace, prefix, 0)} · {row}"
        head = self.header(_("Softmax, one row"), formula, tag=tag)
        self.play(FadeIn(head), run_time=0.8)

        x_row = self.matrix(f"{prefix}.masked", (0,), rows=[r], font_size=FONT)
        exps = np.exp(masked[r])  # shown to explain the division, not a stage
        e_row = TraceMatrix(exps, font_size=FONT, h_buff=x_row.h_buff)
        p_row = self.matrix(
            f"{prefix}.weights", (0,), rows=[r], font_size=FONT, h_buff=x_row.h_buff
        )
        names = [
            MathTex("x", font_size=36),
            MathTex("e^{x}", font_size=36),
            MathTex(r"p = e^{x} / \textstyle\sum e^{x}", font_size=36),
        ]
        rows = VGroup(x_row, e_row, p_row).arrange(DOWN, buff=0.55, aligned_edge=LEFT)
        keys = x_row.label_cols(tokens, 20)
        total = number(float(exps.sum()), 2, FONT)
        total_name = MathTex(r"\textstyle\sum e^{x} =", font_size=36)
        total_group = VGroup(total_name, total).arrange(RIGHT, buff=0.15)
        total_group.next_to(e_row, RIGHT, buff=0.6)
        for name, row in zip(names, rows, strict=True):
            name.next_to(row, LEFT, buff=0.3)
        layout = VGroup(rows, keys, *names, total_group)
        self.body(layout, shift=0.2 * UP)
        self.play(
            FadeIn(x_row, keys, names[0]),
            *self.caption(
                _(
                    'Attention (next scene) scores "{token}" against every token:'
                    " softmax turns such a row into weights"
                ).format(token=tokens[r])
            ),
            run_time=0.9,
        )
        self.wait(0.6)
        self.play(
            TransformFromCopy(x_row, e_row),
            FadeIn(names[1]),
            *self.caption(
                _("Exponentiate: every entry becomes positive (e^−∞ = 0)")
                if np.isneginf(masked[r]).any()  # only a masked row has −∞
                else _("Exponentiate: every entry becomes positive")
            ),
            run_time=1.2,
        )
        self.wait(0.8)
        self.play(
            TransformFromCopy(e_row.elements, total),
            FadeIn(total_name),
            *self.caption(_("Add them up")),
            run_time=1.0,
        )
        self.wait(0.6)
        self.play(
            TransformFromCopy(VGroup(e_row, total), p_row),
            FadeIn(names[2]),
            *self.caption(_("Divide each by the sum: the weights add up to 1")),
            run_time=1.2,
        )
        self.wait(0.8)

        # The weights as bars over the keys.
        weights = trace[f"{prefix}.weights"][0][r]
        cols = [c for c in p_row.cols if c is not None]
        best = int(np.argmax(weights))
        self.play(
            FadeOut(x_row, e_row, keys, names[0], names[1], total_group),
            VGroup(p_row, names[2]).animate.shift((x_row.get_y() - p_row.get_y()) * UP),
            run_time=0.6,
        )
        peak = float(np.max(weights)) or 1.0
        base = p_row.get_bottom()[1] - 0.6 - 2.2
        bars, labels = VGroup(), VGroup()
        for c in cols:
            x = p_row.cells[(r, c)].get_x()
            bar = Rectangle(
                width=0.5
                * p_row.h_buff
                * p_row.brackets[0].height
                / x_row.brackets[0].height,
                height=max(2.2 * float(weights[c]) / peak, 0.02),
                stroke_width=0,
                fill_color=HIGHLIGHT if c == best else WEIGHT_COLOR,
                fill_opacity=0.9,
            )
            bar.move_to([x, base, 0], aligned_edge=DOWN)
            bars.add(bar)
            label = word(tokens[c], 18, HIGHLIGHT if c == best else MUTED)
            labels.add(label.next_to([x, base, 0], DOWN, buff=0.12))
        self.play(
            *(GrowFromEdge(bar, DOWN) for bar in bars),  # each from its own foot
            FadeIn(labels),
            *self.caption(
                _('"{token}" attends most to "{best}"').format(
                    token=tokens[r], best=tokens[best]
                )
            ),
            run_time=1.0,
        )
        self.finish(1.5)
