"""What every scene shares: the trace it animates, matrices of the trace's numbers,
token labels, and the title + formula layout.

Scenes read the trace and never recompute a stage. The trace is the JSON file named
by the environment variable ``EXPLAINER_TRACE`` (``explainer render`` writes it once
per render), or else a fresh forward pass of the default preset, so that plain
``manim -ql scenes/attention.py ScaledDotProductAttention`` works too.

User text (the sentence, tokens, vocabulary words) is only ever shown with ``Text``,
which draws it with Pango and never passes it to LaTeX; formulas come from SymPy.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import sympy as sp
from explainer.scenes.caption_lines import is_wide, split_lines
from explainer.scenes.model_map import Place, corner_map, locate
from explainer.scenes.token_text import shown_tokens
from manim import *

from explainer import config as config_mod
from explainer import palette, trace_json
from explainer.i18n import _
from explainer.presets import get_preset
from explainer.render.pace import required_seconds
from explainer.run import trace_sentence
from explainer.symbolic import render
from explainer.trace import Trace

TRACE_ENV = "EXPLAINER_TRACE"
TEXT_FONT = "WenQuanYi Micro Hei"  # fonts-wqy-microhei: Latin and CJK glyphs
MONO_FONT = "DejaVu Sans Mono"
DECIMALS = 2  # decimal places of the numbers on screen
MAX_ROWS = 8  # larger matrices show their first rows, ⋮, and the last one
MAX_COLS = 8
INFINITY_SCALE = 1.45  # −∞ in a matrix of numbers: its ∞ as tall as a digit

# The colour language (explainer/palette.py, shared with the report's CSS).
Q_COLOR, K_COLOR, V_COLOR = (ManimColor(c) for c in (palette.Q, palette.K, palette.V))
HEAD_COLORS = tuple(ManimColor(c) for c in palette.HEADS)
WEIGHT_COLOR = ManimColor(palette.WEIGHT)  # attention weights, probabilities
POSITIVE_COLOR = ManimColor(palette.POSITIVE)
NEGATIVE_COLOR = ManimColor(palette.NEGATIVE)
ENCODER_COLOR = ManimColor(palette.ENCODER)
DECODER_COLOR = ManimColor(palette.DECODER)
OUTPUT_COLOR = ManimColor(palette.OUTPUT)
HIGHLIGHT = ManimColor(palette.HIGHLIGHT)
MUTED = ManimColor(palette.MUTED)

# Layout of the 14.2 × 8 frame: header on top, body in the middle, caption below.
BODY_TOP = 1.75
BODY_BOTTOM = -3.0
BODY_CENTER = np.array([0.0, (BODY_TOP + BODY_BOTTOM) / 2, 0.0])
BODY_HEIGHT = BODY_TOP - BODY_BOTTOM
BODY_WIDTH = 13.2
MAP_HEIGHT = 1.2  # the corner map of the model


# --- the trace -----------------------------------------------------------------------


def load_trace() -> Trace:
    """The trace in the file named by ``EXPLAINER_TRACE``, else a forward pass of
    the default preset."""
    return _load(os.environ.get(TRACE_ENV) or None)


@functools.cache
def _load(path: str | None) -> Trace:
    if path:
        text = Path(path).read_text(encoding="utf-8")
        return trace_json.loads(text, source=path)
    preset = get_preset("default")
    return trace_sentence(config_mod.from_dict(preset.config), preset.sentence)


def first_stack(trace: Trace) -> str:
    """The stack the sentence enters: ``encoder``, or ``decoder`` if decoder-only."""
    return "decoder" if trace.config.architecture == "decoder" else "encoder"


def first_self_attention(trace: Trace) -> str:
    """The prefix of layer 0's self-attention in :func:`first_stack`."""
    return f"{first_stack(trace)}.0.self_attn"


def decoder_tokens(trace: Trace) -> tuple[str, ...]:
    """The tokens the decoder reads (the target of an encoder-decoder), as shown."""
    return shown_tokens(trace, (trace.target or trace.source).tokens)


def stack_tokens(trace: Trace, stack: str) -> tuple[str, ...]:
    """The tokens the ``encoder`` or ``decoder`` stack reads, as shown on screen
    (byte-level BPE pieces decoded: see :mod:`explainer.scenes.token_text`)."""
    if stack == "decoder":
        return decoder_tokens(trace)
    return shown_tokens(trace, trace.source.tokens)


