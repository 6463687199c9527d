"""Cross-attention: the decoder's queries look at the encoder's output.

Stages of ``decoder.0.cross_attn``, head 0 (counted from 0, as in the report):
``.weights`` and ``.heads``; its keys and values come from the encoder's last stage.
Vaswani et al. 2017, §3.2.3.
"""

from __future__ import annotations

from explainer.scenes.attention_formulas import (  # cross_parts: the bridge's too
    cross_latex,
    cross_parts,
    has_bias,
    head_latex,
)
from explainer.scenes.common import (
    HIGHLIGHT,
    K_COLOR,
    MAX_ROWS,
    MUTED,
    Q_COLOR,
    V_COLOR,
    TraceScene,
    decoder_tokens,
    shown_indices,
    stack_tokens,
    where,
    word,
    word_column,
)
from manim import *

from explainer.i18n import _
from explainer.trace import Trace

__all__ = ["CrossAttention", "check_cross_attention", "cross_parts"]

FONT = 22
PREFIX = "decoder.0.cross_attn"


def check_cross_attention(trace: Trace) -> None:
    if f"{PREFIX}.weights" not in trace:
        raise ValueError(
            f"this trace has no cross-attention (an {trace.config.architecture} model);"
            " use --architecture encoder-decoder"
        )


class CrossAttention(TraceScene):
    """Every target token attends over the source tokens."""

    def construct(self) -> None:
        trace = self.trace
        check_cross_attention(trace)
        source = stack_tokens(trace, "encoder")
        target = decoder_tokens(trace)
        memory = trace.stage(f"{PREFIX}.k").inputs[0]
        head = self.header(
            _("Cross-attention"),
            cross_latex(has_bias(trace, PREFIX, "qkv")),
            tag=f"{where(trace, PREFIX, 0)} · "
            + _("K, V from {stage}").format(stage=memory),
        )
        self.play(FadeIn(head), run_time=0.8)

        weights = trace[f"{PREFIX}.weights"][0]
        # The target words of the rows the weights table shows (a long target:
        # its first rows and the last), so that the words stay legible.
        shown_rows = [r for r in shown_indices(len(target), MAX_ROWS) if r is not None]
        place = {r: n for n, r in enumerate(shown_rows)}
        queries = word_column([target[r] for r in shown_rows], Q_COLOR, edge=RIGHT)
        keys = word_column(source, K_COLOR, edge=LEFT).shift(3.2 * RIGHT)
        q_title = word(_("decoder (queries)"), 20, MUTED).next_to(queries, UP, 0.3)
        k_title = word(_("encoder (keys, values)"), 20, MUTED).next_to(keys, UP, 0.3)
        k_title.align_to(q_title, DOWN)
        diagram = VGroup(queries, keys, q_title, k_title)
        matrix = self.matrix(f"{PREFIX}.weights", (0,), font_size=FONT)
        heat = matrix.heat(peak=1.0)
        labels = VGroup(matrix.label_rows(target, 16), matrix.label_cols(source, 16))
        right = VGroup(heat, matrix, labels)
        layout = VGroup(diagram, right).arrange(RIGHT, buff=0.9)
        self.body(layout)
        self.play(
            FadeIn(diagram),
            *self.caption(
                _("Queries come from the decoder, keys and values from the encoder")
            ),
            run_time=1.0,
        )
        self.play(
            FadeIn(matrix.brackets, labels),
            *self.caption(
                _("Each decoder token asks: which source words matter for me?")
            ),
            run_time=0.8,
        )
        shown = None
        rows = [r for r in matrix.rows if r is not None]
        for q in rows:
            lines = VGroup(
                *(
                    Line(
                        queries[place[q]].get_right() + 0.1 * RIGHT,
                        keys[k].get_left() + 0.1 * LEFT,
                        stroke_width=1 + 10 * float(weights[q, k]),
                        stroke_opacity=0.25 + 0.75 * float(weights[q, k]),
                        color=HIGHLIGHT,
                    )
                    for k in range(len(source))
                    if weights[q, k] >= 0.01
                )
            )
            cells = [key for key in matrix.cells if key[0] == q]
            squares = VGroup(*(heat[list(matrix.cells).index(key)] for key in cells))
            anims = [FadeIn(lines), FadeIn(matrix.row(q), squares)]
            if shown is not None:
                anims.append(FadeOut(shown))
            self.play(*anims, run_time=0.8 if q == rows[0] else 0.45)
            shown = lines
        self.assemble(matrix)
        self.bring_to_front(matrix)
        self.wait(0.6)

        # weights · V: V holds the encoder's values, one row per source token.
        weights_mob = self.matrix(f"{PREFIX}.weights", (0,), font_size=FONT)
        heat2 = weights_mob.heat(peak=1.0)
        values = self.matrix(f"{PREFIX}.v", (0,), font_size=FONT).set_color(V_COLOR)
        out = self.matrix(f"{PREFIX}.heads", (0,), font_size=FONT)
        dot, eq = MathTex(r"\cdot", font_size=40), MathTex("=", font_size=40)
        row_labels = weights_mob.label_rows(target, 16)
        value_labels = values.label_rows(source, 16)
        product = VGroup(
            VGroup(row_labels, heat2, weights_mob),
            dot,
            VGroup(value_labels, values),
            eq,
            out,
        ).arrange(RIGHT, buff=0.3)
        heat2.move_to(weights_mob)
        names = VGroup(
            word(_("weights"), 22).next_to(weights_mob, DOWN, 0.15),
            VGroup(
                MathTex("V", font_size=28, color=V_COLOR),
                word(_("(encoder)"), 22, V_COLOR),
            )
            .arrange(RIGHT, buff=0.12)
            .next_to(values, DOWN, 0.15),
            MathTex(head_latex(0), font_size=28).next_to(out, DOWN, 0.15),
        )
        self.body(VGroup(product, names))
        self.play(  # the same table moves; V comes in once the lines are gone
            FadeOut(shown, diagram, labels[1]),
            ReplacementTransform(matrix, weights_mob),
            ReplacementTransform(heat, heat2),
            ReplacementTransform(labels[0], row_labels),
            run_time=0.8,
        )
        self.play(
            FadeIn(dot, product[2], eq, names[:2]),
            *self.caption(
                _("As in self-attention: weights · V, with V from the encoder")
            ),
            run_time=1.0,
        )
        self.play(
            TransformFromCopy(VGroup(weights_mob, values), out),
            FadeIn(names[2]),
            *self.caption(_("Each target token now carries a mix of the source words")),
            run_time=1.4,
        )
        self.finish(1.5)
