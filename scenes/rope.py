"""Rotary position embedding: each pair of a query or key is turned by m·ω_i.

Stages: ``decoder.rope.angles`` (θ_{m,i} = m ω_i), and of layer 0's self-attention
``.q`` → ``.q_rope`` and ``.k`` → ``.k_rope`` (head 0, pair 0). The arrows drawn
are the trace's pairs before and after the rotation; the turn between them is the
trace's angle. Su et al. 2021 (RoFormer), Eq. 15 and 34; Touvron et al. 2023, §2.2.
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
    TraceScene,
    first_self_attention,
    stack_tokens,
    text,
    where,
    word,
)
from manim import *

from explainer.i18n import _, ngettext
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


def turn(pair: np.ndarray, angle: float) -> np.ndarray:
    """``pair`` rotated by ``angle`` radians (counter-clockwise)."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([c * pair[0] - s * pair[1], s * pair[0] + c * pair[1]])


def relative_scores(
    q: np.ndarray, k: np.ndarray, theta: np.ndarray, places: list[tuple[int, int]]
) -> list[float]:
    """(R_{θ_m} q) · (R_{θ_n} k) for each (m, n) of ``places``: the same query
    pair and key pair put at positions m and n (θ_m: the trace's angle at m)."""
    return [float(turn(q, theta[m]) @ turn(k, theta[n])) for m, n in places]


