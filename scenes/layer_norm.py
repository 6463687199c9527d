"""Residual connection and layer normalisation (the "Add & Norm" box).

Stages of layer 0's first sub-layer: ``{stack}.0.residual1`` (x + Sublayer(x)) and
``{stack}.0.norm1``. Vaswani et al. 2017, §3.1; Ba et al. 2016.
The row mean and variance are worked out on screen to explain the normalisation;
the normalised numbers shown are the trace's.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    HIGHLIGHT,
    MUTED,
    TraceMatrix,
    TraceScene,
    first_stack,
    stack_tokens,
    word,
)
from manim import *

from explainer.symbolic import get_derivation
from explainer.symbolic.layer_norm import mean, mu, sigma2
from explainer.symbolic.residual import post_norm, pre_norm
from explainer.symbolic.symbols import k, n, x

FONT = 22


def statistics_latex() -> str:
    """μ = (1/n) Σ x_k and σ² = (1/n) Σ (x_k − μ)², from SymPy."""
    variance = sp.Sum((x[k] - mu) ** 2, (k, 0, n - 1)) / n
    return (
        rf"{sp.latex(sp.Eq(mu, mean(x, n)))},\quad {sp.latex(sp.Eq(sigma2, variance))}"
    )


class ResidualLayerNorm(TraceScene):
    """x + Sublayer(x), then each row rescaled to mean 0 and variance 1."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        tokens = stack_tokens(trace, stack)
        residual = f"{stack}.0.residual1"
        norm = f"{stack}.0.norm1"
        post = trace.config.norm == "post"
        z = sp.Symbol("x")
        lines = [
            rf"\mathrm{{{trace.config.norm}\text{{-}}LN}}: "
            + sp.latex(post_norm(z) if post else pre_norm(z)),
            sp.latex(get_derivation("layer-norm").formula),
            statistics_latex(),
        ]
        head = self.header("Add & norm", lines, tag=f"{residual} · {norm}")
        self.play(FadeIn(head), run_time=0.8)

        if post:
            shown = self.residual_phase(residual, tokens)
            self.play(FadeOut(shown), run_time=0.5)
            self.norm_phase(norm, residual, tokens)
        else:
            shown = self.norm_phase(norm, trace.stage(norm).inputs[0], tokens)
            self.play(FadeOut(shown), run_time=0.5)
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
        names = VGroup(
            MathTex("x", font_size=30).next_to(x_mob, DOWN, 0.15),
            MathTex(r"\mathrm{Sublayer}(x)", font_size=30).next_to(sub_mob, DOWN, 0.15),
        )
        self.play(
            FadeIn(row, names),
            *self.caption("Residual: the sub-layer's output is added to its own input"),
            run_time=1.0,
        )
        self.wait(1.0)
        total = self.matrix(residual, font_size=FONT).align_like(x_mob)
        total_labels = total.label_rows(tokens, 18)
        self.residual_mob = VGroup(total_labels, total)
        self.body(self.residual_mob)
        name = MathTex(r"x + \mathrm{Sublayer}(x)", font_size=30)
        name.next_to(total, DOWN, 0.15)
        self.play(
            FadeTransform(VGroup(x_mob, sub_mob, plus), total),
            FadeTransform(labels, total_labels),
            FadeTransform(names, name),
            run_time=1.2,
        )
        self.wait(1.0)
        return VGroup(self.residual_mob, name)

    def norm_phase(self, norm: str, source: str, tokens) -> VGroup:
        trace = self.trace
        row_in = trace[source][0]
        gamma = trace[f"{norm}.gamma"]
        beta = trace[f"{norm}.beta"]
        before = self.matrix(source, rows=[0], font_size=26)
        after = self.matrix(norm, rows=[0], font_size=26, h_buff=before.h_buff)
        rows = VGroup(before, after).arrange(DOWN, buff=1.7, aligned_edge=LEFT)
        token = word(tokens[0], 24, MUTED).next_to(before, LEFT, 0.3)
        mu_value = float(np.mean(row_in))  # shown to explain LN, not a stage
        var_value = float(np.var(row_in))
        stats = MathTex(
            rf"\mu = {mu_value:.2f},\quad \sigma^2 = {var_value:.2f}", font_size=34
        )
        stats.next_to(before, RIGHT, buff=0.6)
        self.body(VGroup(rows, token, stats), shift=0.35 * UP)
        self.play(
            FadeIn(before, token),
            *self.caption(
                f'Layer norm works on each row alone: the row of "{tokens[0]}"'
            ),
            run_time=0.9,
        )
        bars_in = self.bars(before, row_in)
        self.play(FadeIn(bars_in), run_time=0.6)
        self.play(
            FadeIn(stats),
            *self.caption("Its mean μ and variance σ² over the d_model entries"),
            run_time=0.9,
        )
        self.wait(1.0)
        plain = np.allclose(gamma, 1) and np.allclose(beta, 0)
        self.play(
            TransformFromCopy(before, after),
            *self.caption(
                "Subtract μ, divide by √(σ² + ε): mean 0, variance 1"
                + (" (γ = 1, β = 0 before training)" if plain else ", then × γ + β")
            ),
            run_time=1.3,
        )
        bars_out = self.bars(after, trace[norm][0])
        self.play(FadeIn(bars_out), run_time=0.6)
        self.wait(1.2)
        everything = self.matrix(norm, font_size=FONT)
        labels = everything.label_rows(tokens, 18)
        group = VGroup(labels, everything)
        self.body(group)
        name = MathTex(r"\mathrm{LayerNorm}", font_size=30).next_to(
            everything, DOWN, 0.15
        )
        self.play(
            FadeOut(before, token, stats, bars_out, bars_in),
            FadeTransform(after, everything),
            FadeIn(labels, name),
            *self.caption("The same for every token: the output of Add & Norm"),
            run_time=1.2,
        )
        self.wait(0.8)
        return VGroup(group, name)

    def bars(self, row: TraceMatrix, values: np.ndarray) -> VGroup:
        """Bars under the cells of a one-row matrix (up for +, down for −)."""
        peak = float(np.max(np.abs(values))) or 1.0
        base = row.get_bottom()[1] - 0.65
        bars = VGroup(
            Line(
                [row.get_left()[0], base, 0],
                [row.get_right()[0], base, 0],
                stroke_width=1,
                color=MUTED,
            )
        )
        for (_, c), cell in row.cells.items():
            height = 0.5 * abs(float(values[c])) / peak
            bar = Rectangle(
                width=0.25,
                height=max(height, 0.01),
                stroke_width=0,
                fill_color=BLUE_D if values[c] >= 0 else HIGHLIGHT,
                fill_opacity=0.9,
            )
            bar.move_to(
                [cell.get_x(), base, 0], aligned_edge=DOWN if values[c] >= 0 else UP
            )
            bars.add(bar)
        return bars
