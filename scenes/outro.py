"""The outro: the whole path again, one card per step, with the trace's own
shapes and words: tokens → ids → embeddings + positions → N encoder layers →
N decoder layers → logits h Eᵀ → softmax → the output (the translation, the next
token, or MiniLM's sentence vector). The corner map lights each step as it comes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from explainer.scenes.common import (
    DECODER_COLOR,
    ENCODER_COLOR,
    HIGHLIGHT,
    MUTED,
    OUTPUT_COLOR,
    TraceScene,
    display_value,
    fit,
    stack_tokens,
    text,
)
from explainer.scenes.intro import sizes_latex
from explainer.scenes.model_map import Place, stacks
from explainer.scenes.token_text import vocab_word
from manim import *

from explainer.i18n import _, ngettext
from explainer.trace import Op, Trace

CARD_WIDTH = 2.9
CARD_HEIGHT = 1.45
PER_ROW = 4


@dataclass(frozen=True)
class Step:
    """One card: what happens, what the trace shows for it, where in the model."""

    title: str
    detail: str
    place: Place
    color: ManimColor


def shape(trace: Trace, stage: str) -> str:
    """``6 × 8``: the shape of a stage, as the cards say it."""
    return " × ".join(str(n) for n in np.shape(trace[stage]))


def _short(words: list[str], limit: int = 5) -> str:
    return " ".join(words[:limit]) + (" …" if len(words) > limit else "")


def result_words(trace: Trace) -> list[str]:
    """What the model outputs, as words: the predicted tokens of every position
    of an encoder-decoder (its translation, up to <eos>), the next token of a
    decoder, one predicted token per position of a toy encoder."""
    predicted = [vocab_word(trace, int(i)) for i in trace["output.prediction"]]
    if trace.config.architecture == "decoder":
        return predicted[-1:]
    if trace.config.architecture == "encoder-decoder":
        words = []
        for word in predicted:
            if word in ("<eos>", "</s>", "[SEP]"):
                break
            words.append(word)
        return words
    return predicted


def path(trace: Trace) -> list[Step]:
    """The steps of the forward pass of ``trace``, in order."""
    n = trace.config.n_layers
    first = stacks(trace)[0]
    tokens = list(stack_tokens(trace, first))
    ids = [str(int(i)) for i in trace[f"{first}.embed.ids"]]
    steps = [
        Step(_("Tokens"), _short(tokens, 4), Place(first, None, "embed"), MUTED),
        Step(_("Ids"), _short(ids, 6), Place(first, None, "embed"), MUTED),
        Step(
            _("Embeddings") if trace.find(Op.ROPE) else _("Embeddings + positions"),
            shape(trace, first_input(trace, first)),
            Place(first, None, "pe"),
            ENCODER_COLOR if first == "encoder" else DECODER_COLOR,
        ),
    ]
    colors = {"encoder": ENCODER_COLOR, "decoder": DECODER_COLOR}
    for stack in stacks(trace):
        last = _last_stage(trace, stack)
        detail = f"{shape(trace, last)}"
        if stack == "decoder" and first == "encoder":
            target = list(stack_tokens(trace, "decoder"))
            detail = _("reads {tokens}, and M").format(tokens=_short(target, 3))
        title = stack_title(stack, n)
        steps.append(Step(title, detail, Place(stack, None, ""), colors[stack]))
    if "output.logits" in trace:
        steps.append(
            Step(
                _("Logits h Eᵀ"),
                shape(trace, "output.logits"),
                Place("output"),
                OUTPUT_COLOR,
            )
        )
        # an encoder-decoder's first word; a decoder's next token
        row = -1 if trace.config.architecture == "decoder" else 0
        probs = np.asarray(trace["output.probs"])[row]
        best = int(np.argmax(probs))
        steps.append(
            Step(
                _("Softmax"),
                f'p("{vocab_word(trace, best)}") = {display_value(probs[best]):.2f}',
                Place("output"),
                OUTPUT_COLOR,
            )
        )
    elif "output.embedding" in trace:
        values = np.asarray(trace["output.embedding"]).ravel()
        shown = "  ".join(f"{display_value(v):.2f}" for v in values[:3])
        steps.append(
            Step(
                _("Mean pooling"),
                shape(trace, "output.pooled"),
                Place("output"),
                OUTPUT_COLOR,
            )
        )
        steps.append(
            Step(_("Sentence vector"), shown + " …", Place("output"), OUTPUT_COLOR)
        )
    return steps


def stack_title(stack: str, n: int) -> str:
    """A stack's card title: ``Encoder, 2 layers``."""
    if stack == "encoder":
        said = ngettext("Encoder, {n} layer", "Encoder, {n} layers", n)
    else:
        said = ngettext("Decoder, {n} layer", "Decoder, {n} layers", n)
    return said.format(n=n)


