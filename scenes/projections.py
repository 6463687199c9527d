"""Queries, keys and values: three linear maps of the same rows, split into heads.

Stages: ``{prefix}.q``, ``.k``, ``.v`` of layer 0's self-attention, their input and
the parameters ``w_q``, ``w_k``, ``w_v``. Vaswani et al. 2017, §3.2.2.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from explainer.scenes.arithmetic import worked_dot
from explainer.scenes.common import (
    BODY_BOTTOM,
    HEAD_COLORS,
    HIGHLIGHT,
    TraceScene,
    first_self_attention,
    fit,
    head_blocks,
    shown_indices,
    stack_tokens,
    where,
)
from manim import *

from explainer.i18n import _, ngettext
from explainer.symbolic.render import latex
from explainer.symbolic.symbols import T, d_k, d_model

MAX_HEADS = 2  # heads shown side by side
FONT = 24


def projection_latex(name: str, bias: bool = True) -> str:
    """``Q = X W^Q + b^Q`` (or ``Q = X W^Q`` without a bias) from SymPy matrix
    symbols."""
    x = sp.MatrixSymbol("X", T, d_model)
    w = sp.MatrixSymbol(f"W^{name}", d_model, d_k)
    b = sp.MatrixSymbol(f"b^{name}", T, d_k)
    return latex(sp.Eq(sp.MatrixSymbol(name, T, d_k), x * w + b if bias else x * w))


class QKVProjections(TraceScene):
    """X W^Q = [Q_0 | Q_1 …] (heads counted from 0, as in the report), then the
    same for K and V."""

    def construct(self) -> None:
        trace = self.trace
        prefix = first_self_attention(trace)
        tokens = stack_tokens(trace, prefix.split(".")[0])
        n_heads = trace.config.n_heads
        n_kv = trace[f"{prefix}.k"].shape[0]  # fewer than n_heads: grouped-query
        shown_heads = min(n_heads, MAX_HEADS)
        self.bias = any(np.any(trace[f"{prefix}.b_{n}"]) for n in "qkv")
        lines = [projection_latex(n, self.bias) for n in "QKV"]
        tag = where(trace, prefix) + " · .q / .k / .v"
        head = self.header(_("Queries, keys, values"), lines, tag=tag)
        self.play(FadeIn(head), run_time=0.8)

        x_name = trace.stage(f"{prefix}.q").inputs[0]
        d_in = trace[x_name].shape[-1]
        weights = self.weights(f"{prefix}.w_q")
        x_cols = shown_indices(d_in, 4 if len(weights.cols) <= 6 else 3)
        x_mob = self.matrix(x_name, font_size=FONT, cols=x_cols)
        x_labels = x_mob.label_rows(tokens, 18)
        results = self.heads(f"{prefix}.q", shown_heads)
        dot = MathTex(r"\cdot", font_size=40)
        eq = MathTex("=", font_size=40)
        row = VGroup(VGroup(x_labels, x_mob), dot, weights, eq, results)
        row.arrange(RIGHT, buff=0.18)
        natural = row.width
        fit(row, 13.8, self.body_top - BODY_BOTTOM - 0.5)  # names go under it
        self.factor = row.width / natural  # K's and V's matrices: the same scale
        row.move_to(np.array([0.0, (self.body_top + BODY_BOTTOM + 0.5) / 2, 0.0]))
        names = self.names(x_mob, weights, results, "Q")
        says = (
            _("X = {stage} (after RMSNorm): every row (one token) times W^Q")
            if x_name.endswith("norm1")
            else _("X = {stage}: every row (one token) times W^Q")
        )
        self.play(
            FadeIn(x_mob, x_labels, names[0]),
            *self.caption(says.format(stage=x_name)),
            run_time=0.8,
        )
        self.play(FadeIn(weights, dot, names[1]), run_time=0.8)
        brackets = VGroup(*(r.brackets for r in results))
        self.play(FadeIn(eq, brackets, names[2]), run_time=0.5)

        # One entry worked out, then all of them.
        first = results[0]
        row_box = SurroundingRectangle(x_mob.row(0), color=HIGHLIGHT, buff=0.05)
        col_box = SurroundingRectangle(weights.col(0), color=HIGHLIGHT, buff=0.05)
        self.play(Create(row_box), Create(col_box), run_time=0.5)
        on_screen = VGroup(x_mob, x_labels, names, weights, dot, eq, brackets)
        worked_dot(
            self,
            (x_name, (), 0, False),
            (f"{prefix}.w_q", (), 0, True),
            (f"{prefix}.q", (0, 0, 0)),
            # not Q_{1,1}: Q_1 is head 1's block here (heads counted from 0)
            lhs=r"(X W^Q + b^Q)_{1,1}" if self.bias else r"(X W^Q)_{1,1}",
            names=("x", r"W^Q_{:,1}"),
            words=(tokens[0], ""),
            colors=(WHITE, HEAD_COLORS[0]),
            view=on_screen,
            leaving=VGroup(row_box, col_box),
            froms=(x_mob.row(0), weights.col(0)),
            cell=first.cells[(0, 0)],
            captions=(
                _('One entry: the row of "{token}" times column 1 of {matrix}').format(
                    token=tokens[0], matrix="W^Q"
                ),
                _("Row · column, term by term (plus the bias b)")
                if self.bias
                else _("Row · column, term by term (this model has no bias)"),
            ),
            bias=(f"{prefix}.b_q", (0,)) if self.bias else None,
        )
        rest = [
            VGroup(
                *(m for key, m in r.cells.items() if (r is not first or key != (0, 0)))
            )
            for r in results
        ]
        self.play(
            *(FadeIn(group, lag_ratio=0.02) for group in rest),
            *self.caption(
                _("W^Q's columns in groups of d_k = {d_k}: one per head").format(
                    d_k=trace.config.d_k
                )
            ),
            run_time=1.5,
        )
        for r in results:
            self.assemble(r)
        self.wait(1.0)

        says = {
            "K": _("The same rows times W^K: the keys"),
            "V": _("The same rows times W^V: the values"),
        }
        for name in "KV":
            new_weights = self.weights(f"{prefix}.w_{name.lower()}")
            new_weights.scale(self.factor).move_to(weights)
            new_results = self.heads(f"{prefix}.{name.lower()}", shown_heads)
            new_results.scale(self.factor).move_to(results)
            new_names = self.names(x_mob, new_weights, new_results, name)
            self.play(
                FadeTransform(weights, new_weights),
                FadeTransform(results, new_results),
                FadeTransform(names[1:], new_names[1:]),
                *self.caption(says[name]),
                run_time=1.2,
            )
            weights, results, names = (
                new_weights,
                new_results,
                VGroup(names[0], *new_names[1:]),
            )
            self.wait(1.0)
        if n_kv < n_heads:
            self.say(
                ngettext(
                    "Only {n_kv} key and value head for {n_heads} query heads: it "
                    "serves {r} query heads (grouped-query attention)",
                    "Only {n_kv} key and value heads for {n_heads} query heads: each "
                    "serves {r} query heads (grouped-query attention)",
                    n_kv,
                ).format(n_kv=n_kv, n_heads=n_heads, r=n_heads // n_kv),
                run_time=0.8,
            )
            self.wait(1.5)
        elif n_heads > shown_heads:
            self.say(_("… and so on for all {n} heads").format(n=n_heads))
        self.say(_("Each token now has a query, a key and a value in every head"))
        self.finish()

    def heads(self, stage: str, count: int) -> VGroup:
        group = VGroup()
        for h in range(count):
            d_k = self.trace[stage].shape[-1]
            mob = self.matrix(stage, (h,), font_size=FONT, cols=shown_indices(d_k, 3))
            mob.set_color(HEAD_COLORS[h])
            group.add(mob)
        return group.arrange(RIGHT, buff=0.15)

    def weights(self, stage: str):
        """W of ``stage``, its columns coloured by head (heads 1 and 2 shown first
        when it is too wide)."""
        d_head = self.trace.config.d_k
        d_in, width = self.trace[stage].shape
        weights = self.matrix(
            stage,
            font_size=FONT,
            rows=shown_indices(d_in, 4),
            cols=head_blocks(width, d_head, MAX_HEADS),
        )
        for c in weights.cols:
            if c is not None:
                weights.col(c).set_color(HEAD_COLORS[(c // d_head) % len(HEAD_COLORS)])
        return weights

    def names(self, x_mob, weights, results, name: str) -> VGroup:
        x_name = x_mob.named("X").next_to(x_mob, DOWN, 0.15)
        w_name = weights.named(f"W^{name}").next_to(weights, DOWN, 0.15)
        head_names = VGroup(
            *(
                mob.named(f"{name}_{h}", color=HEAD_COLORS[h]).next_to(mob, DOWN, 0.15)
                for h, mob in enumerate(results)
            )
        )
        return VGroup(x_name, w_name, head_names)
