"""Residual connection and layer normalisation (the "Add & Norm" box).

Stages of layer 0's first sub-layer: ``{stack}.0.residual1`` (x + Sublayer(x)) and
``{stack}.0.norm1``. Vaswani et al. 2017, §3.1; Ba et al. 2016. A model whose
``norm1`` is RMSNorm (Llama) is shown with RMSNorm: no mean subtracted, no β
(Zhang & Sennrich 2019).
The row statistics (μ and σ², or the root mean square) are worked out on screen to
explain the normalisation; the normalised numbers shown are the trace's.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    HIGHLIGHT,
    MUTED,
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    TraceMatrix,
    TraceScene,
    first_stack,
    stack_tokens,
    where,
    word,
)
from manim import *

from explainer.i18n import _
from explainer.symbolic import get_derivation
from explainer.symbolic.layer_norm import mean, mu, sigma2
from explainer.symbolic.render import latex
from explainer.symbolic.residual import LayerNorm, post_norm, pre_norm
from explainer.symbolic.rms_norm import rms
from explainer.symbolic.symbols import eps, k, n, x
from explainer.trace import Op

FONT = 22
RMSNorm = sp.Function(r"\mathrm{RMSNorm}")  # "RMSNorm" would print as ‖RMS‖


def statistics_latex() -> str:
    """μ = (1/n) Σ x_k and σ² = (1/n) Σ (x_k − μ)², from SymPy."""
    variance = sp.Sum((x[k] - mu) ** 2, (k, 0, n - 1)) / n
    return rf"{latex(sp.Eq(mu, mean(x, n)))},\quad {latex(sp.Eq(sigma2, variance))}"


def rms_latex() -> str:
    """RMS(x) = √((1/n) Σ x_k² + ε), from SymPy."""
    return latex(sp.Eq(sp.Function("RMS")(sp.Symbol("x")), rms(x, n, eps)))


def residual_latex(post: bool, rms_norm: bool) -> str:
    """post-LN: LN(x + Sublayer(x)); pre-LN: x + Sublayer(LN(x)), with RMSNorm in
    place of LN when the model uses it."""
    z = sp.Symbol("x")
    expr = post_norm(z) if post else pre_norm(z)
    if rms_norm:
        expr = expr.replace(LayerNorm, RMSNorm)
    label = "post" if post else "pre"
    return rf"\mathrm{{{label}\text{{-}}norm}}: " + latex(expr)


class ResidualLayerNorm(TraceScene):
    """x + Sublayer(x), then each row rescaled (mean 0 and variance 1 for LayerNorm,
    root mean square 1 for RMSNorm)."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        tokens = stack_tokens(trace, stack)
        residual = f"{stack}.0.residual1"
        norm = f"{stack}.0.norm1"
        post = trace.config.norm == "post"
        self.rms = trace.stage(norm).op == Op.RMS_NORM
        self.post = post
        lines = [residual_latex(post, self.rms)]
        if self.rms:
            lines += [latex(get_derivation("rms-norm").formula), rms_latex()]
        else:
            lines += [
                latex(get_derivation("layer-norm").formula),
                statistics_latex(),
            ]
        title = _("Add & RMSNorm") if self.rms else _("Add & Norm")
        tag = f"{where(trace, residual)} · {norm}"
        head = self.header(title, lines, tag=tag)
        self.play(FadeIn(head), run_time=0.8)

        if post:
            shown = self.residual_phase(residual, tokens)
            self.clear(shown)
            self.norm_phase(norm, residual, tokens)
        else:
            shown = self.norm_phase(norm, trace.stage(norm).inputs[0], tokens)
            self.clear(shown)
            self.residual_phase(residual, tokens)
        self.finish(1.2)

    def residual_phase(self, residual: str, tokens) -> VGroup:
        x_name, sub_name = self.trace.stage(residual).inputs
        x_mob = self.matrix(x_name, font_size=FONT)
        sub_mob = self.matrix(sub_name, font_size=FONT)
        plus = MathTex("+", font_size=40)
        labels = x_mob.label_rows(tokens, 18)
        row = VGroup(VGroup(labels, x_mob), plus, sub_mob).arrange(RIGHT, buff=0.35)
        self.body(row)
        norm = r"\mathrm{RMSNorm}" if self.rms else r"\mathrm{LN}"
        inner = "x" if self.post else rf"{norm}(x)"
        names = VGroup(
            x_mob.named("x").next_to(x_mob, DOWN, 0.15),
            sub_mob.named(rf"\mathrm{{Sublayer}}({inner})").next_to(
                sub_mob, DOWN, 0.15
            ),
        )
        self.play(
            FadeIn(row, names),
            *self.caption(
                _("Residual: the sub-layer's output is added to its own input")
                if self.post
                else _(
                    "Residual: the sub-layer's output is added to its own input"
                    " (pre-norm: the sub-layer read the norm)"
                )
            ),
            run_time=1.0,
        )
        self.update_phase(
            residual, tokens, VGroup(row, names), x_mob, sub_mob, names[1]
        )
        total = self.matrix(residual, font_size=FONT).align_like(x_mob)
        total_labels = total.label_rows(tokens, 18)
        self.residual_mob = VGroup(total_labels, total)
        self.body(self.residual_mob)
        name = MathTex(rf"x + \mathrm{{Sublayer}}({inner})", font_size=30)
        name.next_to(total, DOWN, 0.15)
        self.play(
            FadeTransform(VGroup(x_mob, sub_mob, plus), total),
            FadeTransform(labels, total_labels),
            FadeTransform(names, name),
            run_time=1.2,
        )
        self.wait(1.0)
        return VGroup(self.residual_mob, name)

    def update_phase(
        self, residual: str, tokens, view, x_mob, sub_mob, sub_name
    ) -> None:
        """One token's vector updated: its row x, the sub-layer's row added, the
        new row; bars show each entry moving from x to x + Sublayer(x)."""
        x_name, s_name = self.trace.stage(residual).inputs
        cols = list(x_mob.cols)
        rows = [
            self.matrix(stage, rows=[0], cols=cols, font_size=26)
            for stage in (x_name, s_name, residual)
        ]
        rows[0].set_color(MUTED)
        rows[1].set_color(HIGHLIGHT)
        for mob in rows[1:]:
            mob.align_to(rows[0], LEFT)
        stack = VGroup(*rows).arrange(DOWN, buff=0.25, aligned_edge=LEFT)
        signs = VGroup(
            MathTex("x", font_size=34, color=MUTED),
            MathTex(r"+\ \mathrm{Sublayer}", font_size=34, color=HIGHLIGHT),
            MathTex(r"= x + \mathrm{Sublayer}", font_size=34),
        )
        for sign_mob, mob in zip(signs, rows, strict=True):
            sign_mob.next_to(mob, LEFT, buff=0.3)
        token = word(tokens[0], 24, MUTED).next_to(signs, UP, buff=0.3)
        token.align_to(signs, LEFT)
        # Bars: each entry of x (muted), and an arrow to its new value.
        x_values = np.asarray(self.trace[x_name])[0]
        new_values = np.asarray(self.trace[residual])[0]
        shown = [c for c in cols if c is not None]
        peak = (
            float(np.max(np.abs(np.concatenate([x_values[shown], new_values[shown]]))))
            or 1.0
        )
        base = stack.get_bottom()[1] - 1.0
        unit = 0.8 / peak
        bars, arrows = VGroup(), VGroup()
        for c in shown:
            x_pos = rows[2].cells[(0, c)].get_x() - 0.1  # bar left, arrow right
            x_top = base + unit * float(x_values[c])
            bars.add(
                Line([x_pos, base, 0], [x_pos, x_top, 0], color=MUTED, stroke_width=10)
            )
            arrows.add(
                Arrow(
                    [x_pos + 0.2, x_top, 0],
                    [x_pos + 0.2, base + unit * float(new_values[c]), 0],
                    buff=0,
                    color=HIGHLIGHT,
                    stroke_width=4,
                    max_tip_length_to_length_ratio=0.5,
                    tip_length=0.12,
                )
            )
        axis = Line(
            [bars.get_left()[0] - 0.3, base, 0],
            [bars.get_right()[0] + 0.3, base, 0],
            color=GRAY_D,
            stroke_width=1,
        )
        panel = VGroup(token, signs, stack, axis, bars, arrows)
        self.body(panel)
        self.play(
            FadeOut(view),
            TransformFromCopy(x_mob.row(0), rows[0]),
            FadeIn(token, signs[0], axis, bars),
            *self.caption(
                _('One token, "{token}": its vector x as bars').format(token=tokens[0])
            ),
            run_time=1.0,
        )
        self.play(
            TransformFromCopy(sub_mob.row(0), rows[1]),
            FadeIn(signs[1]),
            *self.caption(
                _("The sub-layer's output is an update, added entry by entry")
            ),
            run_time=1.0,
        )
        self.play(
            TransformFromCopy(VGroup(rows[0], rows[1]), rows[2]),
            FadeIn(signs[2]),
            GrowArrow(arrows[0])
            if len(arrows) == 1
            else LaggedStart(*(GrowArrow(a) for a in arrows), lag_ratio=0.1),
            run_time=1.2,
        )
        self.wait(0.5)
        self.play(FadeOut(panel), FadeIn(view), run_time=0.8)

    def norm_phase(self, norm: str, source: str, tokens) -> VGroup:
        trace = self.trace
        row_in = trace[source][0]
        width = row_in.shape[-1]
        before = self.matrix(source, rows=[0], font_size=26)
        after = self.matrix(norm, rows=[0], font_size=26, h_buff=before.h_buff)
        rows = VGroup(before, after).arrange(DOWN, buff=1.7, aligned_edge=LEFT)
        token = word(tokens[0], 24, MUTED).next_to(before, LEFT, 0.3)
        # Shown to explain the normalisation, not a stage.
        if self.rms:
            rms_value = float(np.sqrt(np.mean(np.square(row_in, dtype=float))))
            stats = MathTex(rf"\mathrm{{RMS}} = {rms_value:.2f}", font_size=34)
        else:
            mu_value = float(np.mean(row_in, dtype=float))
            var_value = float(np.var(row_in, dtype=float))
            stats = MathTex(
                rf"\mu = {mu_value:.2f},\quad \sigma^2 = {var_value:.2f}", font_size=34
            )
        stats.next_to(before, RIGHT, buff=0.6)
        # The normalised row's name, where the token names the row above.
        norm_tex = r"\mathrm{RMSNorm}" if self.rms else r"\mathrm{LayerNorm}"
        after_name = MathTex(norm_tex, font_size=28).next_to(after, LEFT, 0.3)
        self.body(VGroup(rows, token, stats, after_name), shift=0.35 * UP)
        says = (
            _('RMSNorm works on each row alone: the row of "{token}"')
            if self.rms
            else _('Layer norm works on each row alone: the row of "{token}"')
        )
        self.play(
            FadeIn(before, token),
            *self.caption(says.format(token=tokens[0])),
            run_time=0.9,
        )
        bars_in = self.bars(before, row_in)
        self.play(FadeIn(bars_in), run_time=0.6)
        says = (
            _("Its root mean square over the d_model = {n} entries")
            if self.rms
            else _("Its mean μ and variance σ² over the d_model = {n} entries")
        )
        self.play(
            FadeIn(stats),
            *self.caption(says.format(n=width)),
            run_time=0.9,
        )
        self.wait(1.0)
        self.play(
            TransformFromCopy(before, after),
            FadeIn(after_name),
            *self.caption(self.rescale_caption(norm)),
            run_time=1.3,
        )
        bars_out = self.bars(after, trace[norm][0])
        self.play(FadeIn(bars_out), run_time=0.6)
        self.wait(1.2)
        everything = self.matrix(norm, font_size=FONT)
        labels = everything.label_rows(tokens, 18)
        group = VGroup(labels, everything)
        self.body(group)
        name = everything.named(norm_tex).next_to(everything, DOWN, 0.15)
        self.play(
            FadeOut(before, token, stats, bars_out, bars_in, after_name),
            FadeTransform(after, everything),
            FadeIn(labels, name),
            *self.caption(
                _("The same for every token: Add & Norm's output")
                if self.post
                else _("The same for every token: the input of the sub-layer")
            ),
            run_time=1.2,
        )
        self.wait(0.8)
        return VGroup(group, name)

    def rescale_caption(self, norm: str) -> str:
        gamma = self.trace[f"{norm}.gamma"]
        if self.rms:
            plain = np.allclose(gamma, 1)
            if plain:
                return _("Divide by the RMS, no mean subtracted (γ = 1)")
            return _("Divide by the RMS, no mean subtracted, then × γ (no β)")
        beta = self.trace[f"{norm}.beta"]
        plain = np.allclose(gamma, 1) and np.allclose(beta, 0)
        if plain:
            return _(
                "Subtract μ, divide by √(σ² + ε): mean 0, variance 1"
                " (γ = 1, β = 0 before training)"
            )
        return _("Subtract μ, divide by √(σ² + ε): mean 0, variance 1, then × γ + β")

    def bars(self, row: TraceMatrix, values: np.ndarray) -> VGroup:
        """Bars under the shown cells of a one-row matrix (up for +, down for −),
        scaled to the largest shown value."""
        shown = [abs(float(values[c])) for (_row, c) in row.cells]
        peak = max(shown, default=0.0) or 1.0
        base = row.get_bottom()[1] - 0.65
        bars = VGroup(
            Line(
                [row.get_left()[0], base, 0],
                [row.get_right()[0], base, 0],
                stroke_width=1,
                color=MUTED,
            )
        )
        for (_row, c), cell in row.cells.items():
            height = 0.5 * abs(float(values[c])) / peak
            bar = Rectangle(
                width=0.25,
                height=max(height, 0.01),
                stroke_width=0,
                fill_color=POSITIVE_COLOR if values[c] >= 0 else NEGATIVE_COLOR,
                fill_opacity=0.9,
            )
            bar.move_to(
                [cell.get_x(), base, 0], aligned_edge=DOWN if values[c] >= 0 else UP
            )
            bars.add(bar)
        return bars
