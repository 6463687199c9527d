"""The arithmetic behind a matrix product, written out on screen.

:class:`DotProduct` is one entry of a product: a row times a column, term by term,
``a₁b₁ + a₂b₂ + … (+ b) = result``. :class:`WeightedRows` is one row of
weights · V: each value row scaled by its weight, then added.

The factors shown are the trace's numbers; the result shown is the trace's own
entry of the stage (never the sum recomputed here). The terms in between (each
product, each scaled row) are the display arithmetic that explains it, rounded as
shown. Each object keeps ``sources``: the trace stage and index every number comes
from, so that tests can recompute the terms from the trace independently.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from explainer.scenes.common import (
    DECIMALS,
    HIGHLIGHT,
    MUTED,
    WEIGHT_COLOR,
    display_value,
    flatten,
    number,
)
from manim import *

FONT = 24  # digits ≥ 13 px at 720p
TERM_LIMIT = 8  # a sum of more terms shows the first ones, ⋯, and the last
Source = tuple[str, tuple]  # (stage, numpy index into trace[stage])


@functools.cache
def _sign(tex: str) -> VMobject:
    """An operator or bracket (no letter or digit: not a text), at font size 48."""
    return flatten(MathTex(tex))


def sign(tex: str, font_size: float = FONT, color: ManimColor = WHITE) -> VMobject:
    """``+``, ``=``, ``\\cdot``, ``(`` … as a flat mobject of ``font_size``."""
    return _sign(tex).copy().scale(font_size / 48).set_fill(color, opacity=1)


def shown_terms(size: int, limit: int = TERM_LIMIT) -> list[int | None]:
    """The terms written out of a sum of ``size``: all, or the first ``limit − 2``,
    ``None`` (⋯), and the last.

    >>> shown_terms(4)
    [0, 1, 2, 3]
    >>> shown_terms(64, 5)
    [0, 1, 2, None, 63]
    """
    if size <= limit:
        return list(range(size))
    return [*range(limit - 2), None, size - 1]


def _factor(value: float, color: ManimColor, font_size: float) -> VGroup:
    """A factor, in parentheses if negative; ``group.value`` is the number's mob."""
    mob = number(value, DECIMALS, font_size).set_fill(color)
    if display_value(value) < 0:
        group = VGroup(sign("(", font_size), mob, sign(")", font_size))
        group.arrange(RIGHT, buff=0.03)
    else:
        group = VGroup(mob)
    group.value = mob
    return group


def _signed(value: float, first: bool, font_size: float) -> tuple[VMobject, VMobject]:
    """An operator (``+``/``−``, nothing before the first term) and |value|."""
    shown = display_value(value)
    if first:
        return VMobject(), number(shown, DECIMALS, font_size)
    op = sign("-" if shown < 0 else "+", font_size)
    return op, number(abs(shown), DECIMALS, font_size)


class DotProduct(VGroup):
    """``lhs = a₁·b₁ + a₂·b₂ + … (+ bias)`` on the first line(s), then
    ``= p₁ + p₂ + … = result``: a row times a column, term by term.

    ``factors[i]`` are the mobs of a_i and b_i (``.number`` = the value shown),
    ``products`` the values of the products as shown (signed), ``total`` the
    result's mob (the trace's value), ``relation`` ``=`` or ``≈`` (≈ when the
    rounded products do not add up to the rounded result).
    """

    def __init__(
        self,
        a: np.ndarray,
        b: np.ndarray,
        result: float,
        *,
        lhs: str,
        sources: dict[str, Source],
        bias: float | None = None,
        a_color: ManimColor = WHITE,
        b_color: ManimColor = WHITE,
        font_size: float = FONT,
        width: float = 13.0,
        limit: int = TERM_LIMIT,
    ) -> None:
        super().__init__()
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        self.sources = sources
        self.shown = shown_terms(len(a), limit)
        self.factors: list[tuple[VMobject, VMobject]] = []
        self.products: list[float] = []
        self.bias = None if bias is None else display_value(bias)
        self.lhs = MathTex(lhs + " =", font_size=font_size + 4)
        # The pairs a_i · b_i, wrapped into lines no wider than ``width``; each
        # product of the trace's numbers rounded on its own, so that every term
        # is right as shown (the sum then reads ≈ if the rounded terms miss the
        # rounded result by a last place).
        exact = None not in self.shown
        picked = [i for i in self.shown if i is not None]
        self.products = [display_value(float(a[i] * b[i])) for i in picked]
        items: list[VMobject] = []
        for i in self.shown:
            if i is None:
                items.append(sign(r"\cdots", font_size, MUTED))
                continue
            fa = _factor(a[i], a_color, font_size)
            fb = _factor(b[i], b_color, font_size)
            items.append(VGroup(fa, sign(r"\cdot", font_size), fb).arrange(RIGHT, 0.06))
            self.factors.append((fa.value, fb.value))
        if bias is not None:
            items.append(_factor(bias, MUTED, font_size))
        self.pair_lines = self._wrap(items, width - self.lhs.width - 0.6, font_size)
        # The products, then the result.
        terms: list[VMobject] = []
        self.product_mobs: list[VMobject] = []
        values = [p for p in self.products]
        k = 0
        for n, i in enumerate(self.shown):
            if i is None:
                terms += [sign("+", font_size), sign(r"\cdots", font_size, MUTED)]
                continue
            op, mob = _signed(values[k], n == 0, font_size)
            mob.number = values[k]  # the signed value this term stands for
            # the first term has no operator: an empty mobject would be laid
            # out at the origin and pull the term onto the "="
            terms += [op, mob] if n else [mob]
            self.product_mobs.append(mob)
            k += 1
        if bias is not None:
            op, mob = _signed(self.bias, False, font_size)
            mob.set_fill(MUTED)
            terms += [op, mob]
        shown_sum = round(sum(values) + (self.bias or 0.0), DECIMALS) + 0.0
        self.equal = not exact or shown_sum == display_value(result)
        self.relation = "=" if self.equal else r"\approx"
        self.total = number(result, DECIMALS, font_size).set_fill(HIGHLIGHT)
        self.products_line = VGroup(
            sign("=", font_size), *terms, sign(self.relation, font_size), self.total
        ).arrange(RIGHT, buff=0.12)
        for mob in self.products_line:  # numbers sit on one baseline
            if hasattr(mob, "number"):
                mob.align_to(self.total, DOWN)
        lines = VGroup(*self.pair_lines, self.products_line)
        lines.arrange(DOWN, aligned_edge=LEFT, buff=0.3)
        self.lhs.next_to(self.pair_lines[0], LEFT, buff=0.2)
        # "=" of the products under the lhs's end: the chain reads downwards.
        self.products_line.shift(
            (self.lhs.get_right()[0] - self.products_line[0].get_right()[0]) * RIGHT
        )
        self.add(self.lhs, *self.pair_lines, self.products_line)

    @staticmethod
    def _wrap(items: list[VMobject], width: float, font_size: float) -> list[VGroup]:
        lines: list[VGroup] = [VGroup()]
        for item in items:
            line = lines[-1]
            plus = sign("+", font_size)
            extra = item.width + (plus.width + 0.24 if len(line) else 0.0)
            if len(line) and line.width + extra > width:
                lines.append(VGroup(sign("+", font_size)))
                line = lines[-1]
            elif len(line):
                line.add(plus)
            line.add(item)
            line.arrange(RIGHT, buff=0.12)
        return lines

    def pairs(self) -> VGroup:
        """The factor lines (what appears first)."""
        return VGroup(*self.pair_lines)


def show_dot(
    scene: Scene,
    dot: DotProduct,
    a_cells: Sequence[VMobject],
    b_cells: Sequence[VMobject],
    caption: Sequence[Animation] = (),
) -> None:
    """Animate ``dot``: the factors fly from the cells they are read from (shown
    entries of the row and the column, in order), then the products, then the
    result."""
    copies = []
    for (fa, fb), ca, cb in zip(dot.factors, a_cells, b_cells, strict=False):
        copies += [TransformFromCopy(ca, fa), TransformFromCopy(cb, fb)]
    targets = {id(m) for pair in dot.factors for m in pair}
    rest = [
        m
        for line in dot.pair_lines
        for m in line.get_family()
        if m.has_points() and id(m) not in targets
    ]
    scene.play(FadeIn(dot.lhs), FadeIn(VGroup(*rest)), *copies, *caption, run_time=1.2)
    line = dot.products_line
    scene.play(FadeIn(VGroup(*line[:-2]), lag_ratio=0.05), run_time=1.0)
    scene.play(FadeIn(line[-2]), FadeIn(line[-1], shift=0.2 * LEFT), run_time=0.6)
    scene.wait(0.4)


class WeightedRows(VGroup):
    """One output row of weights · V: ``w_j × v_j`` for each key j, one a line,
    turned into the scaled rows ``w_j v_j``, whose column sums are the output row.

    ``weights`` (the row of attention weights), ``rows`` (the value rows shown,
    ``None`` for ⋮) and ``cols`` (columns shown, ``None`` for ⋯) index the trace's
    arrays; ``scaled[(j, c)]`` are the scaled entries as shown, ``total`` the
    trace's output row (mobs with ``.number``).
    """

    def __init__(
        self,
        weights: np.ndarray,
        values: np.ndarray,
        output: np.ndarray,
        *,
        rows: Sequence[int | None],
        cols: Sequence[int | None],
        labels: Sequence[str],
        sources: dict[str, Source],
        value_color: ManimColor = ORANGE,
        font_size: float = FONT,
    ) -> None:
        super().__init__()
        from explainer.scenes.common import word

        self.sources = sources
        self.rows, self.cols = list(rows), list(cols)
        self.scaled: dict[tuple[int, int], float] = {}
        widest = max(
            number(v, DECIMALS, font_size).width
            for v in [*values[[r for r in rows if r is not None]].ravel(), *output]
        )
        step = widest + 0.35
        row_height = 0.5 * font_size / 24

        def row_of(entries: dict[int, VMobject], y: float, x0: float) -> VGroup:
            group = VGroup()
            for n, c in enumerate(self.cols):
                mob = entries[c] if c is not None else sign(r"\cdots", font_size, MUTED)
                mob.move_to([x0 + n * step, y, 0])
                group.add(mob)
            return group

        keys = [j for j in self.rows if j is not None]
        for c in (c for c in self.cols if c is not None):
            for j in keys:  # each scaled entry rounded on its own, as shown
                self.scaled[(j, c)] = display_value(float(weights[j] * values[j, c]))
        self.weight_mobs, self.value_rows, self.scaled_rows = VGroup(), [], []
        self.labels, self.times = VGroup(), VGroup()
        x0 = 0.0
        x1 = x0 + step / 2 + len(self.cols) * step + 0.5  # the scaled rows
        self.equals = VGroup()
        for n, j in enumerate(self.rows):
            y = -n * row_height
            if j is None:
                dots = sign(r"\vdots", font_size, MUTED).move_to([x0, y, 0])
                self.times.add(dots)
                self.value_rows.append(None)
                self.scaled_rows.append(None)
                continue
            w = number(weights[j], DECIMALS, font_size).set_fill(WEIGHT_COLOR)
            w.move_to([-1.0, y, 0])
            self.weight_mobs.add(w)
            times = sign(r"\times", font_size).move_to([-0.45, y, 0])
            self.times.add(times)
            label = word(labels[j], 20, MUTED)
            label.next_to(w, LEFT, buff=0.3)
            self.labels.add(label)
            entries = {
                c: number(values[j, c], DECIMALS, font_size).set_fill(value_color)
                for c in self.cols
                if c is not None
            }
            self.value_rows.append(row_of(entries, y, x0 + step / 2))
            scaled = {
                c: number(self.scaled[(j, c)], DECIMALS, font_size).set_fill(
                    value_color
                )
                for c in self.cols
                if c is not None
            }
            self.scaled_rows.append(row_of(scaled, y, x1))
            self.equals.add(sign("=", font_size).move_to([x1 - step / 2 - 0.05, y, 0]))
        y = -len(self.rows) * row_height - 0.25
        left = x1 - widest / 2 - 0.1
        right = x1 + (len(self.cols) - 1) * step + widest / 2 + 0.1
        self.rule = Line([left, y + 0.12, 0], [right, y + 0.12, 0], color=MUTED)
        self.total_mobs = {
            c: number(output[c], DECIMALS, font_size).set_fill(HIGHLIGHT)
            for c in self.cols
            if c is not None
        }
        self.total = row_of(dict(self.total_mobs), y - 0.3, x1)
        # Σ, or Σ ≈ when a column's rounded entries miss its rounded total.
        self.equal = None in self.rows or all(
            round(sum(self.scaled[(j, c)] for j in keys), DECIMALS) + 0.0
            == display_value(output[c])
            for c in self.cols
            if c is not None
        )
        total_sign = r"\Sigma" if self.equal else r"\Sigma\,\approx"
        self.sum_sign = sign(total_sign, font_size).next_to(self.total, LEFT, 0.3)
        self.add(self.labels, self.weight_mobs, self.times)
        self.add(*(r for r in self.value_rows if r is not None))
        self.add(*(r for r in self.scaled_rows if r is not None), self.equals)
        self.add(self.rule, self.sum_sign, self.total)


def show_weighted(
    scene: Scene,
    rows: WeightedRows,
    weight_cells: Sequence[VMobject],
    caption: Sequence[Animation] = (),
    more: Sequence[Animation] = (),
) -> None:
    """Animate ``rows``: weights fly in beside their value rows, each row becomes
    its scaled row, then the rows add up to the output row."""
    fly = [
        TransformFromCopy(cell, mob)
        for cell, mob in zip(weight_cells, rows.weight_mobs, strict=False)
    ]
    values = [r for r in rows.value_rows if r is not None]
    scene.play(
        *fly,
        FadeIn(rows.labels, rows.times, *values),
        *caption,
        *more,
        run_time=1.2,
    )
    scaled = [r for r in rows.scaled_rows if r is not None]
    scene.play(
        *(TransformFromCopy(v, s) for v, s in zip(values, scaled, strict=True)),
        FadeIn(rows.equals),
        run_time=1.2,
    )
    scene.play(
        Create(rows.rule),
        FadeIn(rows.sum_sign),
        *(
            TransformFromCopy(VGroup(*(v[n] for v in values)), rows.total[n])
            for n in range(len(rows.cols))
            if rows.cols[n] is not None
        ),
        run_time=1.2,
    )


def _vector(trace, spec: tuple) -> tuple[np.ndarray, Source]:
    """The vector ``spec`` = (stage, index, row, transposed) names: row ``row`` of
    ``trace[stage][index]`` (of its transpose: a column), and its source."""
    stage, index, row, transposed = spec
    block = np.atleast_2d(np.asarray(trace[stage])[index] if index else trace[stage])
    if transposed:
        return block[:, row], (stage, (*index, slice(None), row))
    return block[row], (stage, (*index, row))


def worked_dot(
    scene,
    a: tuple,
    b: tuple,
    result: Source,
    *,
    lhs: str,
    names: tuple[str, str],
    words: tuple[str, str],
    colors: tuple[ManimColor, ManimColor],
    view: Mobject,
    froms: tuple[Mobject | None, Mobject | None],
    cell: Mobject | None,
    captions: tuple[str, str],
    bias: Source | None = None,
    leaving: Mobject | None = None,
) -> DotProduct:
    """One entry of a product worked out in a panel of its own: the ``view`` (the
    matrices) gives way to the row ``a`` and the column ``b`` (specs of
    :func:`_vector`, flying out of ``froms``), the sum term by term, and the
    trace's ``result``, which then flies into ``cell`` as the view comes back
    (without ``leaving``: marks that go for good).

    The vectors are :meth:`TraceScene.matrix` matrices (checked like any shown
    matrix); the DotProduct is listed in ``scene.dots``.
    """
    trace = scene.trace
    a_values, a_source = _vector(trace, a)
    b_values, b_source = _vector(trace, b)
    cols = shown_terms(len(a_values))
    from explainer.scenes.common import TraceMatrix

    # One column spacing for both vectors: the wider numbers' (entry under entry).
    spacing = max(
        TraceMatrix(values[None, :], cols=cols, font_size=FONT).h_buff
        for values in (a_values, b_values)
    )
    vecs = []
    for (stage, index, row, transposed), color in zip((a, b), colors, strict=True):
        vec = scene.matrix(
            stage,
            index,
            transpose=transposed,
            rows=[row],
            cols=cols,
            font_size=FONT,
            h_buff=spacing,
        )
        vecs.append(vec.set_color(color))
    value = float(np.asarray(trace[result[0]])[result[1]])
    bias_value = None if bias is None else float(np.asarray(trace[bias[0]])[bias[1]])
    dot = DotProduct(
        a_values,
        b_values,
        value,
        lhs=lhs,
        bias=bias_value,
        sources={
            "a": a_source,
            "b": b_source,
            "result": result,
            **({"bias": bias} if bias else {}),
        },
        a_color=colors[0],
        b_color=colors[1],
    )
    scene.dots = [*getattr(scene, "dots", []), dot]
    from explainer.scenes.common import word

    vec_group = VGroup(*vecs).arrange(DOWN, buff=0.3)
    labels = VGroup()
    for name, token, color, vec in zip(names, words, colors, vecs, strict=True):
        label = VGroup(MathTex(name, font_size=30, color=color))
        if token:
            label.add(word(token, 22, MUTED))
        label.arrange(RIGHT, buff=0.2).next_to(vec, LEFT, buff=0.3)
        labels.add(label)
    panel = VGroup(VGroup(labels, vec_group), dot)
    panel.arrange(DOWN, buff=0.5, aligned_edge=LEFT)
    scene.body(panel)
    scene.play(
        FadeOut(view, *([leaving] if leaving is not None else [])),
        *(
            FadeIn(vec) if source is None else TransformFromCopy(source, vec)
            for source, vec in zip(froms, vecs, strict=True)
        ),
        FadeIn(labels),
        *scene.caption(captions[0]),
        run_time=1.0,
    )
    a_row, b_row = (vec.row(vec.rows[0]) for vec in vecs)
    show_dot(scene, dot, list(a_row), list(b_row), scene.caption(captions[1]))
    back = [FadeOut(labels, vec_group, VGroup(*dot[:-1]), *dot.products_line[:-1])]
    # A cell that comes back with the view stays hidden until the result lands.
    inside = cell is not None and any(m is cell for m in view.get_family())
    if cell is not None:
        back.append(Transform(dot.total, cell.copy()))
        if inside:
            cell.set_fill(opacity=0)
    else:
        back.append(FadeOut(dot.total))
    scene.play(*back, FadeIn(view), run_time=1.0)
    if cell is not None:
        scene.remove(dot.total)
        if inside:
            cell.set_fill(opacity=1)
        else:
            scene.add(cell)
    return dot
