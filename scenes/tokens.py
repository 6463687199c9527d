"""Tokenization: the sentence becomes tokens, and each token its row in the vocabulary.

Stages: ``{stack}.embed.ids`` (and the decoder's, for an encoder-decoder).
"""

from __future__ import annotations

import sympy as sp
from explainer.scenes.common import (
    DECODER_COLOR,
    ENCODER_COLOR,
    MUTED,
    TraceScene,
    decoder_tokens,
    equation,
    fit,
    mono,
    text,
    token_box,
)
from explainer.scenes.model_map import locate
from explainer.scenes.token_text import shown_tokens, split_caption, vocab_word
from manim import *

from explainer.i18n import _, ngettext
from explainer.symbolic.symbols import t

MAX_TOKENS = 12


class Tokenization(TraceScene):
    """Sentence → tokens → ids, for the encoder (and the decoder's shifted input)."""

    def construct(self) -> None:
        trace = self.trace
        formula = equation(
            sp.IndexedBase("id")[t], sp.Function("index")(sp.IndexedBase("w")[t])
        )
        stack = "decoder" if trace.config.architecture == "decoder" else "encoder"
        head = self.header(_("Tokens and ids"), formula, tag=f"{stack}.embed.ids")
        self.play(FadeIn(head), run_time=0.8)

        sentence = fit(text(f'"{trace.source.text}"', font_size=34), 12.5)
        sentence.move_to(UP * 1.2)
        self.play(
            FadeIn(sentence, shift=0.2 * DOWN),
            *self.caption(_("The sentence, exactly as typed")),
        )
        self.wait(0.5)

        source = shown_tokens(trace, trace.source.tokens)
        row = self.token_row(f"{stack}.embed.ids", source, ENCODER_COLOR)
        row.move_to(DOWN * 0.3)
        fit(row, 13.0, 2.2)
        boxes, ids = row
        self.play(
            TransformFromCopy(sentence, boxes),
            *self.caption(split_caption(trace)),
            run_time=1.5,
        )
        self.wait(0.5)
        vocab = trace.vocab
        if len(vocab) > 1000:  # a real vocabulary: the rows this sentence uses
            used = sorted({int(i) for i in trace[f"{stack}.embed.ids"]})[:10]
            sample = "  …  ".join(f"{i}:{vocab_word(trace, i)}" for i in used)
        else:
            sample = "  ".join(f"{i}:{vocab_word(trace, i)}" for i in range(10))
        size = len(vocab)
        if trace.config.model:
            name = ngettext("vocabulary ({n} token)", "vocabulary ({n} tokens)", size)
        else:
            name = ngettext("vocabulary ({n} word)", "vocabulary ({n} words)", size)
        vocab_line = fit(
            mono(
                f"{name.format(n=size)}  {sample}  …",
                font_size=18,
                color=MUTED,
            ),
            12.5,
        ).next_to(sentence, UP, buff=0.35)
        self.play(
            FadeIn(vocab_line),
            FadeIn(ids, shift=0.2 * DOWN),
            *self.caption(_("Each token's id is its row number in the vocabulary")),
            run_time=1.5,
        )
        self.wait(1.5)

        if trace.target is not None:
            target = self.token_row(
                "decoder.embed.ids", decoder_tokens(trace), DECODER_COLOR
            )
            fit(target, 13.0, 1.6).move_to(DOWN * 2.2)
            self.play(
                row.animate.shift(0.35 * UP),
                FadeIn(target, shift=0.2 * UP),
                *self.map_to(locate("decoder.embed.ids")),  # the decoder's input
                *self.caption(
                    _(
                        "The decoder reads <bos>, then the target: "
                        "shifted one place right"
                    )
                ),
                run_time=1.5,
            )
            self.wait(1.5)
        unknown = list(dict.fromkeys(trace.source.unknown))
        if unknown:
            unk = "[UNK]" if "[UNK]" in trace.source.tokens else "<unk>"
            said = _("Not in the vocabulary, read as {unk}: {words}")
            self.say(said.format(unk=unk, words=", ".join(unknown)))
            self.wait(1.0)
        self.finish()

    def token_row(self, stage: str, tokens: tuple[str, ...], color) -> VGroup:
        """Token boxes over the ids matrix of ``stage`` (one column per token)."""
        boxes = [token_box(tok, color=color) for tok in tokens]
        width = max(box.width for box in boxes)
        ids = self.matrix(stage, decimals=0, max_cols=MAX_TOKENS, h_buff=width + 0.2)
        row = VGroup()
        for j, c in enumerate(ids.cols):
            box = token_box("…", color=MUTED) if c is None else boxes[c]
            x = ids.mob_matrix[0][j].get_center()[0]
            box.move_to([x, ids.get_top()[1] + 0.55, 0])
            row.add(box)
        return VGroup(row, ids)
