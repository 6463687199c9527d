"""Derivations (:mod:`explainer.symbolic`) as plain data with MathML, split into
their titled groups so that each section shows the steps it needs.

A group is a titled step and the untitled steps after it; inside a group a step
whose left side is the previous right side is shown as ``= rhs`` (a chain).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from markupsafe import Markup

from explainer.report.cache import remembered
from explainer.report.translate import english
from explainer.step_labels import LABELS, tally_text

if TYPE_CHECKING:
    import sympy as sp

# SymPy, the derivations and the MathML printer are imported when a view is
# built: the views are remembered (report/cache.py), so a warm run needs none.


@dataclass(frozen=True)
class StepView:
    lhs: Markup | None  # None: continues the chain above
    rhs: Markup  # "= rhs"
    why: str
    cases: str  # where a case-by-case proof was done, else ""
    label: str  # proved | instances | definition | numeric | assumption | identical
    support: str  # the label in words: "checked for T = 1…5"


@dataclass(frozen=True)
class Group:
    title: str
    steps: tuple[StepView, ...]


@dataclass(frozen=True)
class DerivationView:
    name: str
    title: str
    source: str
    formulas: tuple[Markup, ...]
    where: tuple[Markup, ...]
    groups: tuple[Group, ...]
    counts: str  # "9 proved, 2 checked on instances, …"
    tally: tuple[int, ...]  # the steps per label, in the order of LABELS


@functools.cache
@remembered(DerivationView, Group, StepView)  # across runs: report/cache.py
@english  # remembered in English; the templates translate (report/translate.py)
def derivation_view(name: str) -> DerivationView:
    """The derivation ``name`` with every formula and step as MathML."""
    import sympy as sp

    from explainer.report.mathml import equation, mathml
    from explainer.symbolic import get_derivation

    d = get_derivation(name)
    formulas = tuple(d.formula) if isinstance(d.formula, sp.Tuple) else (d.formula,)
    groups: list[Group] = []
    title, steps, previous = "", [], None
    for step in d.steps:
        if step.title or previous is None:
            if steps:
                groups.append(Group(title, tuple(steps)))
            title, steps = step.title, []
        chained = bool(steps) and previous is not None and step.lhs == previous.rhs
        steps.append(
            StepView(
                lhs=None if chained else mathml(step.lhs, display=False, style=True),
                rhs=equation(None, step.rhs),
                why=step.why,
                cases=step.describe_cases(),
                label=step.label,
                support=step.support(),
            )
        )
        previous = step
    groups.append(Group(title, tuple(steps)))
    return DerivationView(
        name=d.name,
        title=d.title,
        source=d.source,
        formulas=tuple(mathml(f) for f in formulas if not _truth_value(f)),
        where=tuple(mathml(eq) for eq in d.where),
        groups=tuple(groups),
        counts=tally_text(d.tally()),
        tally=tuple(d.tally()[label] for label in LABELS),
    )


def step_counts(names: list[str]) -> str:
    """The steps of the derivations ``names``, counted by label, in words (from
    the views, which are remembered: no derivation is built for it)."""
    total = dict.fromkeys(LABELS, 0)
    for name in names:
        for label, count in zip(LABELS, derivation_view(name).tally, strict=True):
            total[label] += count
    return tally_text(total)


def _truth_value(formula: sp.Basic) -> bool:
    """An ``Eq`` that SymPy evaluated on creation to true or false: it has no
    equation left to show (e.g. a name set equal to a matrix)."""
    import sympy as sp

    return isinstance(formula, sp.logic.boolalg.BooleanAtom)


@dataclass(frozen=True)
class Excerpt:
    """The groups of one derivation that a section shows (or points back to)."""

    view: DerivationView
    groups: tuple[Group, ...]
    first: bool  # shown in full here; otherwise ``seen_in`` names the section
    headline: bool  # the derivation's first appearance: show its formula too
    seen_in: str
    whole: bool  # every group of the derivation

    @property
    def steps(self) -> int:
        return sum(len(g.steps) for g in self.groups)


def excerpt(
    name: str,
    keep: Callable[[str], bool] | None,
    seen: dict[tuple[str, str], str],
    section: str,
) -> Excerpt | None:
    """The groups of ``name`` that ``keep`` accepts (all when None).

    ``seen`` maps (derivation, group title) to the section that first showed it;
    a group shown before is not repeated, the excerpt points back to it instead.
    """
    view = derivation_view(name)
    chosen = tuple(g for g in view.groups if keep is None or keep(g.title))
    if not chosen:
        return None
    headline = not any((name, g.title) in seen for g in view.groups)
    fresh = tuple(g for g in chosen if (name, g.title) not in seen)
    for g in fresh:
        seen[(name, g.title)] = section
    earlier = "" if fresh else seen[(name, chosen[0].title)]
    return Excerpt(
        view=view,
        groups=fresh or chosen,
        first=bool(fresh),
        headline=headline,
        seen_in=earlier,
        whole=len(chosen) == len(view.groups),
    )


def titled(*words: str) -> Callable[[str], bool]:
    """A group filter: the title contains one of ``words`` (case-insensitive)."""
    lowered = [w.lower() for w in words]
    return lambda title: any(w in title.lower() for w in lowered)
