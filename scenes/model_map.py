"""The architecture diagram of Vaswani et al. 2017, Figure 1, drawn with Manim shapes
for the model of the trace: the encoder and/or decoder stack (the N identical layers
drawn once, in a frame marked N×), the embeddings and positional encoding under
them, the linear + softmax (or MiniLM's pooling) on top.

Drawn large with the paper's names on the intro card; drawn small, without words,
in the corner of every scene (:func:`corner_map`) with the block being computed
highlighted and, beside the frame, which of the N layers it is.

Where a scene is comes from its stage name (:func:`locate`): ``encoder.embed.lookup``,
``decoder.1.cross_attn``, ``encoder.0.residual2`` (the Add & Norm after the second
sub-layer), ``output.logits``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from manim import *

from explainer import palette
from explainer.i18n import _
from explainer.trace import Op, Trace

BOX_WIDTH = 4.4
SUBLAYER_HEIGHT = 0.62
NORM_HEIGHT = 0.36
GAP = 0.16
PAD = 0.22  # inside a layer's frame
STACK_GAP = 1.7  # between the encoder and the decoder

STACK_COLORS = {
    "encoder": ManimColor(palette.ENCODER),
    "decoder": ManimColor(palette.DECODER),
    "output": ManimColor(palette.OUTPUT),
}
HIGHLIGHT = ManimColor(palette.HIGHLIGHT)

_STAGE = re.compile(r"\b(encoder|decoder)\.(embed|\d+)(?:\.([a-z_]+\d?))?")


@dataclass(frozen=True)
class Place:
    """Where a scene is in the model: a stack, a layer (or None) and a part."""

    stack: str  # "encoder", "decoder" or "output"
    layer: int | None = None
    part: str = ""  # "embed", "pe", "self_attn", "cross_attn", "ffn", "norm2", …


def locate(tag: str) -> Place | None:
    """The place a scene's stage tag names (the last stage it names).

    >>> locate("encoder.0.self_attn\\nlayer 0 of 2 · head 1 of 2")
    Place(stack='encoder', layer=0, part='self_attn')
    >>> locate("decoder.1.residual3 · decoder.1.norm3")
    Place(stack='decoder', layer=1, part='norm3')
    >>> locate("encoder.embed.pe")
    Place(stack='encoder', layer=None, part='pe')
    >>> locate("output.*")
    Place(stack='output', layer=None, part='')
    >>> locate("encoder.5.norm2 → output.pooled → output.embedding").stack
    'output'
    >>> locate("decoder.1.cross_attn · head 2 · position 0 (<bos> → 当)").part
    'cross_attn'
    >>> locate("Watch it learn") is None
    True
    """
    line = tag.split("\n")[0]
    found = ([None, *_STAGE.finditer(line)])[-1]  # the last stage named
    output = line.rfind("output.")
    if output >= 0 and (found is None or output > found.start()):
        return Place("output")
    if found is None:
        return None
    stack, where, part = found.group(1), found.group(2), found.group(3) or ""
    if where == "embed":
        early = part in ("", "ids", "one_hot", "lookup", "scaled", "tokens")
        return Place(stack, None, "embed" if early else "pe")
    if part.startswith("residual"):
        part = "norm" + part.removeprefix("residual")
    return Place(stack, int(where), part)


def stacks(trace: Trace) -> list[str]:
    """The stacks of the model, left to right as in the paper."""
    arch = trace.config.architecture
    return {"encoder": ["encoder"], "decoder": ["decoder"]}.get(
        arch, ["encoder", "decoder"]
    )


def sublayers(trace: Trace, stack: str) -> list[str]:
    """A layer's sub-layers and Add & Norms, bottom to top."""
    if stack == "decoder" and trace.config.architecture == "encoder-decoder":
        return ["self_attn", "norm1", "cross_attn", "norm2", "ffn", "norm3"]
    return ["self_attn", "norm1", "ffn", "norm2"]


def top(trace: Trace) -> list[str]:
    """What sits on the last stack: linear and softmax, or the pooling."""
    if "output.logits" in trace:
        return ["linear", "softmax"]
    if "output.pooled" in trace:
        return ["pooling"]
    return []


