"""The position-wise feed-forward network: widen to d_ff, activation, back to d_model.

Stages of layer 0: ``{stack}.0.ffn.hidden``, ``.activation`` (ReLU or GELU),
``.out``; or, for SwiGLU (Llama), ``.gate``, ``.up``, ``.activation``
(SiLU(gate) ⊙ up), ``.out``. Vaswani et al. 2017, §3.3, Eq. 2; Hendrycks & Gimpel
2016 (GELU); Shazeer 2020 (SwiGLU).
"""

from __future__ import annotations

import numpy as np
from explainer.scenes.arithmetic import worked_dot
from explainer.scenes.common import (
    HIGHLIGHT,
    MUTED,
    NEGATIVE_COLOR,
    TraceMatrix,
    TraceScene,
    first_stack,
    shape_tex,
    stack_tokens,
    where,
)
from explainer.scenes.ffn_formulas import ffn_lines
from manim import *

from explainer.i18n import _
from explainer.trace import Op

FONT = 22
COLS = 6  # columns shown of a wide matrix (first four, …, last): legible


class FeedForward(TraceScene):
    """x W₁ + b₁ → activation → · W₂ + b₂ (or SiLU(x W_gate) ⊙ x W_up → · W₂), on
    every row separately."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        self.tokens = stack_tokens(trace, stack)
        ffn = f"{stack}.0.ffn"
        op = trace.stage(f"{ffn}.activation").op
        activation = {Op.RELU: "relu", Op.GELU: "gelu", Op.SWIGLU: "swiglu"}[op]
        title = (
            _("SwiGLU feed-forward") if op == Op.SWIGLU else _("Feed-forward network")
        )
        head = self.header(title, ffn_lines(activation), tag=where(trace, f"{ffn}.*"))
        self.play(FadeIn(head), run_time=0.8)
        if op == Op.SWIGLU:
            activated = self.swiglu_phase(ffn)
        else:
            activated = self.activation_phase(ffn, op == Op.GELU)
        self.output_phase(ffn, activated)
        self.finish(1.5)

    def input_row(self, first: str, arrow_tex: str):
        """x (labelled) → ``first``: the widening, shown with its shapes."""
        trace = self.trace
        x_name = trace.stage(first).inputs[0]
        x_mob = self.matrix(x_name, font_size=FONT, max_cols=COLS)
        labels = x_mob.label_rows(self.tokens, 18)
        hidden = self.matrix(first, font_size=FONT, max_cols=COLS)
        arrow = MathTex(arrow_tex, font_size=34)
        row = VGroup(VGroup(labels, x_mob), arrow, hidden).arrange(RIGHT, buff=0.2)
        self.body(row, width=13.5)
        names = VGroup(
            MathTex(rf"x\ \ {shape_tex(x_mob)}", font_size=28),
            MathTex(shape_tex(hidden), font_size=28),
        )
        names[0].next_to(x_mob, DOWN, 0.15)
        names[1].next_to(hidden, DOWN, 0.15)
        self.play(
            FadeIn(x_mob, labels, names[0]),
            *self.caption(_("The same small network is applied to every token's row")),
            run_time=0.9,
        )
        d_model, d_ff = trace[x_name].shape[-1], trace[first].shape[-1]
        self.play(
            Write(arrow),
            FadeIn(hidden.brackets, names[1]),
            *self.caption(
                _("First widen: d_model = {d_model} → d_ff = {d_ff} numbers").format(
                    d_model=d_model, d_ff=d_ff
                )
            ),
            run_time=1.0,
        )
        # Entry (1, 1) worked out lands in its cell; the other entries follow.
        view = VGroup(x_mob, labels, names[0], arrow, hidden.brackets, names[1])
        self.worked(first, view, r"(x W_1 + b_1)_{1,1}", "x", "W_1", hidden)
        self.fill(x_mob, hidden)
        self.x_parts = VGroup(x_mob, labels, names[0], arrow)
        self.hidden_name = names[1]
        return x_mob, hidden

    def worked(
        self,
        stage: str,
        view: Mobject,
        lhs: str,
        a_tex: str,
        w_tex: str,
        result: TraceMatrix,
    ) -> None:
        """Entry (1, 1) of ``stage`` (a linear layer) worked out: the first row of
        its input times column 1 of its weight (+ its bias), which then lands in
        its cell of ``result`` (the matrix of ``stage``, its brackets on screen)."""
        x_name, w_name, b_name = self.trace.stage(stage).inputs[:3]
        bias = bool(np.any(self.trace[b_name]))
        worked_dot(
            self,
            (x_name, (), 0, False),
            (w_name, (), 0, True),
            (stage, (0, 0)),
            lhs=lhs,
            names=(a_tex, rf"({w_tex})_{{:,1}}"),
            words=(self.tokens[0], ""),
            colors=(WHITE, HIGHLIGHT),
            view=view,
            froms=(view[0].row(0), None),
            cell=result.cells[(0, 0)],
            captions=(
                _('One entry: the row of "{token}" times column 1 of {matrix}').format(
                    token=self.tokens[0],
                    matrix={"W_1": "W₁", "W_2": "W₂"}.get(w_tex, w_tex),
                ),
                _("Row · column, term by term (the last term is the bias)")
                if bias
                else _("Row · column, term by term"),
            ),
            bias=(b_name, (0,)) if bias else None,
        )

    def fill(self, source: TraceMatrix, result: TraceMatrix) -> None:
        """The other entries of ``result`` (its entry (1, 1) is on screen), made
        from ``source`` the same way."""
        first = result.cells[(0, 0)]  # the rest: the other cells and the ⋯
        rest = VGroup(*(m for m in result.get_entries() if m is not first))
        self.play(
            TransformFromCopy(source, rest),
            *self.caption(_("Every other entry the same way: a row times a column")),
            run_time=1.2,
        )
        self.assemble(result)
        self.wait(0.6)

    # --- ReLU / GELU -----------------------------------------------------------------

    def activation_phase(self, ffn: str, gelu: bool) -> TraceMatrix:
        _x, hidden = self.input_row(f"{ffn}.hidden", r"\xrightarrow{\;x W_1 + b_1\;}")
        values = self.trace[f"{ffn}.hidden"]
        negative = VGroup(
            *(m for (r, c), m in hidden.cells.items() if values[r, c] < 0)
        )
        graph = self.graph("gelu" if gelu else "relu").next_to(hidden, UP, buff=0.25)
        graph.align_to(hidden, RIGHT)
        caption = (
            _(
                "GELU(z) = z·Φ(z): negative entries shrink towards 0, "
                "large positive ones pass almost unchanged"
            )
            if gelu
            else _("ReLU: negative entries become 0, positive ones pass unchanged")
        )
        self.play(
            FadeIn(graph),
            negative.animate.set_color(NEGATIVE_COLOR),
            *self.caption(caption),
            run_time=1.0,
        )
        activation = self.matrix(
            f"{ffn}.activation", font_size=FONT, max_cols=COLS, h_buff=hidden.h_buff
        )
        activation.align_like(hidden)
        # a: the name the second layer's worked entry reads the row by.
        inner = r"\mathrm{GELU}(x W_1 + b_1)" if gelu else r"\max(0,\, x W_1 + b_1)"
        act_name = activation.named(rf"a = {inner}", font_size=28)
        act_name.next_to(activation, DOWN, 0.15)
        self.play(
            FadeTransform(hidden, activation),
            FadeTransform(self.hidden_name, act_name),
            run_time=1.0,
        )
        self.hidden_name = act_name
        self.wait(1.0)
        self.remove(graph)
        self.x_parts.add(graph)
        return activation

    # --- SwiGLU ----------------------------------------------------------------------

    def swiglu_phase(self, ffn: str) -> TraceMatrix:
        trace = self.trace
        x_name = trace.stage(f"{ffn}.gate").inputs[0]
        x_mob = self.matrix(x_name, font_size=FONT, max_cols=COLS)
        labels = x_mob.label_rows(self.tokens, 18)
        gate = self.matrix(f"{ffn}.gate", font_size=FONT, max_cols=COLS)
        up = self.matrix(f"{ffn}.up", font_size=FONT, max_cols=COLS)
        gate_name = gate.named(r"g = x W_{\mathrm{gate}}", font_size=28)
        up_name = up.named(r"u = x W_{\mathrm{up}}", font_size=28)
        right = VGroup(gate_name, gate, up, up_name).arrange(DOWN, buff=0.1)
        right[2].shift(0.1 * DOWN)
        right[3].next_to(up, DOWN, 0.1)
        arrow = MathTex(r"\longrightarrow", font_size=40)
        x_label = x_mob.named("x", font_size=28)
        left = VGroup(VGroup(labels, x_mob), x_label)
        x_label.next_to(x_mob, DOWN, 0.15)
        self.body(VGroup(left, arrow, right).arrange(RIGHT, buff=0.35))
        self.play(
            FadeIn(left),
            *self.caption(
                _(
                    "The input row of every token ({stage}), "
                    "the same small network for each"
                ).format(stage=x_name)
            ),
            run_time=0.9,
        )
        d_model, d_ff = trace[x_name].shape[-1], trace[f"{ffn}.gate"].shape[-1]
        self.play(
            Write(arrow),
            TransformFromCopy(x_mob, gate),
            TransformFromCopy(x_mob, up),
            FadeIn(gate_name, up_name),
            *self.caption(
                _(
                    "Two projections, d_model = {d_model} → d_ff = {d_ff}: "
                    "a gate g and an up u"
                ).format(d_model=d_model, d_ff=d_ff)
            ),
            run_time=1.4,
        )
        self.wait(1.0)
        values = trace[f"{ffn}.gate"]
        closed = VGroup(*(m for (r, c), m in gate.cells.items() if values[r, c] < 0))
        graph = self.graph("silu").next_to(gate, LEFT, buff=0.2).align_to(gate, UP)
        self.play(
            FadeIn(graph),
            closed.animate.set_color(NEGATIVE_COLOR),
            *self.caption(
                _(
                    "SiLU(g) = g·σ(g) on the gate: near 0 where g < 0 (closed), "
                    "about g where g > 0 (open)"
                )
            ),
            run_time=1.2,
        )
        self.wait(1.0)
        activation = self.matrix(f"{ffn}.activation", font_size=FONT, max_cols=COLS)
        activation.match_height(gate).move_to(VGroup(gate, up))
        act_name = activation.named(r"a = \mathrm{SiLU}(g) \odot u", font_size=28)
        act_name.next_to(activation, DOWN, 0.15)
        self.play(
            FadeTransform(VGroup(gate, up), activation),
            FadeTransform(VGroup(up_name, gate_name), act_name),
            FadeOut(graph),
            *self.caption(_("… times u, entry by entry (⊙): the gated hidden row")),
            run_time=1.2,
        )
        self.wait(1.0)
        self.x_parts = VGroup(left, arrow)
        self.hidden_name = act_name
        return activation

    # --- back to d_model -------------------------------------------------------------

    def output_phase(self, ffn: str, activation: TraceMatrix) -> None:
        out = self.matrix(f"{ffn}.out", font_size=FONT, max_cols=COLS)
        bias = bool(np.any(self.trace[f"{ffn}.b_2"]))
        w2 = r"\cdot W_2 + b_2" if bias else r"\cdot W_2"
        arrow = MathTex(rf"\xrightarrow{{\;{w2}\;}}", font_size=34)
        out_labels = out.label_rows(self.tokens, 18)
        row = VGroup(activation.copy(), arrow, VGroup(out_labels, out))
        row.arrange(RIGHT, buff=0.3)
        self.body(row, width=13.5)
        out_name = out.named(r"\mathrm{FFN}(x)", font_size=28).next_to(out, DOWN, 0.15)
        d_model = self.trace[f"{ffn}.out"].shape[-1]
        self.play(
            FadeOut(self.x_parts),
            Transform(activation, row[0]),
            self.hidden_name.animate.next_to(row[0], DOWN, 0.15),
            Write(arrow),
            FadeIn(out.brackets, out_labels, out_name),
            *self.caption(
                _("Then back to d_model = {d_model}: FFN(x), one row per token").format(
                    d_model=d_model
                )
            ),
            run_time=1.2,
        )
        view = VGroup(
            activation, self.hidden_name, arrow, out.brackets, out_labels, out_name
        )
        self.worked(f"{ffn}.out", view, r"\mathrm{FFN}(x)_{1,1}", "a", "W_2", out)
        self.fill(activation, out)

    def graph(self, kind: str) -> VGroup:
        """A small plot of the activation (a guide only, not trace numbers)."""
        axes = Axes(
            x_range=[-2, 2, 1],
            y_range=[-0.5, 2, 1],
            x_length=1.8,
            y_length=1.1,
            tips=False,
            axis_config={"stroke_width": 1.5, "color": MUTED},
        )
        if kind == "gelu":
            from scipy.special import erf

            curve = axes.plot(
                lambda z: z * 0.5 * (1 + erf(z / np.sqrt(2))), color=HIGHLIGHT
            )
        elif kind == "silu":
            curve = axes.plot(lambda z: z / (1 + np.exp(-z)), color=HIGHLIGHT)
        else:
            curve = axes.plot_line_graph(
                [-2, 0, 2], [0, 0, 2], line_color=HIGHLIGHT, add_vertex_dots=False
            )
        return VGroup(axes, curve)