def where(trace: Trace, prefix: str, head: int | None = None) -> str:
    """Which layer (and head) a scene shows, for its tag: the stage prefix, then on
    a second line ``layer 0 of 30 · head 0 of 9`` (layers and heads counted from
    0, as in the stage names and the report: head 0 is the paper's head_1)."""
    parts = []
    layer = prefix.split(".")[1] if prefix.count(".") >= 1 else ""
    if layer.isdigit():
        parts.append(_("layer {i} of {n}").format(i=layer, n=trace.config.n_layers))
    if head is not None:
        parts.append(_("head {i} of {n}").format(i=head, n=trace.config.n_heads))
    return "\n".join([prefix, " · ".join(parts)]) if parts else prefix


def display_value(value: float, decimals: int = DECIMALS) -> float:
    """``value`` rounded as it is shown (never −0.00).

    >>> display_value(-0.0012), display_value(1.2345)
    (0.0, 1.23)
    """
    return round(float(value), decimals) + 0.0


# --- text -----------------------------------------------------------------------------


def flatten(mob: VMobject, color: ManimColor | None = None) -> VMobject:
    """One VMobject holding every outline of ``mob`` (glyphs of a number or a word).

    A DecimalNumber or Text is a tree of a dozen SVG mobjects, each ~0.5 ms to copy;
    animations copy them all the time. Flat, a matrix of 48 numbers copies in
    milliseconds instead of a third of a second, and looks the same.
    """
    parts = mob.family_members_with_points()
    if not parts:
        return VMobject()
    fill = color if color is not None else parts[0].get_fill_color()
    flat = VMobject(fill_color=fill, fill_opacity=1.0, stroke_width=0)
    flat.set_points(np.concatenate([part.points for part in parts]))
    return flat


@functools.lru_cache(maxsize=512)
def _text(content: str, font: str, font_size: float) -> VMobject:
    if not content.strip():
        return VMobject()
    if "\n" in content:
        return stacked(tuple(content.split("\n")), font, font_size, centred=False)
    return flatten(Text(content, font=font, font_size=font_size))


@functools.lru_cache(maxsize=256)
def stacked(
    lines: tuple[str, ...], font: str, font_size: float, centred: bool
) -> VMobject:
    """Lines of text one under the other, flat, their baselines evenly spaced, left
    aligned or centred. Each line is its own Pango text: Manim's ``Text`` of a
    string with line breaks puts some glyphs (an ``_``) on the wrong line."""
    step = _line_step(font, font_size)
    group = VGroup()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        mob = Text("x" + line, font=font, font_size=font_size)
        x_glyph = mob.submobjects[0]  # its middle: the same height on every line
        mob.shift((-i * step - x_glyph.get_center()[1]) * UP)
        mob.remove(x_glyph)
        if centred:
            mob.shift(-mob.get_center()[0] * RIGHT)
        else:
            mob.shift(-mob.get_left()[0] * RIGHT)
        group.add(mob)
    return flatten(group) if len(group) else VMobject()


def text(content: str, font_size: float = 28, color: ManimColor = WHITE) -> VMobject:
    """User or plain text, drawn literally by Pango (never through LaTeX).

    The result is flat (see :func:`flatten`); ``.text`` holds ``content``.
    """
    mob = _text(content, TEXT_FONT, font_size).copy().set_fill(color, opacity=1)
    mob.text = content
    return mob


CAPTION_SIZE = 24
CAPTION_WIDTH = 13.4


def _char_widths(content: str, glyphs: Sequence[VMobject]) -> tuple[float, ...]:
    """Each character's advance in ``content``, whose ``glyphs`` Pango set on one
    line at the caption's size: from one glyph's left edge to the next one's
    (spaces: 0, their room is in the character before). Proportional to a rough
    estimate if the glyphs do not match the characters one to one."""
    inked = [i for i, char in enumerate(content) if not char.isspace()]
    widths = [0.0] * len(content)
    if len(glyphs) != len(inked):  # ligatures: estimate, 2 per wide character
        total = sum(2 if is_wide(content[i]) else 1 for i in inked)
        line = sum(glyph.width for glyph in glyphs) or 1.0
        for i in inked:
            widths[i] = line * (2 if is_wide(content[i]) else 1) / total
        return tuple(widths)
    for k, i in enumerate(inked):
        glyph = glyphs[k]
        if k + 1 < len(glyphs):
            widths[i] = glyphs[k + 1].get_left()[0] - glyph.get_left()[0]
        else:
            widths[i] = glyph.width
    return tuple(widths)


@functools.lru_cache(maxsize=16)
def _line_step(font: str, font_size: float) -> float:
    """From one baseline to the next in :func:`stacked` lines ("_" kept clear)."""
    return Text("Xg_", font=font, font_size=font_size).height * 1.4


