"""Multi-head attention: heads attend differently, are concatenated, and mixed by W^O.

Stages of the first self-attention: ``.weights`` (per head), ``.heads``, ``.concat``,
``.out`` and the parameter ``w_o``. Vaswani et al. 2017, §3.2.2.
"""

from __future__ import annotations

from explainer.scenes.arithmetic import worked_dot
from explainer.scenes.attention_formulas import (
    has_bias,
    head_latex,
    multi_head_latex,
)
from explainer.scenes.common import (
    HEAD_COLORS,
    TraceScene,
    first_self_attention,
    head_blocks,
    shown_indices,
    stack_tokens,
    where,
    word,
)
from manim import *

from explainer.i18n import _, ngettext

MAX_HEADS = 3  # heads drawn side by side (more would be under 12 px at 720p)
FONT = 22


class MultiHeadAttention(TraceScene):
    """Per-head weights, Concat(head_0 … head_{h−1}), then · W^O (heads counted
    from 0, as in the report)."""

    def construct(self) -> None:
        trace = self.trace
        prefix = first_self_attention(trace)
        tokens = stack_tokens(trace, prefix.split(".")[0])
        n_heads = trace.config.n_heads
        shown = min(n_heads, MAX_HEADS)
        bias = has_bias(trace, prefix, "o")
        head = self.header(
            _("Multi-head attention"),
            multi_head_latex(n_heads, bias),
            tag=where(trace, prefix) + " · .weights / .heads / .concat / .out",
        )
        self.play(FadeIn(head), run_time=0.8)

        # 1. Each head's weights.
        maps = VGroup()
        for h in range(shown):
            weights = self.matrix(f"{prefix}.weights", (h,), font_size=FONT)
            heat = weights.heat(peak=1.0)
            labels = weights.label_rows(tokens, 16) if h == 0 else VGroup()
            title = word(_("head {h}").format(h=h), 24, HEAD_COLORS[h]).next_to(
                weights, UP, 0.2
            )
            maps.add(VGroup(heat, weights, labels, title))
        maps.arrange(RIGHT, buff=0.6)
        self.body(maps)
        n_kv = trace[f"{prefix}.v"].shape[0]
        if n_kv < n_heads:  # grouped-query attention
            why = ngettext(
                "Each head has its own W^Q; the {n} heads share {n_kv} K/V head, "
                "yet attend to different words",
                "Each head has its own W^Q; the {n} heads share {n_kv} K/V heads, "
                "yet attend to different words",
                n_kv,
            ).format(n=n_heads, n_kv=n_kv)
        else:
            why = _(
                "Each head has its own W^Q, W^K, W^V, so it attends to different words"
            )
        if n_heads > shown:
            why = _("{sentence} (the first {shown} of {n} heads)").format(
                sentence=why, shown=shown, n=n_heads
            )
        self.play(
            FadeIn(maps),
            *self.caption(why),
            run_time=1.2,
        )
        self.wait(2.0)

        # 2. The heads' outputs, side by side: that is the concatenation.
        outs = VGroup(
            *(
                self.matrix(
                    f"{prefix}.heads", (h,), font_size=FONT, max_cols=4
                ).set_color(HEAD_COLORS[h])
                for h in range(shown)
            )
        ).arrange(RIGHT, buff=0.2)
        names = VGroup(
            *(
                outs[h]
                .named(head_latex(h), color=HEAD_COLORS[h])
                .scale(0.8)
                .next_to(outs[h], DOWN, 0.15)
                for h in range(shown)
            )
        )
        self.body(VGroup(outs, names))
        self.play(
            FadeOut(maps),
            FadeIn(outs, names),
            *self.caption(
                _("Each head outputs d_v = {d_v} numbers per token").format(
                    d_v=trace.config.d_v
                )
            ),
            run_time=1.0,
        )
        self.wait(1.0)
        d_v = trace.config.d_v
        width = trace[f"{prefix}.concat"].shape[1]
        blocks = head_blocks(width, d_v, 2)  # few columns: legible numbers
        concat = self.matrix(f"{prefix}.concat", font_size=FONT, cols=blocks)
        for c in concat.cols:
            if c is not None:
                concat.col(c).set_color(HEAD_COLORS[(c // d_v) % len(HEAD_COLORS)])
        concat_labels = concat.label_rows(tokens, 18)
        concat_name = concat.named(r"\mathrm{Concat}")
        d_model = trace[f"{prefix}.w_o"].shape[1]
        weights_o = self.matrix(
            f"{prefix}.w_o",
            font_size=FONT,
            rows=blocks,
            cols=shown_indices(d_model, 4),
        )
        out = self.matrix(f"{prefix}.out", font_size=FONT, cols=weights_o.cols)
        dot, eq = MathTex(r"\cdot", font_size=40), MathTex("=", font_size=40)
        row = VGroup(VGroup(concat_labels, concat), dot, weights_o, eq, out)
        row.arrange(RIGHT, buff=0.25)
        self.body(row)
        concat_name.next_to(concat, DOWN, 0.15)
        o_name = weights_o.named("W^O").next_to(weights_o, DOWN, 0.15)
        out_name = MathTex(r"\mathrm{MultiHead}", font_size=30).next_to(out, DOWN, 0.15)
        self.play(
            FadeTransform(outs, concat),
            FadeTransform(names, concat_name),
            FadeIn(concat_labels),
            *self.caption(
                _("Concatenated: one row of n_heads · d_v numbers per token")
            ),
            run_time=1.2,
        )
        self.wait(1.0)
        self.play(
            FadeIn(dot, weights_o, o_name),
            *self.caption(
                _("W^O mixes what the heads found (plus a bias b^O)")
                if bias
                else _("W^O mixes what the heads found")
            ),
            run_time=0.8,
        )
        self.play(FadeIn(eq, out.brackets, out_name), run_time=0.5)
        view = VGroup(
            concat,
            concat_labels,
            concat_name,
            dot,
            weights_o,
            o_name,
            eq,
            out.brackets,
            out_name,
        )
        worked_dot(
            self,
            (f"{prefix}.concat", (), 0, False),
            (f"{prefix}.w_o", (), 0, True),
            (f"{prefix}.out", (0, 0)),
            lhs=r"\mathrm{MultiHead}_{1,1}",
            names=(r"\mathrm{Concat}", r"W^O_{:,1}"),
            words=(tokens[0], ""),
            colors=(WHITE, WHITE),
            view=view,
            froms=(concat.row(0), weights_o.col(0)),
            cell=out.cells[(0, 0)],
            captions=(
                _(
                    'One entry: the concatenated row of "{token}" times column 1 of W^O'
                ).format(token=tokens[0]),
                _(
                    "Every head's numbers enter the sum: that is the mixing "
                    "(the last term is b^O)"
                )
                if bias
                else _("Every head's numbers enter the sum: that is the mixing"),
            ),
            bias=(f"{prefix}.b_o", (0,)) if bias else None,
        )
        rest = VGroup(*(m for key, m in out.cells.items() if key != (0, 0)))
        self.play(
            TransformFromCopy(VGroup(concat, weights_o), rest),
            run_time=1.0,
        )
        self.assemble(out)
        self.say(_("Back to d_model numbers per token, ready to add to the input"))
        self.finish(1.5)
