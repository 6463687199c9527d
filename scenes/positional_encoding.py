"""Positional encoding: sinusoids of falling frequency, one per pair of columns,
added to the embeddings.

Stages: ``{stack}.embed.pe`` and ``{stack}.embed.input`` (= embeddings + PE).
Vaswani et al. 2017, §3.5.
"""

from __future__ import annotations

import numpy as np
from explainer.scenes.common import (
    BODY_CENTER,
    ENCODER_COLOR,
    HIGHLIGHT,
    MUTED,
    TraceScene,
    first_stack,
    fit,
    formula_lines,
    number,
    stack_tokens,
    text,
)
from manim import *

from explainer.i18n import _
from explainer.symbolic import get_derivation

MAX_WAVES = 4  # sine columns drawn (0, 2, 4, 6)
MIN_SPAN = 20  # positions along the x axis, at least


class PositionalEncoding(TraceScene):
    """The sinusoids, the PE matrix filling column by column, then X + PE."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        pe_name = f"{stack}.embed.pe"
        pe = trace[pe_name]
        n_pos, width = pe.shape
        lines = formula_lines(get_derivation("positional-encoding").formula)
        head = self.header(_("Positional encoding"), lines, tag=pe_name)
        self.play(FadeIn(head), run_time=0.8)

        pe_mob = self.matrix(pe_name, font_size=24)
        pos_labels = pe_mob.label_rows([f"pos {p}" for p in range(n_pos)], 18)
        col_labels = pe_mob.label_cols([str(c) for c in range(width)], 18)
        table = VGroup(pos_labels, col_labels, pe_mob)
        span = max(n_pos - 1, MIN_SPAN)  # wide enough to see the slow waves bend
        axes = Axes(
            x_range=[0, span, 1],
            y_range=[-1.2, 1.2, 1],
            x_length=5.4,
            y_length=3.0,
            tips=False,
            axis_config={"stroke_width": 2, "color": MUTED},
        )
        ticks = VGroup(
            *(
                number(p, 0, 24).next_to(axes.c2p(p, -1.2), DOWN, buff=0.1)
                for p in range(0, span + 1, 5 if span > 12 else 1)
            )
        )
        here = Rectangle(
            width=axes.c2p(max(n_pos - 1, 0.3), 0)[0] - axes.c2p(0, 0)[0],
            height=axes.y_length,
            stroke_width=0,
            fill_color=GRAY_E,
            fill_opacity=0.6,
        ).move_to(axes.c2p(max(n_pos - 1, 0.3) / 2, 0))
        here_label = text(_("this sentence"), font_size=16, color=MUTED)
        here_label.next_to(here, UP, buff=0.05)
        pos_name = text("pos", font_size=20, color=MUTED).next_to(axes, RIGHT, 0.1)
        plot = VGroup(here, here_label, axes, ticks, pos_name)
        body = VGroup(plot, table).arrange(RIGHT, buff=0.8)
        fit(body, 13.2, 3.8).move_to(BODY_CENTER)
        self.play(
            Create(axes),
            FadeIn(here, here_label, ticks, pos_name),
            FadeIn(pe_mob.brackets, pos_labels, col_labels),
            *self.caption(
                _("Each position gets a fixed vector, the same for every sentence")
            ),
            run_time=1.0,
        )

        waves = min(MAX_WAVES, (width + 1) // 2)
        curves = VGroup()
        for i in range(waves):
            col = 2 * i
            # one hue per pair of columns, not a head colour
            color = interpolate_color(ENCODER_COLOR, HIGHLIGHT, i / max(waves - 1, 1))
            rate = 10000 ** (-2 * i / trace.config.d_model)  # the curve is a guide only
            curve = axes.plot(
                lambda p, rate=rate: np.sin(p * rate),
                x_range=[0, span, 0.05],
                color=color,
                stroke_width=3,
            )
            dots = VGroup(
                *(
                    Dot(axes.c2p(p, pe[p, col]), radius=0.05, color=color)
                    for p in range(n_pos)
                )
            )
            column = pe_mob.col(col).set_color(color)
            twin = pe_mob.col(col + 1) if col + 1 < width else VGroup()
            twin.set_color(interpolate_color(color, WHITE, 0.5))
            anims = []
            if i == 0:
                anims = self.caption(
                    _("Column 2i is a sine of pos, column 2i + 1 its cosine")
                )
            elif i == 1:
                anims = self.caption(
                    _("Each next pair is slower: wavelengths from 2π up to 10000·2π")
                )
            self.play(Create(curve), FadeIn(dots), *anims, run_time=1.0 if i else 1.4)
            self.play(
                TransformFromCopy(dots, column),
                FadeIn(twin),
                run_time=0.8 if i else 1.2,
            )
            curves.add(curve)
            self.play(
                FadeOut(dots), curve.animate.set_stroke(opacity=0.4), run_time=0.3
            )
        rest = VGroup(
            *(
                m
                for (r, c), m in pe_mob.cells.items()
                if c is not None and c >= 2 * waves
            )
        )
        if len(rest):
            self.play(FadeIn(rest), run_time=0.6)
        self.assemble(pe_mob)
        self.wait(0.8)

        # X + PE: the embeddings and the encoding, added entry by entry.
        total = f"{stack}.embed.input"
        embed_name = trace.stage(total).inputs[0]
        embed_mob = self.matrix(embed_name, font_size=24).match_height(pe_mob)
        embed_labels = embed_mob.label_rows(stack_tokens(trace, stack), 18)
        target = pe_mob.copy()
        plus = MathTex("+", font_size=40)
        row = VGroup(VGroup(embed_labels, embed_mob), plus, target)
        row.arrange(RIGHT, buff=0.35)
        fit(row, 12.6, 3.4).move_to(BODY_CENTER + 0.2 * DOWN)
        self.play(
            FadeOut(plot, curves),
            FadeOut(pos_labels, col_labels),
            *self.caption(_("Then PE is added to the embeddings")),
            run_time=0.6,
        )
        x_name = MathTex(r"X", font_size=30).next_to(embed_mob, DOWN, 0.15)
        p_name = MathTex(r"\mathrm{PE}", font_size=30).next_to(target, DOWN, 0.15)
        self.play(
            FadeIn(embed_mob, embed_labels, x_name, plus, p_name),
            Transform(pe_mob, target),
            run_time=1.0,
        )
        self.wait(0.6)
        sum_mob = self.matrix(total, font_size=24)
        sum_mob.match_height(embed_mob).move_to(BODY_CENTER + 0.2 * DOWN)
        sum_labels = sum_mob.label_rows(stack_tokens(trace, stack), 18)
        s_name = MathTex(r"X + \mathrm{PE}", font_size=30).next_to(sum_mob, DOWN, 0.15)
        self.play(
            FadeTransform(VGroup(embed_mob, pe_mob), sum_mob),
            FadeTransform(VGroup(x_name, plus, p_name), s_name),
            FadeTransform(embed_labels, sum_labels),
            *self.caption(
                _("The input of the first layer: word and position in one vector")
            ),
            run_time=1.2,
        )
        # the camera moves in on the result, to read its numbers larger
        self.play(*self.zoom(VGroup(sum_labels, sum_mob, s_name), most=1.5))
        self.finish(1.5)