def _lines_of(whole: Text, content: str, lines: Sequence[str]) -> VMobject | None:
    """``lines`` (``content`` broken) made of the glyphs Pango set for ``content``
    on one line (``whole``), centred under each other as :func:`stacked` sets
    them: the text is laid out once, not once more per line. None if the glyphs
    do not match the characters one to one (ligatures)."""
    glyphs = whole.submobjects
    ink = [len([c for c in line if not c.isspace()]) for line in lines]
    if sum(ink) != len(glyphs) or "".join("".join(lines).split()) != "".join(
        content.split()
    ):
        return None
    step = _line_step(TEXT_FONT, CAPTION_SIZE)
    group, start = VGroup(), 0
    for i, count in enumerate(ink):
        if not count:
            continue
        line = VGroup(*glyphs[start : start + count]).copy()
        start += count
        line.shift(-i * step * UP - line.get_center()[0] * RIGHT)
        group.add(line)
    return flatten(group)


@functools.lru_cache(maxsize=256)
def _caption(content: str) -> VMobject:
    if not content.strip():
        return VMobject()
    whole = Text(content, font=TEXT_FONT, font_size=CAPTION_SIZE)
    widths = _char_widths(content, whole.submobjects)
    lines = split_lines(content, CAPTION_WIDTH, widths)
    if len(lines) == 1:
        return flatten(whole)
    mob = _lines_of(whole, content, lines)
    if mob is None:
        mob = stacked(tuple(lines), TEXT_FONT, CAPTION_SIZE, centred=True)
    return fit(mob.copy(), CAPTION_WIDTH)


def caption_text(content: str) -> VMobject:
    """A caption as flat text (``.text`` holds ``content``): at the caption size,
    on one line if it fits the frame, else on two lines centred under each other,
    broken where :func:`~explainer.scenes.caption_lines.split_lines` says (at a
    space, or between Chinese characters); shrunk only if two lines do not fit."""
    mob = _caption(content).copy()
    mob.text = content
    return mob


def mono(content: str, font_size: float = 18, color: ManimColor = WHITE) -> VMobject:
    mob = _text(content, MONO_FONT, font_size).copy().set_fill(color, opacity=1)
    mob.text = content
    return mob


def word(content: str, font_size: float = 26, color: ManimColor = WHITE) -> VMobject:
    """A token as flat text whose ``.mid`` is the height of the middle of its
    x-height, so that words with and without descenders line up."""
    ref = Text("x" + content, font=TEXT_FONT, font_size=font_size)
    x_glyph = ref.submobjects[0]
    mid = x_glyph.get_center()[1]
    ref.remove(x_glyph)
    mob = flatten(ref, color)
    mob.text = content
    mob.mid_offset = mid - mob.get_center()[1]
    return mob


def place_word(mob: VMobject, point: np.ndarray) -> VMobject:
    """Move a :func:`word` so that its x-height middle sits at ``point``."""
    offset = getattr(mob, "mid_offset", 0.0)
    mob.move_to(point)
    mob.shift((point[1] - (mob.get_center()[1] + offset)) * UP)
    return mob


def fit(mob: Mobject, width: float, height: float | None = None) -> Mobject:
    """Scale ``mob`` down (never up) to fit ``width`` × ``height``."""
    factor = width / max(mob.width, 1e-6)
    if height is not None:
        factor = min(factor, height / max(mob.height, 1e-6))
    if factor < 1:
        mob.scale(factor)
    return mob


def token_box(token: str, color: ManimColor = WHITE, font_size: float = 26) -> VGroup:
    """A token in a rounded box; ``box[1]`` is its text."""
    label = word(token, font_size=font_size, color=color)
    frame = RoundedRectangle(
        corner_radius=0.08,
        width=max(label.width + 0.25, 0.55),
        height=0.55,
        stroke_color=color,
        stroke_width=2,
    )
    place_word(label, frame.get_center())
    return VGroup(frame, label)


def word_column(
    tokens: Sequence[str],
    color: ManimColor = WHITE,
    font_size: float = 24,
    spacing: float = 0.45,
    edge: np.ndarray = RIGHT,
) -> VGroup:
    """Tokens one under the other at a fixed spacing, flush to ``edge``."""
    column = VGroup()
    for row, token in enumerate(tokens):
        mob = word(token, font_size, color)
        place_word(mob, np.array([0.0, -row * spacing, 0.0]))
        mob.shift(-mob.get_critical_point(edge)[0] * RIGHT)
        column.add(mob)
    return column


def token_labels(
    tokens: Sequence[str], font_size: float = 22, color: ManimColor = MUTED
) -> list[VMobject]:
    """One :func:`word` per token (literal: no markup, no LaTeX)."""
    return [word(tok, font_size=font_size, color=color) for tok in tokens]


# --- matrices of trace numbers --------------------------------------------------------


