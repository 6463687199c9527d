"""Now the decoder: what it receives from the encoder, and what it reads itself.

The encoder's last stage (``encoder.{N-1}.norm2``, the memory M: one row per source
token) goes unchanged into the cross-attention of every decoder layer, where it
gives the keys and the values; the decoder reads <bos> and the target, shifted
right (``decoder.embed.ids``), and makes the queries from them. Vaswani et al.
2017, §3.1 and §3.2.3.
"""

from __future__ import annotations

import sympy as sp
from explainer.scenes.attention_formulas import cross_parts, has_bias
from explainer.scenes.common import (
    BODY_BOTTOM,
    DECODER_COLOR,
    ENCODER_COLOR,
    K_COLOR,
    MUTED,
    Q_COLOR,
    V_COLOR,
    TraceScene,
    decoder_tokens,
    latex,
    stack_tokens,
    text,
    token_box,
)
from explainer.scenes.model_map import Place
from manim import *

from explainer.i18n import _, ngettext

FONT = 26


def memory_stage(trace) -> str:
    """The encoder's output: what the decoder's cross-attention reads."""
    return trace.stage("decoder.0.cross_attn.k").inputs[0]


class EncoderToDecoder(TraceScene):
    """The bridge: M from the encoder, the shifted target into the decoder."""

    map_place = Place("decoder", None, "")

    def construct(self) -> None:
        trace = self.trace
        n = trace.config.n_layers
        memory = memory_stage(trace)
        m_sym = sp.Symbol("M")
        formula = latex(sp.Eq(m_sym, sp.Function("Encoder")(sp.Symbol("X"))))
        head = self.header(_("Now the decoder"), formula, tag=f"M = {memory}")
        self.play(FadeIn(head), run_time=0.8)

        source = stack_tokens(trace, "encoder")
        m = self.matrix(memory, font_size=FONT)
        m_labels = m.label_rows(source, 22)
        m_name = m.named("M", 34, ENCODER_COLOR)
        left = VGroup(m_labels, m)
        m_name.next_to(m, UP, buff=0.25)
        left.add(m_name)

        target = decoder_tokens(trace)
        shown = target[:7] + (("…",) if len(target) > 7 else ())
        boxes = VGroup(*(token_box(tok, DECODER_COLOR, 24) for tok in shown))
        boxes.arrange(RIGHT, buff=0.12)
        d_name = text(_("the decoder reads"), 24, MUTED).next_to(boxes, UP, buff=0.25)
        right = VGroup(d_name, boxes)
        layout = VGroup(left, right).arrange(RIGHT, buff=1.2)
        self.body(layout)
        self.play(
            FadeIn(left),
            *self.caption(
                ngettext(
                    "After its {n} layer the encoder's output is M: "
                    "one row per source token",
                    "After its {n} layers the encoder's output is M: "
                    "one row per source token",
                    n,
                ).format(n=n)
            ),
            run_time=1.0,
        )
        self.wait(1.0)
        self.play(
            FadeIn(right),
            *self.caption(
                _("The decoder reads <bos>, then the target: shifted one place right")
            ),
            run_time=1.0,
        )
        self.wait(1.0)

        bias = has_bias(self.trace, "decoder.0.cross_attn", "qkv")
        q_part, k_part, v_part = (latex(part) for part in cross_parts(bias))
        q_eq = MathTex(q_part, font_size=36, color=Q_COLOR)
        kv = VGroup(
            MathTex(k_part, font_size=36, color=K_COLOR),
            MathTex(v_part, font_size=36, color=V_COLOR),
        ).arrange(DOWN, buff=0.25, aligned_edge=LEFT)
        inside = VGroup(q_eq, kv).arrange(DOWN, buff=0.3, aligned_edge=LEFT)
        inside.next_to(boxes, DOWN, buff=0.5)
        where = text(_("in cross-attention"), 22, MUTED).next_to(inside, DOWN, buff=0.2)
        low = where.get_bottom()[1]
        if low < BODY_BOTTOM:
            shift = (BODY_BOTTOM - low) * UP
            VGroup(right, inside, where).shift(shift)
        arrow = Arrow(
            m.get_right(), kv.get_left(), buff=0.2, color=ENCODER_COLOR, stroke_width=4
        )
        self.play(
            FadeIn(kv, where, shift=0.2 * DOWN),
            GrowArrow(arrow),
            *self.caption(readers(n)),
            run_time=1.2,
        )
        self.wait(1.0)
        self.play(
            FadeIn(q_eq, shift=0.2 * DOWN),
            *self.caption(
                _(
                    "The queries come from the decoder's own rows Y, "
                    "after masked self-attention"
                )
            ),
            run_time=1.0,
        )
        self.finish(1.5)


def readers(n: int) -> str:
    """Who reads M and what for, in words: "The decoder layer reads …", "Both
    decoder layers read …", "All 6 decoder layers read …".

    >>> readers(2).split(" the same M")[0]
    'Both decoder layers read'
    """
    if n == 1:
        return _(
            "The decoder layer reads the same M: "
            "it gives the keys and values of cross-attention"
        )
    if n == 2:
        return _(
            "Both decoder layers read the same M: "
            "it gives the keys and values of cross-attention"
        )
    return _(
        "All {n} decoder layers read the same M: "
        "it gives the keys and values of cross-attention"
    ).format(n=n)
