"""The intro card: the architecture diagram of the model in the trace (Vaswani et al.
2017, Figure 1), with the paper's names, before any number.

The encoder and the decoder stack, the N identical layers drawn once in a frame
marked N×, the embeddings and positional encoding under them, the linear and softmax
on top. Then the diagram shrinks into the corner, where every scene keeps it with
the block being computed lit.
"""

from __future__ import annotations

import sympy as sp
from explainer.scenes.common import (
    HIGHLIGHT,
    MAP_HEIGHT,
    MUTED,
    TraceScene,
    fit,
    latex,
    stack_tokens,
    text,
)
from explainer.scenes.model_map import ModelDiagram, Place, corner_map, stacks, top
from manim import *

from explainer.i18n import N_, _
from explainer.symbolic.symbols import d_model

LABEL_SIZE = 26
TOY = {  # the toy model's name, in words (the live page's picker says the same)
    "encoder-decoder": N_("toy encoder-decoder"),
    "encoder": N_("toy encoder"),
    "decoder": N_("toy decoder"),
}
PRETRAINED = {  # a pretrained model's name, as the live page's picker says it
    "minilm": N_("MiniLM (pretrained encoder)"),
    "smollm2": N_("SmolLM2 (pretrained)"),
}


def sizes_latex(trace) -> str:
    """``d_model = 8, h = 2, N = 2``: the model's sizes, in the paper's symbols."""
    cfg = trace.config
    h, n = sp.Symbol("h"), sp.Symbol("N")
    pairs = ((d_model, cfg.d_model), (h, cfg.n_heads), (n, cfg.n_layers))
    return r",\quad ".join(latex(sp.Eq(s, v, evaluate=False)) for s, v in pairs)


def what_it_does(trace) -> str:
    """One line: what this model does with the sentence."""
    arch = trace.config.architecture
    if arch == "encoder-decoder":
        return _("The encoder reads the sentence; the decoder writes the output")
    if arch == "decoder":
        return _("One decoder stack reads the text and predicts the next token")
    if "output.pooled" in trace:
        return _("One encoder stack reads the sentence; pooling gives one vector")
    return _("One encoder stack reads the sentence, every token seeing every other")


def stack_caption(stack: str, n: int, first: bool) -> str:
    """What the intro says of the ``encoder`` or ``decoder`` frame: the first
    stack's N identical layers, drawn once; the second's own weights."""
    said = {
        ("encoder", True): _("The encoder: N = {n} identical layers, drawn once (N×)"),
        ("decoder", True): _("The decoder: N = {n} identical layers, drawn once (N×)"),
        ("encoder", False): _(
            "The encoder: N = {n} layers too, each with its own weights"
        ),
        ("decoder", False): _(
            "The decoder: N = {n} layers too, each with its own weights"
        ),
    }
    return said[(stack, first)].format(n=n)


class Introduction(TraceScene):
    """Figure 1 for this model, named as in the paper, then into the corner."""

    map_place = None

    def construct(self) -> None:
        trace = self.trace
        arch = trace.config.architecture
        name = trace.config.model
        model = _(PRETRAINED.get(name, name)) if name else _(TOY.get(arch, arch))
        head = self.header(_("The Transformer"), sizes_latex(trace), tag=model)
        self.play(FadeIn(head), run_time=0.8)

        diagram = ModelDiagram(
            trace, lambda s, c: text(s, font_size=LABEL_SIZE, color=c)
        )
        ends = self.ends(trace, diagram)
        picture = VGroup(diagram, ends)
        self.body(picture)
        self.play(
            FadeIn(picture),
            *self.caption(_("The Transformer (Vaswani et al. 2017, Figure 1)")),
            run_time=1.2,
        )
        self.wait(0.5)
        self.say(what_it_does(trace))
        self.wait(0.5)

        for stack in stacks(trace):
            frame = diagram.frames[stack]
            box = SurroundingRectangle(frame, color=HIGHLIGHT, buff=0.08)
            n = trace.config.n_layers
            self.play(
                Create(box),
                *self.caption(stack_caption(stack, n, stack == stacks(trace)[0])),
                run_time=0.8,
            )
            self.wait(0.6)
            self.clear(box)

        small = corner_map(trace, Place(stacks(trace)[0], None, "embed"), MAP_HEIGHT)
        small.to_corner(UL, buff=0.25)
        # The words fade where they are: the map has none, and shrunk with the
        # boxes they would fly to a blot in the middle of the screen.
        words = diagram.labels
        diagram.remove(words)
        self.add(words)
        self.play(
            FadeOut(head),
            FadeOut(ends),
            FadeOut(words),
            ReplacementTransform(diagram, small),
            *self.caption(
                _("This map stays in the corner: the lit block is where we are")
            ),
            run_time=1.5,
        )
        self.corner_map = small
        self.body_top = small.get_bottom()[1]
        # point the small map out: on an empty screen it is easy to miss
        self.play(Circumscribe(small, color=HIGHLIGHT, buff=0.1), run_time=1.2)
        note = fit(
            text(_("Next: the sentence becomes tokens"), font_size=30, color=MUTED),
            12,
        )
        self.play(FadeIn(note), run_time=0.5)
        self.finish(1.0)

    def ends(self, trace, diagram: ModelDiagram) -> VGroup:
        """What goes in under each stack and what comes out on top, in words."""
        group = VGroup()
        columns = stacks(trace)
        for stack in columns:
            tokens = stack_tokens(trace, stack)
            name = _("Inputs: {tokens}")
            if stack == "decoder" and trace.config.architecture != "decoder":
                name = _("Outputs (shifted right): {tokens}")
            # As many of the first four tokens as fit in 4.2 units without
            # shrinking the label below 0.62 of its size (12 px at 720p is about
            # 0.56): wide (CJK) tokens are dropped for "…" rather than shrunk.
            for count in range(min(4, len(tokens)), 0, -1):
                more = " …" if len(tokens) > count else ""
                shown = " ".join(tokens[:count]) + more
                label = text(name.format(tokens=shown), LABEL_SIZE, MUTED)
                if label.width * 0.62 <= 4.2:
                    break
            label = fit(label, 4.2)
            label.next_to(diagram.blocks[(stack, "embed")], DOWN, buff=0.2)
            group.add(label)
        parts = top(trace)
        if parts:
            what = (
                _("Output Probabilities")
                if "softmax" in parts
                else _("Sentence Embedding")
            )
            label = text(what, LABEL_SIZE, MUTED)
            label.next_to(diagram.blocks[("output", parts[-1])], UP, buff=0.15)
            group.add(label)
        return group
