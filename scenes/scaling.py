"""Why attention divides by √d_k: softmax of unscaled scores is nearly one-hot.

A closed-form demo, not the trace: a query and five keys of d_k = 64 independent
numbers of mean 0 and variance 1 (fixed seed). Their dot products have variance
d_k, so they spread about ±√d_k = ±8; softmax of such scores gives one key almost
all the weight. Divided by √d_k they have variance 1, and the weights spread out.
Vaswani et al. 2017, §3.2.1 and footnote 4.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    HIGHLIGHT,
    K_COLOR,
    MUTED,
    Q_COLOR,
    WEIGHT_COLOR,
    TraceMatrix,
    TraceScene,
    first_self_attention,
    text,
)
from explainer.scenes.model_map import Place
from manim import *

from explainer.i18n import _
from explainer.symbolic.attention import scaled_scores
from explainer.symbolic.render import latex
from explainer.symbolic.symbols import T_k, T_q, d_k

D_K = 64  # the width of the demo's query and keys
KEYS = 5
SEED = 1  # one-hot unscaled (max weight 0.99), spread scaled (max 0.43)
FONT = 24


def demo_scores(seed: int = SEED) -> np.ndarray:
    """q · k_j for a query and KEYS keys of D_K standard-normal numbers."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(D_K)
    keys = rng.standard_normal((KEYS, D_K))
    return keys @ q  # (KEYS,)


def softmax(row: np.ndarray) -> np.ndarray:
    """exp(s_j − max s) / Σ exp(s_k − max s)."""
    e = np.exp(row - row.max())
    return e / e.sum()


def scaling_lines() -> list[str]:
    """S = QKᵀ/√d_k and Var(q · k) = d_k, from SymPy."""
    Q = sp.MatrixSymbol("Q", T_q, d_k)
    K = sp.MatrixSymbol("K", T_k, d_k)
    variance = sp.Function("Var")(sp.Symbol(r"q \cdot k"))
    return [
        latex(sp.Eq(sp.MatrixSymbol("S", T_q, T_k), scaled_scores(Q, K))),
        latex(sp.Eq(variance, d_k)),
    ]


class ScaledScores(TraceScene):
    """Unscaled scores → one-hot softmax; scaled by 1/√d_k → spread weights."""

    def construct(self) -> None:
        # a demo, but of the first self-attention: lit on the corner map
        stack = first_self_attention(self.trace).split(".")[0]
        self.map_place = Place(stack, 0, "self_attn")
        head = self.header(
            _("Why divide by √d_k"),
            scaling_lines(),
            tag=_("a demo: random numbers, not the trace"),
        )
        self.play(FadeIn(head), run_time=0.8)
        scores = demo_scores()
        scaled = scores / math.sqrt(D_K)
        self.demo = {
            "scores": scores,
            "scaled": scaled,
            "weights": softmax(scores),
            "scaled_weights": softmax(scaled),
        }
        left = self.case(scores, "", _("unscaled"))
        right = self.case(scaled, r"/ \sqrt{d_k}", _("scaled"))
        board = VGroup(left, right).arrange(RIGHT, buff=1.0, aligned_edge=UP)
        self.body(board)
        self.play(
            FadeIn(left.name, left.scores),
            *self.caption(
                _(
                    "A query and {n} keys, each d_k = {d} random numbers "
                    "(mean 0, variance 1)"
                ).format(n=KEYS, d=D_K)
            ),
            run_time=1.0,
        )
        self.play(
            Indicate(left.scores, color=HIGHLIGHT),
            *self.caption(
                _(
                    "Their dot products have variance d_k = {d}: "
                    "scores spread about ±√{d} = ±{root}"
                ).format(d=D_K, root=math.isqrt(D_K))
            ),
            run_time=1.0,
        )
        self.softmax(
            left,
            _(
                "softmax of such scores is nearly one-hot: one key "
                "takes it all, the others get almost no gradient"
            ),
        )
        self.play(
            FadeIn(right.name),
            TransformFromCopy(left.scores, right.scores),
            *self.caption(
                _("Divide by √d_k = {root}: the scores have variance 1").format(
                    root=math.isqrt(D_K)
                )
            ),
            run_time=1.2,
        )
        self.softmax(right, _("Now softmax spreads the weight over several keys"))
        self.finish(1.5)

    def case(self, values: np.ndarray, tex: str, what: str) -> VGroup:
        """Scores, softmax, weights with bars, under a name."""
        scores = TraceMatrix(values[None, :], font_size=FONT)  # scores: white, as
        # in attention; q and k in their colours in the name
        weights = TraceMatrix(softmax(values)[None, :], font_size=FONT)
        weights.set_color(WEIGHT_COLOR)
        arrow = MathTex(r"\downarrow \ \mathrm{softmax}", font_size=30)
        dot = MathTex("q", r"\cdot", "k_j", *([tex] if tex else []), font_size=32)
        dot[0].set_color(Q_COLOR)
        dot[2].set_color(K_COLOR)
        name = VGroup(text(what, 22, MUTED), dot).arrange(RIGHT, buff=0.3)
        case = VGroup(name, scores, arrow, weights).arrange(DOWN, buff=0.3)
        bars = VGroup()
        base = weights.get_bottom()[1] - 0.15
        for (_row, c), cell in weights.cells.items():
            w = float(weights.values[0, c])
            bars.add(
                Rectangle(
                    width=0.4,
                    height=max(1.1 * w, 0.02),
                    stroke_width=0,
                    fill_color=WEIGHT_COLOR,
                    fill_opacity=0.9,
                ).move_to([cell.get_x(), base, 0], aligned_edge=UP)
            )
        case.add(bars)
        case.name, case.scores, case.arrow = name, scores, arrow
        case.weights, case.bars = weights, bars
        return case

    def softmax(self, case: VGroup, caption: str) -> None:
        self.play(
            FadeIn(case.arrow),
            TransformFromCopy(case.scores, case.weights),
            *(GrowFromEdge(bar, UP) for bar in case.bars),  # each under its cell
            *self.caption(caption),
            run_time=1.2,
        )
