"""Scaled dot-product attention, one head: QKᵀ, ÷√d_k, (mask), softmax, weights · V.

Stages of layer 0's self-attention, head 0 (heads counted from 0, as in the
report): ``.q``, ``.k``, ``.v``, ``.scores``, ``.scaled``, ``.mask``, ``.masked``,
``.weights``, ``.heads``.
Vaswani et al. 2017, §3.2.1, Eq. 1.
"""

from __future__ import annotations

import math

import numpy as np
from explainer.scenes.arithmetic import WeightedRows, show_weighted, worked_dot
from explainer.scenes.attention_formulas import (
    attention_lines,
    head_latex,
    is_masked,
    mask_latex,
    scores_latex,
)
from explainer.scenes.common import (
    HIGHLIGHT,
    K_COLOR,
    MUTED,
    Q_COLOR,
    V_COLOR,
    TraceMatrix,
    TraceScene,
    first_self_attention,
    fit,
    stack_tokens,
    where,
    word,
)
from manim import *

from explainer.i18n import _, ngettext
from explainer.trace import Op

FONT = 22
D_SHOWN = 4  # columns of a head's q, k, v shown (first two, …, last): legible
K_ROW_SPACING = 0.3  # Kᵀ's rows (the scores': 0.38 at FONT)


class ScaledDotProductAttention(TraceScene):
    """Head 0 of the first self-attention, from Q and K to the head's output."""

    head_index = 0

    def construct(self) -> None:
        trace = self.trace
        prefix = first_self_attention(trace)
        h = self.head_index
        tokens = stack_tokens(trace, prefix.split(".")[0])
        # softmax(QKᵀ/√d_k + M) V where the scores are masked (a causal
        # self-attention), as computed; two lines beside the title and the map.
        self.masked = is_masked(trace, prefix)
        head = self.header(
            _("Scaled dot-product attention"),
            attention_lines(self.masked),
            tag=where(trace, prefix, h),
        )
        self.play(FadeIn(head), run_time=0.8)
        # What QKᵀ and weights · V read: Q and K after RoPE, K and V repeated for
        # grouped-query attention, or plain Q, K, V.
        self.q_stage, self.k_stage = trace.stage(f"{prefix}.scores").inputs
        self.v_stage = trace.stage(f"{prefix}.heads").inputs[1]
        rope = trace.stage(self.q_stage).op == Op.ROPE
        self.q_tex = r"\mathrm{RoPE}(Q)" if rope else "Q"
        self.k_tex = r"\mathrm{RoPE}(K)^T" if rope else "K^T"
        n_kv = trace[f"{prefix}.v"].shape[0]
        self.shared = ""  # grouped-query attention: said once Q and K are shown
        if n_kv < trace.config.n_heads:
            group = trace.config.n_heads // n_kv
            self.shared = ngettext(
                "Head {h}'s keys and values are K/V head {g} of {n_kv}, shared "
                "with {n} other query head",
                "Head {h}'s keys and values are K/V head {g} of {n_kv}, shared "
                "with {n} other query heads",
                group - 1,
            ).format(h=h, g=h // group, n_kv=n_kv, n=group - 1)

        scores = self.scores_phase(prefix, h, tokens)
        scores = self.scale_phase(prefix, h, scores)
        if self.masked:
            scores = self.mask_phase(prefix, h, scores)
        weights = self.softmax_phase(prefix, h, scores, tokens)
        self.lines_phase(prefix, h, weights, tokens)
        self.output_phase(prefix, h, tokens)
        self.finish()

    # --- QKᵀ ----------------------------------------------------------------------

    def scores_phase(self, prefix: str, h: int, tokens) -> TraceMatrix:
        # Columns as wide as the masked scores' −∞ need: one spacing for all.
        spacing = max(
            TraceMatrix(self.trace[f"{prefix}.{name}"][h], font_size=FONT).h_buff
            for name in ("scores", "masked")
        )
        scores = self.matrix(f"{prefix}.scores", (h,), font_size=FONT, h_buff=spacing)
        # Kᵀ's rows closer together than the scores' (only its columns line up
        # with them): the three matrices fit the body at full size, not shrunk.
        keys = self.matrix(
            self.k_stage,
            (h,),
            transpose=True,
            font_size=FONT,
            h_buff=scores.h_buff,
            v_buff=K_ROW_SPACING,
            max_rows=D_SHOWN,
        )
        queries = self.matrix(self.q_stage, (h,), font_size=FONT, max_cols=D_SHOWN)
        keys.set_color(K_COLOR)
        queries.set_color(Q_COLOR)
        # Q on the left, Kᵀ above, the scores where their rows and columns meet.
        keys.next_to(scores, UP, buff=0.15)
        keys.shift(
            (scores.cells[(0, 0)].get_right()[0] - keys.cells[(0, 0)].get_right()[0])
            * RIGHT
        )
        queries.next_to(scores, LEFT, buff=0.5)
        queries.shift(
            (
                scores.cells[(0, 0)].get_bottom()[1]
                - queries.cells[(0, 0)].get_bottom()[1]
            )
            * UP
        )
        q_labels = queries.label_rows(tokens, 18)
        k_labels = keys.label_cols(tokens, 18)
        q_name = queries.named(self.q_tex, color=Q_COLOR)
        k_name = keys.named(self.k_tex, color=K_COLOR).next_to(keys, LEFT, 0.2)
        # Names beside and above, not below: the body keeps its height for digits.
        s_name = MathTex(scores_latex(scaled=False), font_size=30)
        s_name.next_to(scores, RIGHT, 0.2)
        q_name.next_to(queries, UP, 0.2)
        clash = q_name.get_right()[0] - (k_name.get_left()[0] - 0.3)
        if clash > 0:
            q_name.shift(clash * LEFT)
        # Room on the right for the widest name to come (QKᵀ/√d_k (+ M), ÷√d_k).
        room = Rectangle(
            width=MathTex(scores_latex(masked=self.masked), font_size=30).width,
            height=0.1,
            stroke_opacity=0,
            fill_opacity=0,
        ).next_to(scores, RIGHT, 0.2)
        group = VGroup(
            queries, q_labels, q_name, keys, k_labels, k_name, scores, s_name, room
        )
        self.body(group)
        self.play(
            FadeIn(queries, q_labels, q_name, keys, k_labels, k_name),
            FadeIn(scores.brackets, s_name),
            *self.caption(
                _("Head {h}: every query is compared with every key").format(h=h)
            ),
            run_time=1.0,
        )
        if self.shared:
            self.say(self.shared)
        # One score worked out term by term, then the rest quickly.
        row_q = 0
        col_k = 1 if len(keys.values[0]) > 1 and 1 in scores.cols else 0
        view = VGroup(
            queries, q_labels, q_name, keys, k_labels, k_name, scores.brackets, s_name
        )
        q_box = SurroundingRectangle(queries.row(row_q), color=HIGHLIGHT, buff=0.05)
        k_box = SurroundingRectangle(keys.col(col_k), color=HIGHLIGHT, buff=0.05)
        self.play(Create(q_box), Create(k_box), run_time=0.5)
        self.worked_score(
            prefix,
            h,
            row_q,
            col_k,
            tokens,
            queries,
            keys,
            view,
            VGroup(q_box, k_box),
            scores.cells[(row_q, col_k)],
        )
        rest = VGroup(
            *(m for (r, c), m in scores.cells.items() if r == row_q and c != col_k)
        )
        self.play(FadeIn(rest, lag_ratio=0.1), run_time=0.5)
        q_box = SurroundingRectangle(queries.row(row_q), color=HIGHLIGHT, buff=0.05)
        self.add(q_box)
        for r in [r for r in scores.rows[1:] if r is not None]:
            self.play(
                q_box.animate.move_to(queries.row(r)),
                FadeIn(scores.row(r), shift=0.1 * RIGHT),
                run_time=0.3,
            )
        self.play(FadeOut(q_box), run_time=0.2)
        self.assemble(scores)
        self.wait(0.6)
        self.qk = VGroup(queries, q_labels, q_name, keys, k_name)
        self.k_labels = k_labels
        self.s_name = s_name
        return scores

    def worked_score(
        self,
        prefix: str,
        h: int,
        r: int,
        c: int,
        tokens,
        queries,
        keys,
        view,
        boxes,
        cell,
    ) -> None:
        """Score (r, c) written out: q · k = q₁k₁ + q₂k₂ + …, then put back into
        its cell."""
        worked_dot(
            self,
            (self.q_stage, (h,), r, False),
            (self.k_stage, (h,), c, False),
            (f"{prefix}.scores", (h, r, c)),
            lhs=r"q \cdot k",
            names=("q", "k"),
            words=(tokens[r], tokens[c]),
            colors=(Q_COLOR, K_COLOR),
            view=view,
            leaving=boxes,
            froms=(queries.row(r), keys.col(c)),
            cell=cell,
            captions=(
                _('One score: the query of "{query}" and the key of "{key}"').format(
                    query=tokens[r], key=tokens[c]
                ),
                _(
                    "q · k: multiply entry by entry, then add. "
                    "Similar vectors score high"
                ),
            ),
        )

    # --- ÷ √d_k ---------------------------------------------------------------------

    def scale_phase(self, prefix: str, h: int, scores: TraceMatrix) -> TraceMatrix:
        d_k = self.trace.config.d_k
        scaled = self.matrix(
            f"{prefix}.scaled", (h,), font_size=FONT, h_buff=scores.h_buff
        ).align_like(scores)
        lines = [r"\div \sqrt{d_k}", rf"= \div \sqrt{{{d_k}}}"]
        if math.isqrt(d_k) ** 2 == d_k:
            lines.append(rf"= \div {math.isqrt(d_k)}")
        note = VGroup(*(MathTex(line, font_size=30, color=HIGHLIGHT) for line in lines))
        note.arrange(DOWN, buff=0.15, aligned_edge=LEFT)
        note.next_to(self.s_name, UP, buff=0.3, aligned_edge=LEFT)  # free room
        self.play(
            FadeIn(note),
            *self.caption(_("Divide by √d_k, so that the scores do not grow with d_k")),
            run_time=0.6,
        )
        name = MathTex(scores_latex(), font_size=30)
        name.next_to(scores, RIGHT, 0.2)
        self.play(
            FadeTransform(scores, scaled),
            FadeTransform(self.s_name, name),
            FadeOut(note),
            run_time=1.0,
        )
        self.s_name = name
        self.wait(0.8)
        return scaled

    # --- causal mask -----------------------------------------------------------------

    def mask_phase(self, prefix: str, h: int, scaled: TraceMatrix) -> TraceMatrix:
        """+ M: −∞ wherever a query would look at a later key (j > i)."""
        masked = self.matrix(
            f"{prefix}.masked", (h,), font_size=FONT, h_buff=scaled.h_buff
        ).align_like(scaled)
        # M where Kᵀ was: the scores are computed, and the keys' words stay above
        # the columns they label.
        keys, k_name = self.qk[3], self.qk[4]
        self.qk.remove(keys, k_name)
        place = VGroup(keys, k_name)
        note = MathTex(mask_latex(), font_size=30, color=HIGHLIGHT)
        fit(note, place.width, keys.height).move_to(place)
        self.play(FadeOut(keys, k_name), run_time=0.4)
        self.play(
            FadeIn(note),
            *self.caption(
                _("Causal mask: add M, −∞ where a token would see a later one")
            ),
            run_time=0.8,
        )
        name = MathTex(scores_latex(masked=True), font_size=30)
        name.next_to(scaled, RIGHT, 0.2)
        self.play(
            FadeTransform(scaled, masked),
            FadeTransform(self.s_name, name),
            FadeOut(note),
            run_time=1.0,
        )
        self.s_name = name
        self.wait(0.8)
        return masked

    # --- softmax ----------------------------------------------------------------------

    def softmax_phase(self, prefix: str, h: int, scores: TraceMatrix, tokens):
        weights = self.matrix(f"{prefix}.weights", (h,), font_size=FONT)
        heat = weights.heat(peak=1.0)
        # The scores' row labels name the weights' rows too (side by side, the
        # same rows): one column of words, so that both tables keep their size.
        w_labels = VGroup(weights.label_cols(tokens, 18))
        w_name = MathTex(r"\mathrm{softmax}", font_size=30).next_to(weights, DOWN, 0.15)
        s_labels = scores.label_rows(tokens, 18)
        left = VGroup(
            scores.copy(), s_labels, self.s_name.copy().next_to(scores, DOWN, 0.15)
        )
        right = VGroup(heat, weights, w_labels, w_name)
        layout = VGroup(left, right).arrange(RIGHT, buff=0.8)
        right.shift((left[0].get_center()[1] - weights.get_center()[1]) * UP)
        self.body(layout)
        # Q and Kᵀ leave first, so that the scores never slide over them: with
        # the old caption, once it has been read (not the scores alone meanwhile).
        self.clear(self.qk, self.k_labels)
        self.play(
            Transform(scores, left[0]),
            Transform(self.s_name, left[2]),
            FadeIn(weights.brackets, w_labels, w_name, s_labels),
            *self.caption(
                _("softmax, row by row: each row becomes weights that sum to 1")
            ),
            run_time=0.8,
        )
        squares = dict(zip(weights.cells, heat, strict=True))
        for r in [r for r in weights.rows if r is not None]:
            box = SurroundingRectangle(scores.row(r), color=HIGHLIGHT, buff=0.04)
            cells = [key for key in weights.cells if key[0] == r]
            self.play(
                Create(box),
                TransformFromCopy(scores.row(r), weights.row(r)),
                FadeIn(VGroup(*(squares[key] for key in cells))),
                run_time=0.55 if r == 0 else 0.35,
            )
            self.remove(box)
        self.assemble(weights)
        self.wait(1.0)
        self.clear(scores, self.s_name, s_labels, heat, w_labels, w_name, weights)
        return weights

    # --- attention lines --------------------------------------------------------------

    def lines_phase(self, prefix: str, h: int, weights: TraceMatrix, tokens) -> None:
        values = self.trace[f"{prefix}.weights"][h]
        n_q, n_k = values.shape
        keys = VGroup(*(word(t, 24, K_COLOR) for t in tokens[:n_k])).arrange(
            RIGHT, buff=0.5
        )
        queries = VGroup(*(word(t, 24, Q_COLOR) for t in tokens[:n_q])).arrange(
            RIGHT, buff=0.5
        )
        queries.next_to(keys, DOWN, buff=2.4)
        diagram = VGroup(keys, queries)
        self.body(diagram, width=12.5)
        key_name = word(_("keys"), 20, MUTED).next_to(keys, LEFT, buff=0.5)
        query_name = word(_("queries"), 20, MUTED).next_to(queries, LEFT, buff=0.5)
        self.play(
            FadeIn(diagram, key_name, query_name),
            *self.caption(_("The weights as lines: thicker = more attention")),
            run_time=0.8,
        )
        shown = None
        for q in range(n_q):
            lines = self.lines_for(values, q, keys, queries)
            anims = [FadeIn(lines), queries[q].animate.set_color(HIGHLIGHT)]
            if shown is not None:
                anims += [FadeOut(shown), queries[q - 1].animate.set_color(Q_COLOR)]
            self.play(*anims, run_time=0.4 if q else 0.8)
            shown = lines
        self.wait(0.5)
        self.clear(shown, diagram, key_name, query_name)

    def lines_for(self, values: np.ndarray, q: int, keys, queries) -> VGroup:
        lines = VGroup()
        for k in range(values.shape[1]):
            w = float(values[q, k])
            if w < 0.01:
                continue
            lines.add(
                Line(
                    queries[q].get_top() + 0.08 * UP,
                    keys[k].get_bottom() + 0.08 * DOWN,
                    stroke_width=1 + 10 * w,
                    stroke_opacity=0.25 + 0.75 * w,
                    color=HIGHLIGHT,
                )
            )
        return lines

    # --- weights · V ------------------------------------------------------------------

    def output_phase(self, prefix: str, h: int, tokens) -> None:
        weights = self.matrix(f"{prefix}.weights", (h,), font_size=FONT)
        heat = weights.heat(peak=1.0)
        values = self.matrix(self.v_stage, (h,), font_size=FONT, max_cols=D_SHOWN)
        values.set_color(V_COLOR)
        out = self.matrix(f"{prefix}.heads", (h,), font_size=FONT, max_cols=D_SHOWN)
        dot = MathTex(r"\cdot", font_size=40)
        eq = MathTex("=", font_size=40)
        row = VGroup(VGroup(heat, weights), dot, values, eq, out).arrange(
            RIGHT, buff=0.3
        )
        heat.move_to(weights)
        labels = weights.label_rows(tokens, 18)
        names = VGroup(
            word(_("weights"), 24).next_to(weights, DOWN, 0.15),
            values.named("V", color=V_COLOR).next_to(values, DOWN, 0.15),
            MathTex(head_latex(h), font_size=30).next_to(out, DOWN, 0.15),
        )
        self.body(VGroup(row, labels, names))
        self.play(
            FadeIn(heat, weights, labels, dot, values, names[:2]),
            *self.caption(_("Each output row is a weighted sum of the value rows")),
            run_time=0.9,
        )
        self.play(FadeIn(eq, out.brackets, names[2]), run_time=0.4)
        rows = [r for r in out.rows if r is not None]
        r0 = rows[0]
        box = SurroundingRectangle(weights.row(r0), color=HIGHLIGHT, buff=0.04)
        self.play(Create(box), run_time=0.4)
        view = VGroup(heat, weights, labels, dot, values, names, eq, out.brackets, box)
        keys = [c for c in weights.cols]
        worked = WeightedRows(
            self.trace[f"{prefix}.weights"][h, r0],
            np.asarray(self.trace[self.v_stage])[h],
            self.trace[f"{prefix}.heads"][h, r0],
            rows=keys,
            cols=values.cols,
            labels=tokens,
            sources={
                "weights": (f"{prefix}.weights", (h, r0)),
                "values": (self.v_stage, (h,)),
                "result": (f"{prefix}.heads", (h, r0)),
            },
            value_color=V_COLOR,
        )
        self.weighted = [*getattr(self, "weighted", []), worked]
        self.body(worked)
        show_weighted(
            self,
            worked,
            [weights.cells[(r0, j)] for j in keys if j is not None],
            caption=self.caption(
                _(
                    'The output of "{token}": each value row times its weight, '
                    "then added"
                ).format(token=tokens[r0])
            ),
            more=[FadeOut(view)],
        )
        self.wait(0.6)
        rest = [m for m in worked if m is not worked.total]
        self.play(
            FadeOut(*rest),
            FadeIn(VGroup(*view[:-1])),
            *(
                Transform(worked.total_mobs[c], out.cells[(r0, c)])
                for c in values.cols
                if c is not None
            ),
            run_time=1.0,
        )
        self.remove(*worked.total)
        self.add(out.row(r0))
        self.play(
            LaggedStart(
                *(
                    TransformFromCopy(VGroup(weights.row(r), values), out.row(r))
                    for r in rows[1:]
                ),
                lag_ratio=0.3,
            ),
            *self.caption(_("The same for every row")),
            run_time=1.2,
        )
        self.assemble(out)
        self.say(
            _("That is one head's output: what each token gathered from the others")
        )