def first_input(trace: Trace, stack: str) -> str:
    """The stage layer 0 of ``stack`` reads (embeddings with positions)."""
    query = f"{stack}.0.self_attn.q"
    return trace.stage(query).inputs[0] if query in trace else f"{stack}.embed.input"


def _turn(a: Mobject, b: Mobject) -> VGroup:
    """An arrow from the bottom of card ``a`` to the top of card ``b`` on the
    next row, running along the gap between the rows."""
    gap_y = (a.get_bottom()[1] + b.get_top()[1]) / 2
    start = a.get_bottom() + 0.05 * DOWN
    path = VMobject(stroke_color=MUTED, stroke_width=4)
    path.set_points_as_corners([start, [start[0], gap_y, 0], [b.get_x(), gap_y, 0]])
    tip = Arrow(
        [b.get_x(), gap_y, 0],
        b.get_top() + 0.05 * UP,
        buff=0,
        color=MUTED,
        max_tip_length_to_length_ratio=0.6,
    )
    return VGroup(path, tip)


def _last_stage(trace: Trace, stack: str) -> str:
    """The last recorded stage of ``stack``'s last layer."""
    prefix = f"{stack}.{trace.config.n_layers - 1}."
    return [name for name in trace.names() if name.startswith(prefix)][-1]


def ending(trace: Trace) -> str:
    """The last caption: what came out, in words."""
    if "output.prediction" in trace:
        words = _short(result_words(trace), 10)  # a line at full size
        if trace.config.architecture == "encoder-decoder":
            return _("The translation: {words}").format(words=words)
        if trace.config.architecture == "decoder":
            return _('The next token: "{words}"').format(words=words)
        return _("One predicted token per position: {words}").format(words=words)
    size = int(np.size(trace["output.embedding"]))
    return _(
        "One vector of {n} numbers for the whole sentence, scaled to length 1"
    ).format(n=size)


class Recap(TraceScene):
    """The path from the sentence to the output, retraced."""

    map_place = Place("encoder", None, "embed")

    def construct(self) -> None:
        trace = self.trace
        self.map_place = Place(stacks(trace)[0], None, "embed")
        sentence = trace.source.text
        head = self.header(_("The whole path"), sizes_latex(trace), tag=f'"{sentence}"')
        self.play(FadeIn(head), run_time=0.8)

        steps = path(trace)
        cards = VGroup(*(self.card(step) for step in steps))
        rows = [cards[i : i + PER_ROW] for i in range(0, len(cards), PER_ROW)]
        grid = VGroup(*(VGroup(*row).arrange(RIGHT, buff=0.45) for row in rows))
        grid.arrange(DOWN, buff=0.55, aligned_edge=LEFT)
        arrows = VGroup()
        for a, b in itertools.pairwise(cards):
            if abs(a.get_y() - b.get_y()) < 0.1:
                arrows.add(Arrow(a.get_right(), b.get_left(), buff=0.05, color=MUTED))
            else:  # to the next row: down, back left along the gap, down
                arrows.add(_turn(a, b))
        self.body(VGroup(grid, arrows), shift=0.35 * UP)
        self.play(
            FadeIn(cards[0]),
            *self.caption(_("From the sentence to the output, once more")),
            run_time=0.9,
        )
        self.wait(0.4)
        for i, step in enumerate(steps[1:], start=1):
            self.play(
                Create(arrows[i - 1]),
                FadeIn(cards[i], shift=0.1 * RIGHT),
                *self.map_to(step.place),
                run_time=0.7,
            )
            self.wait(0.6)

        last = fit(text(ending(trace), font_size=34, color=HIGHLIGHT), 12.5)
        last.next_to(grid, DOWN, buff=0.45)
        self.play(
            FadeIn(last, shift=0.2 * UP),
            *self.caption(
                _("Every number of it is in the trace, and verify checks them")
            ),
            run_time=1.0,
        )
        self.finish(2.5)

    def card(self, step: Step) -> VGroup:
        box = RoundedRectangle(
            corner_radius=0.12,
            width=CARD_WIDTH,
            height=CARD_HEIGHT,
            stroke_color=step.color,
            stroke_width=3,
            fill_color=step.color,
            fill_opacity=0.12,
        )
        title = fit(text(step.title, 26), CARD_WIDTH - 0.25)
        detail = fit(text(step.detail, 22, MUTED), CARD_WIDTH - 0.25)
        words = VGroup(title, detail).arrange(DOWN, buff=0.2).move_to(box)
        return VGroup(box, words)
