"""Rotary position embedding: each pair of a query or key is turned by m·ω_i.

Stages: ``decoder.rope.angles`` (θ_{m,i} = m ω_i), and of layer 0's self-attention
``.q`` → ``.q_rope`` and ``.k`` → ``.k_rope`` (head 1, pair 0). The arrows drawn
are the trace's pairs before and after the rotation; the turn between them is the
trace's angle. Su et al. 2021 (RoFormer), Eq. 15 and 34; Touvron et al. 2023, §2.2.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    K_COLOR,
    MUTED,
    Q_COLOR,
    TraceScene,
    first_self_attention,
    stack_tokens,
    text,
    where,
    word,
)
from manim import *

from explainer.symbolic.render import latex
from explainer.symbolic.rope import angle, frequency, omega, rope_pair
from explainer.symbolic.symbols import d_k, i
from explainer.trace import Op

FONT = 22
MAX_POSITIONS = 6  # positions whose query pair is turned on screen
PAIR = 0  # the pair shown: (x_0, x_1), the fastest


def rope_lines() -> list[str]:
    """RoPE of pair i at position m, and the speed ω_i of pair i, from SymPy."""
    m, b = sp.Symbol("m", integer=True), sp.Symbol("b", positive=True)
    x0, x1 = sp.symbols("x_{2i} x_{2i+1}", real=True)
    pair = rope_pair(x0, x1, angle(m, omega[i]))
    return [
        rf"\mathrm{{RoPE}}\begin{{pmatrix}} x_{{2i}} \\ x_{{2i+1}} \end{{pmatrix}}"
        rf" = {latex(pair)}",
        latex(sp.Eq(omega[i], frequency(i, d_k, b))),
    ]


def relative_latex() -> str:
    """(R_{mθ} q)ᵀ (R_{nθ} k) = qᵀ R_{(n−m)θ} k, from SymPy matrix symbols: the
    score of a query at m and a key at n sees only n − m."""
    q, k = sp.MatrixSymbol("q", 2, 1), sp.MatrixSymbol("k", 2, 1)
    turn_m = sp.MatrixSymbol(r"R_{m \theta}", 2, 2)
    turn_n = sp.MatrixSymbol(r"R_{n \theta}", 2, 2)
    turn_nm = sp.MatrixSymbol(r"R_{(n - m) \theta}", 2, 2)
    return latex(sp.Eq((turn_m * q).T * (turn_n * k), q.T * turn_nm * k))


class RotaryPositions(TraceScene):
    """The angle table, then the first pair of the query of every position turned
    by its own angle, then the keys; the score depends on n − m only."""

    def construct(self) -> None:
        trace = self.trace
        prefix = first_self_attention(trace)
        tokens = stack_tokens(trace, prefix.split(".")[0])
        rotations = trace.find(Op.ROPE_ANGLES)[0].name
        q_rope, k_rope = f"{prefix}.q_rope", f"{prefix}.k_rope"
        head = self.header(
            "Rotary position embedding (RoPE)",
            rope_lines(),
            tag=where(trace, prefix, 0) + f" · {rotations}",
        )
        self.play(FadeIn(head), run_time=0.8)
        self.angles_phase(rotations, tokens)
        self.turn_phase(f"{prefix}.q", q_rope, rotations, tokens, "query", Q_COLOR)
        board, notes = self.turn_phase(
            f"{prefix}.k", k_rope, rotations, tokens, "key", K_COLOR, keep=True
        )
        relative = MathTex(relative_latex(), font_size=34)
        relative.next_to(board, RIGHT, buff=0.6)
        relative.shift((board.get_center()[1] - relative.get_center()[1]) * UP)
        self.play(
            FadeOut(notes),
            FadeIn(relative),
            *self.caption(
                "q_m · k_n after the turns depends on n − m only: attention sees "
                "relative positions"
            ),
            run_time=0.8,
        )
        self.finish(1.5)

    def angles_phase(self, rotations: str, tokens) -> None:
        table = self.matrix(rotations, font_size=FONT)
        labels = table.label_rows([f"m={m} {t}" for m, t in enumerate(tokens)], 18)
        pairs = table.label_cols([f"i={c}" for c in range(table.values.shape[1])], 16)
        name = table.named(r"\theta_{m,i} = m\,\omega_i").next_to(table, DOWN, 0.15)
        group = VGroup(labels, pairs, table, name)
        self.body(group)
        pairs = table.values.shape[1]
        base = ""
        if table.values.shape[0] > 1 and pairs > 1:  # ω_1 = b^(−1/pairs), shown
            base = f" (b = {float(table.values[1, 1]) ** -pairs:.6g})"
        self.play(
            FadeIn(group),
            *self.caption(
                f"Each of the {pairs} pairs i turns by ω_i per position{base}: "
                "pair 0 by 1 radian, the last ones barely"
            ),
            run_time=1.0,
        )
        self.wait(1.5)
        self.clear(group)

    def turn_phase(
        self,
        before: str,
        after: str,
        rotations: str,
        tokens,
        what: str,
        color,
        keep: bool = False,
    ) -> tuple[VGroup, VGroup]:
        """Pair PAIR of head 1 at each position: the trace's vector before (muted)
        and after (coloured), and the arc of the angle between them. The plane
        (with the turned arrows) and the notes stay on screen if ``keep``."""
        trace = self.trace
        old = trace[before][0][:, 2 * PAIR : 2 * PAIR + 2].astype(float)  # (T, 2)
        new = trace[after][0][:, 2 * PAIR : 2 * PAIR + 2].astype(float)
        theta = trace[rotations][:, PAIR].astype(float)
        reach = float(np.max(np.abs(np.concatenate([old, new])))) or 1.0
        plane = NumberPlane(
            x_range=[-reach * 1.15, reach * 1.15, reach],
            y_range=[-reach * 1.15, reach * 1.15, reach],
            x_length=4.6,
            y_length=4.6,
            background_line_style={"stroke_color": GRAY_D, "stroke_width": 1},
            axis_config={"stroke_color": MUTED, "stroke_width": 1.5},
        )
        axes_names = VGroup(
            MathTex(r"x_0", font_size=34, color=MUTED).next_to(plane, RIGHT, 0.1),
            MathTex(r"x_1", font_size=34, color=MUTED).next_to(plane, UP, 0.1),
        )
        board = VGroup(plane, axes_names)
        self.body(board, shift=2.6 * LEFT)
        origin = plane.c2p(0, 0)
        self.play(
            FadeIn(board),
            *self.caption(
                f"Pair 0 of each {what} (head 1): its first two numbers as an arrow"
            ),
            run_time=0.8,
        )
        notes, ends = VGroup(), VGroup()
        count = min(len(tokens), MAX_POSITIONS)
        for m in range(count):
            start = Arrow(origin, plane.c2p(*old[m]), buff=0, color=MUTED)
            end = Arrow(origin, plane.c2p(*new[m]), buff=0, color=color)
            turning = start.copy().set_color(color)
            note = VGroup(
                word(tokens[m], 22, color),
                MathTex(
                    rf"m = {m}:\ \theta = {theta[m]:.2f}", font_size=28, color=WHITE
                ),
            ).arrange(RIGHT, buff=0.25)
            notes.add(note)
            notes.arrange(DOWN, aligned_edge=LEFT, buff=0.2)
            notes.next_to(board, RIGHT, buff=0.8).align_to(board, UP)
            first = m == 0
            self.play(FadeIn(start), FadeIn(note), run_time=0.5 if first else 0.3)
            self.play(
                Rotate(turning, angle=float(theta[m]), about_point=origin),
                *(
                    self.caption(
                        "Turned by θ = m·ω_0 = m radians (m = 0 does not turn)"
                    )
                    if first
                    else []
                ),
                run_time=0.9 if first else 0.6,
            )
            self.remove(turning)
            self.add(end)
            ends.add(end)
            self.play(FadeOut(start), end.animate.set_opacity(0.35), run_time=0.25)
        if len(tokens) > count:
            notes.add(text(f"… {len(tokens) - count} more", 20, MUTED))
            notes.arrange(DOWN, aligned_edge=LEFT, buff=0.2)
            notes.next_to(board, RIGHT, buff=0.8).align_to(board, UP)
            self.play(FadeIn(notes[-1]), run_time=0.3)
        self.wait(1.0)
        if keep:
            return VGroup(board, ends), notes
        self.clear(board, notes, ends)
        return VGroup(board, ends), notes
