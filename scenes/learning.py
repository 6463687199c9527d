"""Watch it learn: the demo pair's cross-attention at each training checkpoint,
beside the loss curve.

Reads :func:`explainer.train.learning.shipped_learning` of the trace: the shipped
weights that made it (the default preset), their checkpoints' forward passes on
"when you play game of thrones" → "当 你 玩 权力 的 游戏", and the loss of every
step. Decoder layer 1's cross-attention, the head taught the alignment table
(guided alignment, Garg et al. 2019).
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    HIGHLIGHT,
    MUTED,
    TraceMatrix,
    TraceScene,
    text,
    word,
)
from manim import *

from explainer.i18n import _, ngettext
from explainer.symbolic.backward_cross_entropy import cross_entropy
from explainer.symbolic.render import latex
from explainer.train.learning import Learning, shipped_learning

FONT = 24


def check_learning(found: Learning | None) -> Learning:
    if found is None:
        raise ValueError(
            _(
                "this trace was not made with the shipped trained weights of the "
                "default preset; use --preset default"
            )
        )
    return found


def log_range(learning: Learning) -> tuple[int, int]:
    """The powers of ten below and above every loss."""
    logs = [math.log10(x) for x in learning.losses]
    return math.floor(min(logs)), math.ceil(max(logs))


def loss_axes(learning: Learning) -> tuple[Axes, VGroup]:
    """Axes of step (0 … steps) against log₁₀ loss, counted from the lowest power
    of ten (so that the step axis lies at the bottom), and their labels."""
    low, high = log_range(learning)
    axes = Axes(
        x_range=[0, learning.steps, 100],
        y_range=[0, high - low, 1],
        x_length=5.2,
        y_length=3.4,
        tips=False,
        axis_config={"color": MUTED, "include_ticks": True},
    )
    labels = VGroup()
    for power in range(low, high + 1):
        tag = text(_power(power), 18, MUTED)
        labels.add(tag.next_to(axes.c2p(0, power - low), LEFT, buff=0.15))
    for step in range(0, learning.steps + 1, 100):
        labels.add(text(str(step), 18, MUTED).next_to(axes.c2p(step, 0), DOWN, 0.15))
    labels.add(text(_("step"), 18, MUTED).next_to(axes.x_axis, DOWN, buff=0.5))
    labels.add(text(_("loss"), 18, MUTED).next_to(axes.y_axis, UP, buff=0.15))
    return axes, labels


def _power(power: int) -> str:
    """A power of ten as the axis says it, in one convention (no 1e-3 beside 0.01).

    >>> [_power(k) for k in (-3, -1, 0, 2)], _power(-7), _power(6)
    (['0.001', '0.1', '1', '100'], '1e-7', '1e6')
    """
    if -4 <= power < 0:
        return f"{10.0**power:.{-power}f}"
    if 0 <= power <= 4:
        return str(10**power)
    return f"1e{power}"


class WatchItLearn(TraceScene):
    """The loss falls and one head's attention moves onto the aligned words."""

    def construct(self) -> None:
        learning = check_learning(shipped_learning(self.trace))
        self.grids: list[tuple[int, np.ndarray]] = []  # (step, weights) shown
        head_no = learning.head
        tag = _("{stage} · head {head} · checkpoints").format(
            stage=f"decoder.{learning.layer}.cross_attn", head=head_no
        )
        y, p = sp.IndexedBase("y"), sp.IndexedBase("p")
        loss = sp.Eq(sp.Symbol("L"), cross_entropy(y, p, sp.Symbol("V")))
        head = self.header(_("Watch it learn"), latex(loss), tag=tag)
        self.play(FadeIn(head), run_time=0.8)

        axes, axis_labels = loss_axes(learning)
        first = learning.snapshots[0]
        grid = self._grid(learning, first)
        labels = VGroup(
            grid.label_rows(learning.rows, 20), grid.label_cols(learning.source, 18)
        )
        heat = grid.heat(peak=1.0)
        right = VGroup(heat, grid, labels)
        left = VGroup(axes, axis_labels)
        layout = VGroup(left, right).arrange(RIGHT, buff=1.0)
        self.body(layout, shift=0.2 * UP)  # room for a two-line caption below
        heat.move_to(grid)
        low = log_range(learning)[0]
        curve = VMobject(color=HIGHLIGHT, stroke_width=3).set_points_as_corners(
            [axes.c2p(t, math.log10(x) - low) for t, x in enumerate(learning.losses)]
        )
        self.play(
            Create(axes),
            FadeIn(axis_labels),
            *self.caption(
                _("The training loss, step by step: it falls as Adam learns")
            ),
            run_time=1.0,
        )
        self.play(Create(curve), run_time=1.6)
        self.play(
            FadeIn(heat, grid, labels),
            *self.caption(
                _(
                    "Cross-attention of the demo pair: which English word each "
                    "Chinese word looks at"
                )
            ),
            run_time=1.0,
        )
        boxes = self._aligned(learning, grid, heat)
        self.play(
            Create(boxes),
            *self.caption(_("Boxed: the English word each Chinese word translates")),
            run_time=0.8,
        )
        dot = Dot(self._point(axes, learning, first), color=HIGHLIGHT, radius=0.09)
        status = self._status(learning, first).next_to(grid, DOWN, buff=0.25)
        self.play(FadeIn(dot, status), run_time=0.5)
        self.wait(0.8)
        for snap in learning.snapshots[1:]:
            new_grid = self._grid(learning, snap).align_like(grid)
            new_heat = new_grid.heat(peak=1.0)
            new_status = self._status(learning, snap).move_to(status)
            self.play(
                dot.animate.move_to(self._point(axes, learning, snap)),
                Transform(grid, new_grid),
                Transform(heat, new_heat),
                Transform(status, new_status),
                *self.caption(self._says(learning, snap)),
                run_time=1.4,
            )
            self.wait(0.8)
        self.play(
            *self.caption(
                _(
                    "Honestly: head {head} was taught the alignment table "
                    "(guided alignment); it did not find it alone"
                ).format(head=head_no)
            ),
            run_time=0.6,
        )
        self.finish(1.5)

    def _grid(self, learning: Learning, snap) -> TraceMatrix:
        self.grids.append((snap.step, snap.weights[learning.head]))
        return TraceMatrix(
            snap.weights[learning.head], font_size=FONT, max_rows=8, max_cols=8
        )

    def _aligned(self, learning: Learning, grid: TraceMatrix, heat: VGroup) -> VGroup:
        """A box on each cell the alignment table links (the right words)."""
        squares = dict(zip(grid.cells, heat, strict=True))
        boxes = VGroup()
        for row, linked in enumerate(learning.aligned[: len(learning.rows) - 1]):
            for col in linked:
                if (row, col) in squares:
                    boxes.add(
                        SurroundingRectangle(
                            squares[(row, col)], color=HIGHLIGHT, buff=0, stroke_width=2
                        )
                    )
        return boxes

    def _point(self, axes: Axes, learning: Learning, snap) -> np.ndarray:
        step = min(snap.step, len(learning.losses) - 1)
        low = log_range(learning)[0]
        return axes.c2p(step, math.log10(learning.losses[step]) - low)

    def _status(self, learning: Learning, snap) -> VMobject:
        hits = sum(learning.hits(snap))
        loss = learning.losses[min(snap.step, len(learning.losses) - 1)]
        says = _("step {step} · loss {loss} · {hits}/{n} aligned").format(
            step=snap.step, loss=f"{loss:.3g}", hits=hits, n=len(learning.rows) - 1
        )
        return word(says, 20, WHITE)

    def _says(self, learning: Learning, snap) -> str:
        hits = sum(learning.hits(snap))
        n = len(learning.rows) - 1
        if snap.step == learning.steps:
            return ngettext(
                "The final weights: the {n} word looks at the word it translates",
                "The final weights: all {n} words look at the word they translate",
                n,
            ).format(n=n)
        if hits == n:
            return _(
                "Step {step}: each word's largest weight is on its English word"
            ).format(step=snap.step)
        if hits == 0:
            return _("Step {step}: the attention is still a blur").format(
                step=snap.step
            )
        return ngettext(
            "Step {step}: {hits} of {n} words already looks at its boxed word",
            "Step {step}: {hits} of {n} words already look at their boxed words",
            hits,
        ).format(step=snap.step, hits=hits, n=n)
