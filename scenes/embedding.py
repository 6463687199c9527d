"""Embedding lookup: a one-hot row picks a row of E (then × √d_model).

Stages: ``{stack}.embed.one_hot``, ``{stack}.embed.lookup``, ``{stack}.embed.scaled``
and the parameter ``embedding`` (E, V × d_model). Vaswani et al. 2017, §3.4.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from explainer.scenes.common import (
    BODY_CENTER,
    HIGHLIGHT,
    MUTED,
    TraceScene,
    equation,
    first_stack,
    fit,
    stack_tokens,
    text,
    word,
)
from explainer.scenes.token_text import vocab_word
from manim import *

from explainer.i18n import _
from explainer.symbolic import get_derivation
from explainer.symbolic.render import latex
from explainer.symbolic.symbols import d_model, vocab_size

MAX_LOOKUPS = 8  # rows of E shown
MAX_CELLS = 41  # cells of a one-hot row drawn; a longer row shows a window of them


class EmbeddingLookup(TraceScene):
    """e_t E for every token t, filling X row by row."""

    def construct(self) -> None:
        trace = self.trace
        stack = first_stack(trace)
        tokens = stack_tokens(trace, stack)
        ids = [int(i) for i in trace[f"{stack}.embed.ids"]]
        one_hot = trace[f"{stack}.embed.one_hot"]
        scaled = f"{stack}.embed.scaled" in trace
        if scaled:
            formula = latex(get_derivation("embedding").formula)
        else:
            row = sp.MatrixSymbol("e_t", 1, vocab_size)
            table = sp.MatrixSymbol("E", vocab_size, d_model)
            formula = equation(sp.MatrixSymbol("x_t", 1, d_model), row * table)
        head = self.header(_("Embedding lookup"), formula, tag=f"{stack}.embed.lookup")
        self.play(FadeIn(head), run_time=0.8)

        # The one-hot row of the current token: V cells, the one at its id lit.
        strip = self.one_hot_strip(one_hot[0]).move_to(UP * 1.1)
        label = text(
            _("one-hot row e_t: 1 × {v}, all 0 but a 1 at the token's id").format(
                v=one_hot.shape[1]
            ),
            font_size=20,
            color=MUTED,
        ).next_to(strip, UP, buff=0.15)
        self.play(
            FadeIn(strip),
            FadeIn(label),
            *self.caption(
                _('"{token}" has id {id}: its one-hot row').format(
                    token=tokens[0], id=ids[0]
                )
            ),
            run_time=1.0,
        )

        # E (the rows this sentence uses) on the left, X filling on the right.
        used = sorted(set(ids))[:MAX_LOOKUPS]
        table_mob = self.matrix("embedding", rows=used, font_size=26)
        table_labels = table_mob.label_rows(
            {i: f"{i} {vocab_word(trace, i)}" for i in used}, font_size=18
        )
        lookup = self.matrix(f"{stack}.embed.lookup", font_size=26)
        row_labels = lookup.label_rows(tokens, font_size=20)
        left = VGroup(table_labels, table_mob)
        right = VGroup(row_labels, lookup)
        body = VGroup(left, right).arrange(RIGHT, buff=0.9)
        fit(body, 13.2, 3.0).move_to(BODY_CENTER + 0.6 * DOWN)
        e_name = VGroup(
            MathTex(
                rf"E\ \ ({len(trace.vocab)} \times {trace.config.d_model})",
                font_size=28,
            ),
            text(_("the rows used"), font_size=22),
        ).arrange(RIGHT, buff=0.2)
        e_name.next_to(table_mob, DOWN, buff=0.15)
        # X is the input of the stack: the scaled rows where the model scales them
        # (then the rows looked up are e_t E, not yet X).
        x_name = lookup.named("e_t E" if scaled else "X")
        x_name.next_to(lookup, DOWN, buff=0.15)
        # X's ⋯ (the columns left out) come with its brackets, not after the rows
        dots = VGroup(
            *(
                lookup.mob_matrix[i][j]
                for i, r in enumerate(lookup.rows)
                for j, c in enumerate(lookup.cols)
                if r is None or c is None
            )
        )
        self.play(
            FadeIn(left),
            FadeIn(e_name),
            FadeIn(lookup.brackets, dots),
            FadeIn(x_name),
            *self.caption(_("E holds one learned row per word of the vocabulary")),
            run_time=1.0,
        )

        for t, token_id in enumerate(ids):
            if t not in lookup.rows:
                continue
            first = t == 0
            if not first:
                new_strip = self.one_hot_strip(one_hot[t]).move_to(strip)
                self.remove(strip)
                strip = new_strip
                self.add(strip)
            if token_id not in table_mob.rows:
                self.play(FadeIn(lookup.row(t)), run_time=0.3)
                continue
            source = table_mob.row(token_id)
            box = SurroundingRectangle(source, color=HIGHLIGHT, buff=0.06)
            if first:
                self.play(
                    Create(box),
                    Indicate(strip[1], color=HIGHLIGHT),
                    *self.caption(
                        _("e_t E keeps only row {i} of E: a lookup").format(i=token_id)
                    ),
                    run_time=1.0,
                )
            else:
                self.add(box)
            self.play(
                TransformFromCopy(source, lookup.row(t)),
                FadeIn(row_labels.by_row.get(t, VGroup())),
                run_time=1.2 if first else 0.5,
            )
            self.remove(box)
            if first:
                self.say(_("The same for every token, row by row"))
        self.add(row_labels)
        self.assemble(lookup)
        self.wait(0.8)

        if scaled:
            size = trace.config.d_model
            note = MathTex(
                rf"\times {latex(sp.sqrt(d_model))} = \sqrt{{{size}}} \approx "
                rf"{math.sqrt(size):.2f}",
                font_size=30,
                color=HIGHLIGHT,
            ).next_to(lookup, UP, buff=0.15)
            scaled_mob = self.matrix(f"{stack}.embed.scaled", font_size=26)
            scaled_mob.match_height(lookup).move_to(lookup)
            self.play(
                FadeIn(note),
                *self.caption(_("Then every entry is multiplied by √d_model (§3.4)")),
                run_time=0.8,
            )
            scaled_name = scaled_mob.named("X").move_to(x_name)
            self.play(
                FadeTransform(lookup, scaled_mob),
                FadeTransform(x_name, scaled_name),
                run_time=1.0,
            )
            self.wait(1.0)
        self.finish()

    def one_hot_strip(self, row: np.ndarray) -> VGroup:
        """The one-hot row as small cells, the one holding the 1 lit; ``strip[1]``
        is that cell. A row longer than MAX_CELLS shows the cells around the 1,
        with ⋯ where the rest (all 0) are left out and the ids at both ends."""
        size = len(row)
        hot = int(np.argmax(row))
        start = min(max(hot - MAX_CELLS // 2, 0), max(size - MAX_CELLS, 0))
        shown = range(start, min(start + MAX_CELLS, size))
        side = min(0.22, 11.5 / len(shown))
        cells = VGroup(
            *(
                Square(side_length=side * 0.9, stroke_width=1, stroke_color=MUTED)
                for _ in shown
            )
        ).arrange(RIGHT, buff=side * 0.1)
        lit = cells[hot - start].copy()
        lit.set_fill(HIGHLIGHT, opacity=1).set_stroke(HIGHLIGHT)
        index = word(str(hot), font_size=16, color=HIGHLIGHT).next_to(lit, DOWN, 0.08)
        ends = VGroup()
        if start > 0:
            ends.add(word(f"0 ⋯ {start - 1}", 14, MUTED).next_to(cells, LEFT, 0.12))
        if shown[-1] < size - 1:
            last = f"{shown[-1] + 1} ⋯ {size - 1}"
            ends.add(word(last, 14, MUTED).next_to(cells, RIGHT, 0.12))
        return VGroup(cells, lit, index, ends)
