"""The output layer: logits h Eᵀ over the vocabulary, softmax, the predicted token.

Stages: ``output.logits``, ``output.probs``, ``output.prediction`` and the final hidden
rows they read. Vaswani et al. 2017, §3.4 (the output shares E with the input).
"""

from __future__ import annotations

import numpy as np
from explainer.scenes.arithmetic import worked_dot
from explainer.scenes.common import (
    HIGHLIGHT,
    MUTED,
    WEIGHT_COLOR,
    TraceScene,
    formula_lines,
    place_word,
    stack_tokens,
    word,
)
from explainer.scenes.token_text import vocab_word
from manim import *

from explainer.i18n import _, ngettext
from explainer.symbolic import get_derivation

FONT = 22
TOP = 8  # vocabulary words shown, the most probable first


class OutputProbabilities(TraceScene):
    """The last hidden row → logits → probabilities → the predicted token."""

    def construct(self) -> None:
        trace = self.trace
        final = trace.stage("output.logits").inputs[0]
        stack = final.split(".")[0]
        tokens = stack_tokens(trace, stack)
        lines = formula_lines(get_derivation("output").formula)[:2]
        title = _("Output: next-token probabilities")
        head = self.header(title, lines, tag="output.*")
        self.play(FadeIn(head), run_time=0.8)

        last = len(tokens) - 1
        hidden = self.matrix(final, font_size=FONT)
        labels = hidden.label_rows(tokens, 18)
        self.body(VGroup(labels, hidden))
        name = hidden.named("h").next_to(hidden, DOWN, 0.15)
        self.play(
            FadeIn(hidden, labels, name),
            *self.caption(
                (
                    _("The final rows of the decoder ({stage})")
                    if stack == "decoder"
                    else _("The final rows of the encoder ({stage})")
                ).format(stage=final)
            ),
            run_time=0.9,
        )
        if last in hidden.rows:
            box = SurroundingRectangle(hidden.row(last), color=HIGHLIGHT, buff=0.05)
            self.play(
                Create(box),
                *self.caption(
                    _('The last row, at "{token}", predicts the next word').format(
                        token=tokens[last]
                    )
                ),
                run_time=0.8,
            )
            self.wait(0.8)
            self.play(FadeOut(box), run_time=0.3)

        probs = trace["output.probs"][last]
        top = [int(c) for c in np.argsort(-probs, kind="stable")[:TOP]]
        cols = [*top, None] if len(probs) > TOP else top
        names = {c: vocab_word(trace, c) for c in top}
        widest = max(word(names[c], 18).width for c in top) + 0.25
        logits = self.matrix("output.logits", rows=[last], cols=cols, font_size=26)
        if logits.h_buff < widest:  # room for the words above the columns
            self.shown.remove(logits)
            logits = self.matrix(
                "output.logits", rows=[last], cols=cols, font_size=26, h_buff=widest
            )
        p_row = self.matrix(
            "output.probs", rows=[last], cols=cols, font_size=26, h_buff=logits.h_buff
        )
        words = logits.label_cols(names, 18)
        rows = VGroup(VGroup(words, logits), p_row).arrange(
            DOWN, buff=0.5, aligned_edge=LEFT
        )
        z_name = MathTex(r"z = h E^T", font_size=32).next_to(logits, LEFT, 0.3)
        p_name = MathTex(r"p = \mathrm{softmax}(z)", font_size=32).next_to(
            p_row, LEFT, 0.3
        )
        group = VGroup(rows, z_name, p_name)
        self.body(group, shift=0.9 * UP)
        self.play(
            FadeOut(hidden, labels, name),
            FadeIn(logits, words, z_name),
            *self.caption(
                _(
                    "h Eᵀ: one score per vocabulary word ({n}); the {top} highest shown"
                ).format(n=len(probs), top=len(top))
            ),
            run_time=1.0,
        )
        best = top[0]
        worked_dot(
            self,
            (final, (), last, False),
            (trace.stage("output.logits").inputs[1], (), best, False),
            ("output.logits", (last, best)),
            lhs=r"z_j",
            names=("h", r"E_j"),
            words=(tokens[last], names[best]),
            colors=(WHITE, HIGHLIGHT),
            view=VGroup(logits, words, z_name),
            froms=(None, None),
            cell=logits.cells[(last, best)],
            captions=(
                _(
                    'One score: the last row h times the embedding row of "{word}"'
                ).format(word=names[best]),
                _("The more h points like a word's embedding, the higher its score"),
            ),
        )
        self.play(
            TransformFromCopy(logits, p_row),
            FadeIn(p_name),
            *self.caption(_("softmax turns the scores into probabilities")),
            run_time=1.1,
        )
        predicted = int(trace["output.prediction"][last])
        base = p_row.get_bottom()[1] - 1.95  # clear of the caption
        bars = VGroup()
        peak = float(probs[top[0]]) or 1.0
        for c in top:
            bar = Rectangle(
                width=0.5 * p_row.cells[(last, top[0])].width,
                height=max(1.5 * float(probs[c]) / peak, 0.02),
                stroke_width=0,
                fill_color=HIGHLIGHT if c == predicted else WEIGHT_COLOR,
                fill_opacity=0.9,
            )
            bar.move_to([p_row.cells[(last, c)].get_x(), base, 0], aligned_edge=DOWN)
            bars.add(bar)
        if predicted in top:
            words_by_col = dict(
                zip([c for c in cols if c is not None], words, strict=False)
            )
            mark = SurroundingRectangle(
                VGroup(
                    p_row.cells[(last, predicted)],
                    words_by_col.get(predicted, VGroup()),
                ),
                color=HIGHLIGHT,
                buff=0.08,
            )
        else:
            mark = VGroup()
        rest = 1.0 - float(probs[top].sum(dtype=float))  # shown, not a stage
        others = len(probs) - len(top)
        if not trace.config.model and not trace.weights:
            says = _(
                'Predicted next token: "{word}" (p = {p}; random weights, not trained)'
            )
        else:
            says = ngettext(
                'Predicted next token: "{word}" (p = {p}; '
                "the {n} token not shown has {rest})",
                'Predicted next token: "{word}" (p = {p}; '
                "the {n} tokens not shown share {rest})",
                others,
            )
        self.play(
            GrowFromEdge(bars, DOWN),
            Create(mark),
            *self.caption(
                says.format(
                    word=vocab_word(trace, predicted),
                    p=f"{float(probs[predicted]):.2f}",
                    n=others,
                    rest=f"{rest:.2f}",
                )
            ),
            run_time=1.2,
        )
        self.wait(1.5)

        # Every position predicts its next token.
        predictions = trace["output.prediction"]
        shown = range(max(len(tokens) - 10, 0), len(tokens))  # the last ten
        inputs = VGroup(*(word(tokens[i], 22, MUTED) for i in shown))
        outputs = VGroup(
            *(
                word(
                    vocab_word(trace, int(predictions[i])),
                    22,
                    HIGHLIGHT if i == last else WHITE,
                )
                for i in shown
            )
        )
        widths = [
            max(a.width, b.width) + 0.35 for a, b in zip(inputs, outputs, strict=True)
        ]
        x = 0.0
        for a, b, w in zip(inputs, outputs, widths, strict=True):
            place_word(a, np.array([x + w / 2, 0.8, 0]))
            place_word(b, np.array([x + w / 2, -0.8, 0]))
            x += w
        arrows = VGroup(
            *(
                Arrow(
                    a.get_bottom(), b.get_top(), buff=0.1, stroke_width=2, color=MUTED
                )
                for a, b in zip(inputs, outputs, strict=True)
            )
        )
        table = VGroup(inputs, arrows, outputs)
        if shown[0] > 0:  # the earlier positions, left out
            table.add(
                *(
                    word("…", 22, MUTED).next_to(row, LEFT, buff=0.3)
                    for row in (inputs, outputs)
                )
            )
        self.body(table, width=12.5)
        self.play(
            FadeOut(logits, words, p_row, z_name, p_name, bars, mark),
            FadeIn(table),
            *self.caption(_("Every position predicts the token after it, all at once")),
            run_time=1.0,
        )
        self.finish(2.0)