def relative_places(length: int) -> list[tuple[int, int]]:
    """(m, n) pairs to compare: three with n − m = 1, then one with n − m = 2.

    >>> relative_places(6)
    [(0, 1), (1, 2), (2, 3), (0, 2)]
    >>> relative_places(2)
    [(0, 1)]
    """
    places = [(m, m + 1) for m in range(3) if m + 1 < length]
    return places + ([(0, 2)] if length > 2 else [])


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
            _("Rotary position embedding (RoPE)"),
            rope_lines(),
            tag=where(trace, prefix, 0) + f" · {rotations}",
        )
        self.play(FadeIn(head), run_time=0.8)
        self.angles_phase(rotations, tokens)
        self.turn_phase(
            f"{prefix}.q",
            q_rope,
            rotations,
            tokens,
            _("Pair 0 of each query (head 0): its first two numbers as an arrow"),
            Q_COLOR,
        )
        board, notes = self.turn_phase(
            f"{prefix}.k",
            k_rope,
            rotations,
            tokens,
            _("Pair 0 of each key (head 0): its first two numbers as an arrow"),
            K_COLOR,
            keep=True,
        )
        relative = MathTex(relative_latex(), font_size=34)
        table = self.relative_table(prefix, rotations, len(tokens))
        right = VGroup(relative, table).arrange(DOWN, buff=0.5, aligned_edge=LEFT)
        right.next_to(board, RIGHT, buff=0.6)
        right.shift((board.get_center()[1] - right.get_center()[1]) * UP)
        plane, keys = board[0][0], board[1]
        # On the plane, the demo's own q and k (see relative_table), turned to m
        # and to n of each row in turn: for equal n − m they turn together and
        # keep the angle between them.
        demo = self.relative
        origin = plane.c2p(0, 0)
        turned = VGroup(
            Arrow(origin, plane.c2p(*demo["q"]), buff=0, color=Q_COLOR),
            Arrow(origin, plane.c2p(*demo["k"]), buff=0, color=K_COLOR),
        )
        m, n = demo["places"][0]
        now = (float(demo["theta"][m]), float(demo["theta"][n]))  # their turns
        for arrow, turn_by in zip(turned, now, strict=True):
            arrow.rotate(turn_by, about_point=origin)
        gap = self.gap(turned, origin)
        self.play(
            FadeOut(notes, keys),
            FadeIn(relative),
            *(GrowArrow(arrow) for arrow in turned),
            Create(gap),
            *self.caption(
                _(
                    "q_m · k_n after the turns depends on n − m only: attention sees "
                    "relative positions"
                )
            ),
            run_time=1.2,
        )
        gap.add_updater(lambda arc: arc.become(self.gap(turned, origin)))
        for (m, n), row in zip(demo["places"], table, strict=True):
            angles = (float(demo["theta"][m]), float(demo["theta"][n]))
            said = []
            if row is table[0]:
                said = self.caption(
                    _(
                        "The same q and k put at different places: "
                        "equal n − m, equal score"
                    )
                )
            self.play(
                FadeIn(row),
                *(
                    Rotate(arrow, angle=new - old, about_point=origin)
                    for arrow, new, old in zip(turned, angles, now, strict=True)
                    if new != old
                ),
                *said,
                run_time=0.9,
            )
            now = angles
            self.wait(0.4)
        self.finish(1.5)

    def gap(self, arrows: VGroup, origin: np.ndarray) -> VMobject:
        """The arc from the turned q to the turned k: the angle their score sees."""
        q, k = (arrow.get_end() - origin for arrow in arrows)
        start = math.atan2(q[1], q[0])
        sweep = (math.atan2(k[1], k[0]) - start + math.pi) % (2 * math.pi) - math.pi
        return Arc(
            radius=0.45,
            start_angle=start,
            angle=sweep,
            arc_center=origin,
            color=HIGHLIGHT,
            stroke_width=3,
        )

    def relative_table(self, prefix: str, rotations: str, length: int) -> VGroup:
        """Pair 0 of the first query and key of head 0 (the trace's numbers), turned
        as if they stood at positions m and n: q_m · k_n for several (m, n)."""
        trace = self.trace
        q = np.asarray(trace[f"{prefix}.q"], dtype=float)[0, 0, 2 * PAIR : 2 * PAIR + 2]
        k = np.asarray(trace[f"{prefix}.k"], dtype=float)[0, 0, 2 * PAIR : 2 * PAIR + 2]
        theta = np.asarray(trace[rotations], dtype=float)[:, PAIR]
        places = relative_places(length)
        scores = relative_scores(q, k, theta, places)
        self.relative = {
            "q": q,
            "k": k,
            "theta": theta,
            "places": places,
            "scores": scores,
        }
        rows = VGroup(
            *(
                MathTex(
                    rf"m = {m},\ n = {n}\ (n - m = {n - m}):\quad "
                    rf"q_m \cdot k_n = {score:.2f}",
                    font_size=30,
                    color=WHITE if n - m == 1 else MUTED,
                )
                for (m, n), score in zip(places, scores, strict=True)
            )
        )
        return rows.arrange(DOWN, buff=0.2, aligned_edge=LEFT)

    def angles_phase(self, rotations: str, tokens) -> None:
        table = self.matrix(rotations, font_size=FONT)
        labels = table.label_rows([f"m={m} {t}" for m, t in enumerate(tokens)], 18)
        pairs = table.label_cols([f"i={c}" for c in range(table.values.shape[1])], 16)
        name = table.named(r"\theta_{m,i} = m\,\omega_i").next_to(table, DOWN, 0.15)
        group = VGroup(labels, pairs, table, name)
        self.body(group)
        pairs = table.values.shape[1]
        said = _(
            "Each of the {n} pairs i turns by ω_i per position: "
            "pair 0 by 1 radian, the last ones barely"
        )
        if table.values.shape[0] > 1 and pairs > 1:  # ω_1 = b^(−1/pairs), shown
            said = _(
                "Each of the {n} pairs i turns by ω_i per position (b = {b}): "
                "pair 0 by 1 radian, the last ones barely"
            )
        base = f"{float(table.values[1, 1]) ** -pairs:.6g}" if pairs > 1 else ""
        self.play(
            FadeIn(group),
            *self.caption(said.format(n=pairs, b=base)),
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
        caption: str,
        color,
        keep: bool = False,
    ) -> tuple[VGroup, VGroup]:
        """Pair PAIR of head 0 at each position: the trace's vector before (muted)
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
            *self.caption(caption),
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
                        _("Turned by θ = m·ω_0 = m radians (m = 0 does not turn)")
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
            more = len(tokens) - count
            said = ngettext("… {n} more", "… {n} more", more).format(n=more)
            notes.add(text(said, 20, MUTED))
            notes.arrange(DOWN, aligned_edge=LEFT, buff=0.2)
            notes.next_to(board, RIGHT, buff=0.8).align_to(board, UP)
            self.play(FadeIn(notes[-1]), run_time=0.3)
        self.wait(1.0)
        if keep:
            return VGroup(board, ends), notes
        self.clear(board, notes, ends)
        return VGroup(board, ends), notes
