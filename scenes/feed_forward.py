"""The position-wise feed-forward network: widen to d_ff, ReLU, back to d_model.

Stages of layer 0: ``{stack}.0.ffn.hidden``, ``.activation``, ``.out``.
Vaswani et al. 2017, §3.3, Eq. 2.
"""

from __future__ import annotations

import numpy as np
from explainer.scenes.common import (
    HIGHLIGHT,
    MUTED,
    TraceScene,
    first_stack,
    formula_lines,
    stack_tokens,
)
from manim import *

from explainer.symbolic import get_derivation

FONT = 22


class FeedForward(TraceScene):
    """x W₁ + b₁ → max(0, ·) → · W₂ + b₂, on every row separately."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        tokens = stack_tokens(trace, stack)
        ffn = f"{stack}.0.ffn"
        gelu = trace.config.activation == "gelu"
        lines = formula_lines(get_derivation("feed-forward").formula)
        head = self.header(
            "Feed-forward network", lines if gelu else lines[:1], tag=f"{ffn}.*"
        )
        self.play(FadeIn(head), run_time=0.8)

        x_name = trace.stage(f"{ffn}.hidden").inputs[0]
        x_mob = self.matrix(x_name, font_size=FONT)
        labels = x_mob.label_rows(tokens, 18)
        hidden = self.matrix(f"{ffn}.hidden", font_size=FONT)
        arrow = MathTex(r"\xrightarrow{\;x W_1 + b_1\;}", font_size=34)
        row = VGroup(VGroup(labels, x_mob), arrow, hidden).arrange(RIGHT, buff=0.3)
        self.body(row)
        d_ff, d_model = trace.config.d_ff, trace.config.d_model
        names = VGroup(
            MathTex(rf"x\ \ ({len(tokens)} \times {d_model})", font_size=28).next_to(
                x_mob, DOWN, 0.15
            ),
            MathTex(rf"({len(tokens)} \times {d_ff})", font_size=28).next_to(
                hidden, DOWN, 0.15
            ),
        )
        self.play(
            FadeIn(x_mob, labels, names[0]),
            *self.caption("The same small network is applied to every token's row"),
            run_time=0.9,
        )
        self.play(
            Write(arrow),
            TransformFromCopy(x_mob, hidden),
            FadeIn(names[1]),
            *self.caption(f"First widen: d_model = {d_model} → d_ff = {d_ff} numbers"),
            run_time=1.4,
        )
        self.wait(1.0)

        # The activation, in place.
        values = trace[f"{ffn}.hidden"]
        negative = VGroup(
            *(m for (r, c), m in hidden.cells.items() if values[r, c] < 0)
        )
        graph = self.activation_graph(gelu).next_to(hidden, UP, buff=0.25)
        graph.align_to(hidden, RIGHT)
        act_name = "GELU" if gelu else "ReLU"
        self.play(
            FadeIn(graph),
            negative.animate.set_color(RED_C),
            *self.caption(
                f"{act_name}: negative entries become 0"
                + (" (GELU: nearly 0)" if gelu else ", positive ones pass unchanged")
            ),
            run_time=1.0,
        )
        activation = self.matrix(f"{ffn}.activation", font_size=FONT)
        activation.align_like(hidden)
        self.play(FadeTransform(hidden, activation), run_time=1.0)
        self.wait(1.0)

        # Back to d_model.
        out = self.matrix(f"{ffn}.out", font_size=FONT)
        arrow2 = MathTex(r"\xrightarrow{\;\cdot W_2 + b_2\;}", font_size=34)
        out_labels = out.label_rows(tokens, 18)
        row2 = VGroup(activation.copy(), arrow2, VGroup(out_labels, out))
        row2.arrange(RIGHT, buff=0.3)
        self.body(row2)
        out_name = MathTex(r"\mathrm{FFN}(x)", font_size=28).next_to(out, DOWN, 0.15)
        self.play(
            FadeOut(x_mob, labels, names[0], arrow, graph),
            Transform(activation, row2[0]),
            names[1].animate.next_to(row2[0], DOWN, 0.15),
            run_time=0.9,
        )
        self.play(
            Write(arrow2),
            TransformFromCopy(activation, out),
            FadeIn(out_labels, out_name),
            *self.caption(
                f"Then back to d_model = {d_model}: FFN(x), one row per token"
            ),
            run_time=1.4,
        )
        self.finish(1.5)

    def activation_graph(self, gelu: bool) -> VGroup:
        axes = Axes(
            x_range=[-2, 2, 1],
            y_range=[-0.5, 2, 1],
            x_length=1.8,
            y_length=1.1,
            tips=False,
            axis_config={"stroke_width": 1.5, "color": MUTED},
        )
        if gelu:
            from scipy.special import erf  # the curve is a guide only

            curve = axes.plot(
                lambda z: z * 0.5 * (1 + erf(z / np.sqrt(2))), color=HIGHLIGHT
            )
        else:
            curve = axes.plot_line_graph(
                [-2, 0, 2], [0, 0, 2], line_color=HIGHLIGHT, add_vertex_dots=False
            )
        return VGroup(axes, curve)