def head_columns(width: int, d_head: int, limit: int = MAX_COLS) -> list[int | None]:
    """Columns to show of a matrix whose columns come in heads of ``d_head``: the
    first two of head 1, the first two of head 2, …, the last column, with an
    ellipsis wherever columns are left out (all of them if ``width`` fits).

    >>> head_columns(384, 32)
    [0, 1, None, 32, 33, None, 383]
    >>> head_columns(6, 3)
    [0, 1, 2, 3, 4, 5]
    """
    if width <= limit or d_head < 3 or width < 2 * d_head + 1:
        return shown_indices(width, limit)
    return [0, 1, None, d_head, d_head + 1, None, width - 1]


def head_blocks(width: int, d_head: int, heads: int) -> list[int | None]:
    """Columns to show of the first ``heads`` heads of a matrix whose columns come
    in heads of ``d_head``: each head's first and last column with an ellipsis
    between (the whole head if it has 3 columns or fewer), then an ellipsis if
    more heads follow. Few columns, so that the numbers stay legible.

    >>> head_blocks(8, 4, 2)
    [0, None, 3, 4, None, 7]
    >>> head_blocks(384, 32, 2)
    [0, None, 31, 32, None, 63, None]
    >>> head_blocks(6, 3, 2)
    [0, 1, 2, 3, 4, 5]
    """
    cols: list[int | None] = []
    for h in range(min(heads, width // d_head)):
        first, last = h * d_head, (h + 1) * d_head - 1
        cols += list(range(first, last + 1)) if d_head <= 3 else [first, None, last]
    if width > len(cols) and cols and max(c for c in cols if c is not None) < width - 1:
        cols.append(None)
    return cols


def shape_tex(values: np.ndarray | TraceMatrix) -> str:
    r"""``(T \times d)``: the full shape of a block, for names of summarised
    matrices.

    >>> shape_tex(np.zeros((6, 384)))
    '(6 \\times 384)'
    """
    block = values.values if isinstance(values, TraceMatrix) else np.asarray(values)
    return "(" + r" \times ".join(str(n) for n in np.atleast_2d(block).shape) + ")"


def shown_indices(size: int, limit: int) -> list[int | None]:
    """The indices shown of an axis of ``size``; ``None`` marks the ellipsis.

    >>> shown_indices(3, 8)
    [0, 1, 2]
    >>> shown_indices(10, 4)
    [0, 1, None, 9]
    """
    if size <= limit:
        return list(range(size))
    return [*range(limit - 2), None, size - 1]


@functools.cache
def _glyph(char: str) -> VMobject:
    """One LaTeX glyph at font size 48, flat (compiled once per process)."""
    return flatten(SingleStringMathTex(char))


def number(value: float, decimals: int = DECIMALS, font_size: float = 30) -> VMobject:
    """``value`` rounded to ``decimals`` places as a flat LaTeX-styled number.

    Laid out like :class:`DecimalNumber` but from cached glyphs, which is ~50 times
    faster to build; ``.number`` is the value shown.
    """
    shown = int(value) if decimals == 0 else display_value(value, decimals)
    string = f"{shown:.{decimals}f}" if decimals else str(shown)
    glyphs = VGroup(*(_glyph(char).copy() for char in string))
    glyphs.arrange(RIGHT, buff=0.001 * 48, aligned_edge=DOWN)
    for i, char in enumerate(string[:-1]):
        if char == "-":  # the minus sign sits at mid-height, as DecimalNumber does
            glyphs[i].align_to(glyphs[i + 1], UP)
            glyphs[i].shift(glyphs[i + 1].height * DOWN / 2)
    mob = flatten(glyphs)
    mob.scale(font_size / 48)
    mob.number = shown
    return mob


def _number_width(value: float, decimals: int, font_size: float) -> float:
    shown = int(value) if decimals == 0 else display_value(value, decimals)
    string = f"{shown:.{decimals}f}" if decimals else str(shown)
    return sum(_glyph(char).width for char in string) * font_size / 48


def _cell(item, *, decimals: int, font_size: float) -> VMobject:
    """A flat number (``.number`` is the value shown) or symbol (``.tex``)."""
    if isinstance(item, str):  # an ellipsis
        mob = flatten(MathTex(item, font_size=font_size), MUTED)
        mob.tex = item
        return mob
    if np.isneginf(item):
        # ∞ is as tall as an x, not a digit: drawn larger to read as well
        mob = flatten(MathTex(r"-\infty", font_size=font_size * INFINITY_SCALE))
        mob.tex, mob.number = r"-\infty", -np.inf
        return mob
    return number(item, decimals, font_size)


def _label(labels: Sequence[str] | Mapping[int, str], index: int | None) -> str | None:
    """Label ``index`` of a list or mapping (None if there is none)."""
    if index is None:
        return None
    if isinstance(labels, Mapping):
        return labels.get(index)
    return labels[index] if index < len(labels) else None


def _item(block: np.ndarray, r: int | None, c: int | None):
    if r is None and c is None:
        return r"\ddots"
    if r is None:
        return r"\vdots"
    if c is None:
        return r"\cdots"
    return block[r, c]


class TraceMatrix(Matrix):
    """A matrix of a trace stage's numbers, rounded for display, that remembers where
    they came from: ``trace[stage][index]`` (transposed if ``transposed``), rows
    ``rows`` and columns ``cols`` of it (``None`` = the ellipsis).

    ``cells[(r, c)]`` is the mobject showing entry (r, c) of that block.
    """

    def __init__(
        self,
        values: np.ndarray,
        *,
        stage: str = "",
        index: tuple[int, ...] = (),
        transposed: bool = False,
        decimals: int = DECIMALS,
        font_size: float = 30,
        max_rows: int = MAX_ROWS,
        max_cols: int = MAX_COLS,
        rows: Sequence[int | None] | None = None,
        cols: Sequence[int | None] | None = None,
        **kwargs,
    ) -> None:
        block = np.atleast_2d(np.asarray(values))
        if block.ndim != 2:
            raise ValueError(
                f"{stage or 'values'}: need a 2-D block, got {block.shape}"
            )
        if block.dtype == bool:
            block = block.astype(int)
            decimals = 0
        self.stage, self.index, self.transposed = stage, index, transposed
        self.decimals = decimals
        self.values = block
        self.rows = (
            list(rows) if rows is not None else shown_indices(len(block), max_rows)
        )
        self.cols = (
            list(cols) if cols is not None else shown_indices(block.shape[1], max_cols)
        )
        items = [[_item(block, r, c) for c in self.cols] for r in self.rows]
        picked = [
            v
            for r in self.rows
            for c in self.cols
            if r is not None and c is not None
            for v in [block[r, c]]
        ]
        widest = max(
            (_number_width(v, decimals, font_size) for v in picked if np.isfinite(v)),
            default=_number_width(0.0, decimals, font_size),
        )
        if any(not np.isfinite(v) for v in picked):
            widest = max(widest, 0.9 * INFINITY_SCALE * font_size / 30)
        kwargs.setdefault("h_buff", widest + 0.32 * font_size / 30)
        kwargs.setdefault("v_buff", 0.52 * font_size / 30)
        super().__init__(
            items,
            element_to_mobject=_cell,
            element_to_mobject_config={"decimals": decimals, "font_size": font_size},
            **kwargs,
        )
        self.cells: dict[tuple[int, int], VMobject] = {}
        for i, r in enumerate(self.rows):
            for j, c in enumerate(self.cols):
                if r is not None and c is not None:
                    self.cells[(r, c)] = self.mob_matrix[i][j]

    def _add_brackets(self, left: str = "[", right: str = "]", **kwargs) -> Matrix:
        super()._add_brackets(left, right, **kwargs)
        flat = VGroup(*(flatten(bracket) for bracket in self.brackets))
        self.remove(*self.brackets)
        self.add(*flat)
        self.brackets = flat
        return self

    @property
    def summarised(self) -> bool:
        """Whether rows or columns are left out (an ellipsis is shown)."""
        return None in self.rows or None in self.cols

    def named(
        self, tex: str, font_size: float = 30, color: ManimColor = WHITE
    ) -> MathTex:
        """The matrix's name in LaTeX, with its full shape when summarised."""
        shape = rf"\ \ {shape_tex(self)}" if self.summarised else ""
        return MathTex(tex + shape, font_size=font_size, color=color)

    def align_like(self, other: TraceMatrix) -> TraceMatrix:
        """Scale and move onto ``other`` (same shape and spacing), cell over cell,
        so that one can replace the other in place."""
        self.scale(other.brackets[0].height / self.brackets[0].height)
        key = next(iter(self.cells))
        self.shift(other.cells[key].get_corner(DR) - self.cells[key].get_corner(DR))
        return self

    def row(self, r: int) -> VGroup:
        """The shown cells of row ``r`` of the block."""
        return VGroup(*(m for (i, _), m in self.cells.items() if i == r))

    def col(self, c: int) -> VGroup:
        """The shown cells of column ``c`` of the block."""
        return VGroup(*(m for (_, j), m in self.cells.items() if j == c))

    def row_ends(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Left and right points beside shown row ``r`` (for labels and arrows)."""
        i = self.rows.index(r)
        y = self.mob_matrix[i][0].get_center()[1]
        return (
            np.array([self.get_left()[0], y, 0.0]),
            np.array([self.get_right()[0], y, 0.0]),
        )

    def col_top(self, c: int) -> np.ndarray:
        j = self.cols.index(c)
        x = self.mob_matrix[0][j].get_center()[0]
        return np.array([x, self.get_top()[1], 0.0])

    def label_rows(
        self,
        labels: Sequence[str] | Mapping[int, str],
        font_size: float = 22,
        color=MUTED,
    ) -> VGroup:
        """Tokens (or other plain text) to the left of the shown rows, by row
        index; ``group.by_row[r]`` is the label of row ``r``."""
        group = VGroup()
        group.by_row = {}
        for r in self.rows:
            if _label(labels, r) is None:
                continue
            label = word(_label(labels, r), font_size=font_size, color=color)
            left, _ = self.row_ends(r)
            place_word(label, left)
            label.shift((left[0] - 0.15 - label.get_right()[0]) * RIGHT)
            group.add(label)
            group.by_row[r] = label
        return group

    def label_cols(
        self,
        labels: Sequence[str] | Mapping[int, str],
        font_size: float = 20,
        color=MUTED,
    ) -> VGroup:
        """Plain-text labels above the shown columns, by column index. Labels too
        wide for their column alternate between two lines rather than shrink."""
        group = VGroup()
        room = self._cell_width() * 0.95 if len(self.cols) > 1 else None
        made = {
            c: word(_label(labels, c), font_size=font_size, color=color)
            for c in self.cols
            if _label(labels, c) is not None
        }
        stagger = room is not None and any(m.width > room for m in made.values())
        for j, (c, label) in enumerate(made.items()):
            if room is not None:  # never wider than two columns: no overlaps
                fit(label, 1.9 * room if stagger else room)
            lift = 0.3 + (0.3 * font_size / 20 if stagger and j % 2 else 0.0)
            place_word(label, self.col_top(c) + lift * UP)
            group.add(label)
        return group

    def heat(
        self, color: ManimColor = WEIGHT_COLOR, peak: float | None = None
    ) -> VGroup:
        """Filled squares behind the cells, opacity ∝ |value|: attention weights
        in :data:`WEIGHT_COLOR`, the one colour map of weights."""
        finite = np.abs(self.values[np.isfinite(self.values)])
        peak = peak or (float(finite.max()) if finite.size else 1.0) or 1.0
        squares = VGroup()
        for (r, c), mob in self.cells.items():
            value = self.values[r, c]
            level = 0.0 if not np.isfinite(value) else min(abs(value) / peak, 1.0)
            square = Rectangle(
                width=self._cell_width(),
                height=self._cell_height(),
                stroke_width=0,
                fill_color=color,
                fill_opacity=0.75 * level,
            ).move_to(mob)
            squares.add(square)
        return squares

    def _cell_width(self) -> float:
        if len(self.cols) < 2:
            return self.elements.width + 0.2
        a = self.mob_matrix[0][0].get_center()[0]
        b = self.mob_matrix[0][1].get_center()[0]
        return abs(b - a) * 0.96

    def _cell_height(self) -> float:
        if len(self.rows) < 2:
            return self.elements.height + 0.15
        a = self.mob_matrix[0][0].get_center()[1]
        b = self.mob_matrix[1][0].get_center()[1]
        return abs(b - a) * 0.96


# --- the scene base -------------------------------------------------------------------


class TraceScene(MovingCameraScene):
    """A scene that animates stages of the trace.

    ``self.trace`` is the trace; every :class:`TraceMatrix` made through
    :meth:`matrix` is listed in ``self.shown`` (tests compare them with the trace).
    The camera can zoom onto the block being computed (:meth:`zoom`); the header,
    its corner map and the caption stay put on screen meanwhile.
    """

    def setup(self) -> None:
        self.trace = load_trace()
        self.shown: list[TraceMatrix] = []
        self._caption: Mobject | None = None
        self._caption_ready = 0.0  # when the caption on screen was fully shown
        self._caption_old: Mobject | None = None  # to fade out before the next
        self._caption_new = False  # the next play() brings a new caption in
        self._clear: list[Mobject] = []  # to fade out with the old caption
        self.body_top = BODY_TOP
        self.corner_map: Mobject | None = None  # the map of the model, if shown
        self._header: Mobject | None = None
        self._fixed: list[Mobject] = []  # kept on screen as the camera moves

    # numbers

    def matrix(
        self,
        stage: str,
        index: tuple[int, ...] = (),
        *,
        transpose: bool = False,
        **kwargs,
    ) -> TraceMatrix:
        """``trace[stage][index]`` (transposed if asked) as a :class:`TraceMatrix`."""
        values = np.asarray(self.trace[stage])[index] if index else self.trace[stage]
        values = np.atleast_2d(values)
        if transpose:
            values = values.T
        mob = TraceMatrix(
            values, stage=stage, index=index, transposed=transpose, **kwargs
        )
        self.shown.append(mob)
        return mob

    # layout

    def place(self, tag: str) -> Place | None:
        """Where in the model this scene is, for its corner map: from its stage
        tag, unless the scene says (a class attribute ``map_place``)."""
        return getattr(self, "map_place", None) or locate(tag)

    def header(self, title: str, formula: str | Sequence[str], tag: str = "") -> VGroup:
        """The map of the model with this scene's block lit (top left, see
        :mod:`~explainer.scenes.model_map`), the title beside it, the stage it
        shows (below the title), the formula (top right or, if there is no room,
        under them)."""
        title_mob = text(title, font_size=36).to_corner(UL, buff=0.4)
        parts = VGroup(title_mob)
        place = self.place(tag)
        if place is not None:
            self.corner_map = corner_map(self.trace, place, MAP_HEIGHT)
            self.corner_map.to_corner(UL, buff=0.25)
            title_mob.next_to(self.corner_map, RIGHT, buff=0.3)
            title_mob.align_to(self.corner_map, UP)
            parts.add(self.corner_map)
        if tag:
            tag_mob = mono(tag, font_size=18, color=MUTED)
            tag_mob.next_to(title_mob, DOWN, aligned_edge=LEFT, buff=0.15)
            parts.add(tag_mob)
        lines = [formula] if isinstance(formula, str) else list(formula)
        formula_mob = VGroup(*(MathTex(line, font_size=40) for line in lines))
        formula_mob.arrange(DOWN, aligned_edge=LEFT, buff=0.2)
        room = 13.4 - parts.width - 0.6
        natural = formula_mob.width * min(1.0, 1.9 / formula_mob.height)
        if natural * 0.7 <= room:  # beside the title, a little smaller if need be
            fit(formula_mob, room, 1.9)
            formula_mob.to_corner(UR, buff=0.4)
        else:  # no room beside the title: a line of its own, under it
            fit(formula_mob, 13.2, 1.3)
            formula_mob.next_to(parts, DOWN, buff=0.2).to_edge(RIGHT, buff=0.4)
        self.formula = formula_mob
        parts.add(formula_mob)
        self._header = parts
        self.body_top = min(parts.get_bottom()[1] - 0.3, 2.4)
        return parts

    def map_to(self, place: Place) -> list[Animation]:
        """Animations that light ``place`` on the corner map instead (none if the
        scene has no map)."""
        if self.corner_map is None:
            return []
        lit = corner_map(self.trace, place, self.corner_map.height)
        lit.move_to(self.corner_map)
        return [Transform(self.corner_map, lit)]

    def body(self, mob: Mobject, width: float = BODY_WIDTH, shift=ORIGIN) -> Mobject:
        """Scale ``mob`` down to the free area under the header and centre it there."""
        height = self.body_top - BODY_BOTTOM
        fit(mob, width, height)
        mob.move_to(np.array([0.0, (self.body_top + BODY_BOTTOM) / 2, 0.0]) + shift)
        return mob

    def caption(self, content: str) -> list[Animation]:
        """Animations that bring ``content`` in as the caption at the bottom, on
        one line or two (:func:`caption_text`).

        The next :meth:`play` first holds the old caption until it has been read
        (:func:`~explainer.render.pace.required_seconds`) and fades it out alone,
        so that two captions are never on screen together.
        """
        new = caption_text(content).set_fill(GRAY_A, opacity=1)
        self.on_screen(new.to_edge(DOWN, buff=0.3))
        if self._caption is not None and not self._caption_new:
            self._caption_old = self._caption
        self._caption = new
        self._caption_new = True
        return [FadeIn(new, shift=0.1 * UP)]

    # the camera

    def _view(self) -> tuple[float, np.ndarray]:
        """The camera's zoom (frame width over Manim's) and centre."""
        frame = self.camera.frame
        return frame.width / config.frame_width, frame.get_center()

    def on_screen(self, mob: Mobject) -> Mobject:
        """Move ``mob``, laid out for the unmoved camera, to the same place on
        screen in the camera's present view (nothing to do if unmoved)."""
        k, center = self._view()
        if abs(k - 1) > 1e-9 or np.abs(center).max() > 1e-9:
            mob.scale(k, about_point=ORIGIN).shift(center)
        return mob

    def fix(self, *mobs: Mobject) -> None:
        """Keep ``mobs`` where they are on screen when the camera moves (as the
        header and the caption are)."""
        self._fixed += mobs

    def zoom(
        self,
        target: Mobject | None,
        most: float = 2.5,
        room: float = 0.92,
        bottom: float = BODY_BOTTOM,
        least: float = 1.0,
    ) -> list[Animation]:
        """Animations that move the camera so that ``target`` fills the body (the
        area under the header, down to ``bottom`` on screen), magnified at most
        ``most`` times (and at least ``least``); ``None`` moves it back. Text is
        magnified rather than shrunk to fit. The header, the corner map, the
        caption and what :meth:`fix` was given stay where they are on screen.
        What lies outside the new view should be faded out first (the linter
        reports text off the frame). Bring a new caption in before calling this.
        """
        old_k, old_c = self._view()
        if target is None:
            new_k, new_c = 1.0, np.zeros(3)
        else:
            height = self.body_top - bottom
            scale = room * min(BODY_WIDTH / target.width, height / target.height)
            new_k = 1 / min(max(scale, least), most)
            body_center = np.array([0.0, (self.body_top + bottom) / 2, 0.0])
            new_c = target.get_center() - body_center * new_k
        ratio = new_k / old_k
        frame = self.camera.frame
        anims = [frame.animate.scale(ratio).move_to(new_c)]
        fixed = [self._header, self._caption, *self._fixed]  # not the old caption:
        # play() fades that out, where it is, before this animation
        shown = {id(m) for top in self.mobjects for m in top.get_family()}
        for mob in dict.fromkeys(m for m in fixed if m is not None):
            if id(mob) in shown:
                anims.append(
                    mob.animate.scale(ratio, about_point=old_c).shift(new_c - old_c)
                )
            else:  # a caption still to come: where it will be seen
                mob.scale(ratio, about_point=old_c).shift(new_c - old_c)
        return anims

    def caption_left(self) -> float:
        """Seconds the caption on screen must still stay to be read."""
        if self._caption is None or self._caption_new:
            return 0.0
        content = getattr(self._caption, "text", "")
        shown = float(self.renderer.time) - self._caption_ready
        return max(required_seconds(content) - shown, 0.0)

    def clear(self, *mobs: Mobject) -> None:
        """Fade ``mobs`` out just before the next animation, together with the old
        caption once it has been read: a caption never stays over an empty
        picture, and the next picture does not fade in over this one."""
        self._clear += mobs

    def play(self, *args, **kwargs) -> None:
        """:meth:`Scene.play`, keeping the reading pace of the captions (and
        fading out what :meth:`clear` was given)."""
        old, new, gone = self._caption_old, self._caption_new, self._clear
        if old is not None or gone:
            self._caption_old, self._caption_new, self._clear = None, False, []
            if old is not None:
                self._caption, keep = old, self._caption
                left = self.caption_left()
                if left > 0:  # at least one frame (Manim warns below that)
                    self.wait(max(left, 1 / config.frame_rate))
                self._caption = keep
            fading = [mob for mob in [old, *gone] if mob is not None]
            self.play(FadeOut(*fading), run_time=0.4 if gone else 0.3)
            self._caption_new = new
        super().play(*args, **kwargs)
        if new:
            self._caption_new = False
            self._caption_ready = float(self.renderer.time)

    def assemble(self, mob: Mobject) -> None:
        """Put ``mob`` on screen as one mobject, replacing any parts of it that
        animations added one by one (so that it can be transformed whole)."""
        self.remove(*mob.get_family())
        self.add(mob)

    def say(self, content: str, run_time: float = 0.6) -> None:
        self.play(*self.caption(content), run_time=run_time)

    def finish(self, hold: float = 1.0) -> None:
        """Hold the last picture (``explainer render`` then fades it out, which is
        the movie's transition; ``manim -s`` saves this picture), at least until
        the last caption has been read."""
        self.wait(max(hold, self.caption_left(), 1 / config.frame_rate))


def latex(expr: sp.Basic, **settings: object) -> str:
    """The LaTeX of ``expr`` in reading order, words upright (γ(x − μ)/√(σ² + ε) + β,
    \\mathrm{Attention}): :func:`explainer.symbolic.render.latex`, the same
    printer as ``explainer derive --latex``."""
    return render.latex(expr, **settings)


def formula_lines(expr: sp.Basic) -> list[str]:
    """LaTeX lines of a formula: one per element of a tuple of equations."""
    if isinstance(expr, sp.Tuple | tuple | list):
        return [latex(part) for part in expr]
    return [latex(expr)]


def equation(lhs: sp.Basic | str, rhs: sp.Basic) -> str:
    """``lhs = rhs`` in LaTeX; ``lhs`` may be ready-made LaTeX."""
    left = lhs if isinstance(lhs, str) else latex(lhs)
    return f"{left} = {latex(rhs)}"