def names(trace: Trace, stack: str) -> dict[str, str]:
    """The paper's name of each block of ``stack``."""
    causal = stack == "decoder"
    shifted = causal and trace.config.architecture == "encoder-decoder"
    positions = _("Positional Encoding")
    if trace.find(Op.ROPE):
        positions = _("Rotary positions (in attention, not added)")
    elif trace.find(Op.POSITION_EMBEDDING):
        positions = _("Position Embedding")
    return {
        "embed": _("Output Embedding") if shifted else _("Input Embedding"),
        "pe": positions,
        "self_attn": _("Masked Multi-Head Attention")
        if causal
        else _("Multi-Head Attention"),
        "cross_attn": _("Multi-Head Attention"),
        "ffn": _("Feed Forward"),
        "norm": _("Add & Norm"),
        "linear": _("Linear"),
        "softmax": _("Softmax"),
        "pooling": _("Mean Pooling"),
    }


class ModelDiagram(VGroup):
    """Figure 1 for ``trace``: ``blocks[(stack, part)]`` are the boxes (``part``
    as in :class:`Place`; the top blocks under stack ``"output"``),
    ``frames[stack]`` the N× frames, ``tracks[stack]`` the layer tracks."""

    def __init__(
        self,
        trace: Trace,
        label: Callable[[str, ManimColor], VMobject] | None = None,
        place: Place | None = None,
        arrows: bool = True,
    ) -> None:
        super().__init__()
        self.blocks: dict[tuple[str, str], VMobject] = {}
        self.frames: dict[str, VMobject] = {}
        self.tracks: dict[str, VGroup] = {}
        self.labels = VGroup()
        n_layers = trace.config.n_layers
        columns = stacks(trace)
        for i, stack in enumerate(columns):
            x = (i - (len(columns) - 1) / 2) * (BOX_WIDTH + STACK_GAP)
            self._stack(trace, stack, x, label, arrows)
        last = columns[-1]
        y = self.frames[last].get_top()[1] + 2 * GAP
        x = self.frames[last].get_x()
        for part in top(trace):
            box = self._box(
                "output", part, SUBLAYER_HEIGHT * 0.85, x, y, label, names(trace, last)
            )
            if arrows:
                self.add(_arrow(y - 2 * GAP, y, x))
            y = box.get_top()[1] + GAP
        if "encoder" in columns and "decoder" in columns and arrows:
            self.add(self._cross_arrow())
        for stack in columns:
            self.tracks[stack] = self._track(stack, n_layers, place)
            self.add(self.tracks[stack])
            if label is not None:
                n = label("N×", WHITE)
                n.next_to(self.tracks[stack], _outside(stack), buff=0.12)
                self.labels.add(n)
        self.add(self.labels)
        if place is not None:
            self.highlight(place)

    def _stack(self, trace, stack, x, label, arrows) -> None:
        color = STACK_COLORS[stack]
        parts = names(trace, stack)
        embed = self._box(stack, "embed", SUBLAYER_HEIGHT, x, 0.0, label, parts)
        pe = Circle(radius=0.2, color=color, stroke_width=3)
        cross = VGroup(
            Line(pe.get_left(), pe.get_right(), stroke_width=3, color=color),
            Line(pe.get_top(), pe.get_bottom(), stroke_width=3, color=color),
        )
        plus = VGroup(pe, cross).move_to([x, embed.get_top()[1] + 0.55, 0])
        plus.fill_target = pe
        self.blocks[(stack, "pe")] = plus
        self.add(plus)
        if label is not None:
            pe_label = label(parts["pe"], color)
            pe_label.next_to(plus, _outside(stack), buff=0.2)
            self.labels.add(pe_label)
        if arrows:
            self.add(_arrow(embed.get_top()[1], plus.get_bottom()[1], x))
        y = plus.get_top()[1] + 0.35 + PAD
        inner = VGroup()
        for part in sublayers(trace, stack):
            height = NORM_HEIGHT if part.startswith("norm") else SUBLAYER_HEIGHT
            box = self._box(stack, part, height, x, y, label, parts)
            inner.add(box)
            y = box.get_top()[1] + GAP
        frame = RoundedRectangle(
            corner_radius=0.15,
            width=BOX_WIDTH + 2 * PAD,
            height=inner.height + 2 * PAD,
            stroke_color=color,
            stroke_width=2,
        ).move_to(inner)
        self.frames[stack] = frame
        self.add(frame)
        if arrows:
            self.add(_arrow(plus.get_top()[1], frame.get_bottom()[1], x))

    def _box(self, stack, part, height, x, bottom, label, parts=None) -> VMobject:
        color = STACK_COLORS[stack]
        box = RoundedRectangle(
            corner_radius=0.08,
            width=BOX_WIDTH,
            height=height,
            stroke_color=color,
            stroke_width=2,
            fill_color=color,
            fill_opacity=0.22,
        )
        box.move_to([x, bottom + height / 2, 0])
        box.fill_target = box
        self.blocks[(stack, part)] = box
        self.add(box)
        if label is not None:
            words = label(parts["norm" if part.startswith("norm") else part], WHITE)
            words.move_to(box)
            if words.width > BOX_WIDTH - 0.2:
                words.scale_to_fit_width(BOX_WIDTH - 0.2)
            self.labels.add(words)
        return box

    def _cross_arrow(self) -> VMobject:
        """From the encoder's output into every decoder layer's cross-attention."""
        frame = self.frames["encoder"]
        target = self.blocks[("decoder", "cross_attn")]
        start = frame.get_top() + 0.05 * UP
        bend = np.array([start[0], start[1] + 0.35, 0])
        mid_x = (frame.get_right()[0] + self.frames["decoder"].get_left()[0]) / 2
        corner = np.array([mid_x, bend[1], 0])
        low = np.array([mid_x, target.get_y(), 0])
        path = VMobject(stroke_color=STACK_COLORS["encoder"], stroke_width=3)
        path.set_points_as_corners([start, bend, corner, low])
        tip = Arrow(
            low,
            target.get_left(),
            buff=0,
            stroke_width=3,
            color=STACK_COLORS["encoder"],
            max_tip_length_to_length_ratio=0.5,
        )
        return VGroup(path, tip)

    def _track(self, stack: str, n_layers: int, place: Place | None) -> VGroup:
        """A bar beside the frame cut in ``n_layers`` segments, bottom = layer 0;
        the segment of ``place``'s layer lit."""
        frame = self.frames[stack]
        height = frame.height
        step = height / max(n_layers, 1)
        track = VGroup()
        for i in range(n_layers):
            lit = (
                place is not None
                and place.stack == stack
                and place.layer is not None
                and place.layer == i
            )
            seg = Rectangle(
                width=0.22,
                height=step * (0.8 if n_layers <= 12 else 1.0),
                stroke_width=0,
                fill_color=HIGHLIGHT if lit else STACK_COLORS[stack],
                fill_opacity=1.0 if lit else 0.35,
            )
            side = _outside(stack)
            edge = frame.get_critical_point(side)[0] + 0.3 * side[0]
            seg.move_to([edge, frame.get_bottom()[1] + step * (i + 0.5), 0])
            track.add(seg)
        return track

    def highlight(self, place: Place) -> None:
        """Light the blocks of ``place`` (the whole top for ``output``)."""
        track = self.tracks.get(place.stack, [])
        for i, seg in enumerate(track):
            lit = place.layer == i
            seg.set_fill(
                HIGHLIGHT if lit else STACK_COLORS[place.stack],
                opacity=1.0 if lit else 0.35,
            )
        for (stack, part), block in self.blocks.items():
            hit = stack == place.stack and (not place.part or part == place.part)
            if hit:
                block.fill_target.set_fill(HIGHLIGHT, opacity=1.0)
                block.fill_target.set_stroke(HIGHLIGHT)


def _outside(stack: str) -> np.ndarray:
    """The side of a stack away from the other one (the paper's N× sides)."""
    return LEFT if stack == "encoder" else RIGHT


def _arrow(y0: float, y1: float, x: float) -> VMobject:
    return Line([x, y0, 0], [x, y1, 0], stroke_width=2, color=GRAY_B)


def corner_map(trace: Trace, place: Place, height: float = 1.05) -> ModelDiagram:
    """The small map for a scene's corner: no words, ``place`` lit."""
    diagram = ModelDiagram(trace, None, None, arrows=False)
    for block in diagram.blocks.values():  # small: solid blocks, no outlines
        block.fill_target.set_fill(opacity=0.55).set_stroke(width=0)
    for stack in diagram.frames:  # the ⊕ of the positions: big enough to see lit
        diagram.blocks[(stack, "pe")].scale(1.8)
    for frame in diagram.frames.values():
        frame.set_stroke(width=1.5)
    for stack, track in diagram.tracks.items():
        for seg in track:
            seg.stretch_to_fit_width(0.5).shift(0.25 * _outside(stack))
    diagram.highlight(place)
    diagram.scale_to_fit_height(height)
    return diagram
