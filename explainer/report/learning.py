"""The report's "Watch it learn" section as plain data: the loss curve (an SVG
made by :func:`explainer.train.curve.loss_curve_svg`) and, for each checkpoint
and the final step, the demo pair's cross-attention heatmap
(:func:`explainer.train.learning.watch_learning`), Chinese words as rows and
English words as columns, with the step and the loss under it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from markupsafe import Markup

from explainer.i18n import _
from explainer.report.tables import Table, exact, number, table
from explainer.train.curve import loss_curve_svg
from explainer.train.learning import Learning, Snapshot


@dataclass(frozen=True)
class Heatmap:
    """One checkpoint's heatmap and what is written under it."""

    step: int
    loss: str  # the training loss over every pair ("" when not recorded)
    loss_exact: str
    pair_loss: str  # the demo pair's own cross-entropy
    pair_loss_exact: str
    hits: int  # Chinese words whose largest weight is on an aligned English word
    table: Table


@dataclass(frozen=True)
class LearningView:
    """Everything the section shows."""

    curve: Markup  # the loss curve, an inline SVG
    english: str
    chinese: str
    layer: int
    head: int  # the head taught the alignment (0-based, as the report counts heads)
    other: int | None  # another head of the same layer, shown for contrast
    guided: bool
    steps: int
    words: int  # Chinese words (the <eos> row is not counted in ``hits``)
    heatmaps: list[Heatmap]
    contrast: Heatmap | None  # the other head at the final step
    first_loss: str
    last_loss: str


def learning_view(learning: Learning) -> LearningView:
    """The section's data for ``learning``."""
    marks = [s.step for s in learning.snapshots if s.step < len(learning.losses)]
    curve = Markup(  # our own SVG text: numbers and an escaped title only
        loss_curve_svg(
            learning.losses,
            [s + 1 for s in marks],
            "",
            (_("Adam steps done"), _("loss"), _("loss curve")),
        )
    )
    n_heads = learning.snapshots[0].weights.shape[0]
    other = next((h for h in range(n_heads) if h != learning.head), None)
    final = learning.snapshots[-1]
    return LearningView(
        curve=curve,
        english=" ".join(learning.source),
        chinese=" ".join(learning.rows[:-1]),
        layer=learning.layer,
        head=learning.head,
        other=other,
        guided=learning.guided,
        steps=learning.steps,
        words=len(learning.rows) - 1,
        heatmaps=[_heatmap(learning, s, learning.head) for s in learning.snapshots],
        contrast=None if other is None else _heatmap(learning, final, other),
        first_loss=number(learning.losses[0]),
        last_loss=number(learning.losses[-1]),
    )


def _heatmap(learning: Learning, snap: Snapshot, head: int) -> Heatmap:
    name = f"decoder.{learning.layer}.cross_attn.weights"
    grid = table(
        name,
        snap.weights[head],
        rows=list(learning.rows),
        cols=list(learning.source),
        caption=_("head {head}").format(head=head),
        scale="probability",
        head=head,
    )
    grid = _two_decimals(grid)
    return Heatmap(
        step=snap.step,
        loss="" if snap.loss is None else number(snap.loss),
        loss_exact="" if snap.loss is None else exact(snap.loss),
        pair_loss=number(snap.pair_loss),
        pair_loss_exact=exact(snap.pair_loss),
        hits=sum(learning.hits(snap, head)),
        table=grid,
    )


def _two_decimals(grid: Table) -> Table:
    """Weights written with two decimals (0.48, 1.00, 0.00): narrow enough for a
    phone; the exact value stays on hover."""
    rows = tuple(
        replace(
            row,
            cells=tuple(replace(c, text=f"{float(c.exact):.2f}") for c in row.cells),
        )
        for row in grid.rows
    )
    return replace(grid, rows=rows)
