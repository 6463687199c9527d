"""The SymPy expression ``verify`` evaluates for each op of a section, as MathML,
with a line saying what its symbols stand for."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from markupsafe import Markup

from explainer.i18n import _
from explainer.ops.registry import Column
from explainer.report.cache import remembered
from explainer.trace import Op, Stage
from explainer.verify.formulas import FORMULAS

GLOSS = Column("gloss")
"""What the symbols of each op's formula stand for (its entry in explainer.ops)."""


@dataclass(frozen=True)
class OpFormula:
    op: str
    stages: tuple[str, ...]
    math: Markup
    gloss: str

    @property
    def short(self) -> str:
        """The stages by their last name part: ``scores, scaled``."""
        return ", ".join(name.rsplit(".", 1)[-1] for name in self.stages)


def op_formulas(stages: list[Stage]) -> list[OpFormula]:
    """The SymPy expression verify evaluates for each op of these stages."""
    by_op: dict[Op, list[str]] = {}
    for s in stages:
        if s.op in FORMULAS:
            by_op.setdefault(s.op, []).append(s.name)
    return [
        OpFormula(str(op), tuple(names), _op_math(op), _gloss(op))
        for op, names in by_op.items()
    ]


def _gloss(op: Op) -> str:
    """The op's gloss in the language in use (marked in explainer.ops)."""
    gloss = GLOSS.get(op, "")
    return _(gloss) if gloss else ""


def _op_math(op: Op) -> Markup:
    return _formula_math(f"op:{op}")  # "op:": derivations are remembered too


@functools.cache
@remembered()  # across runs: report/cache.py (0.1–0.3 s of printing a run)
def _formula_math(name: str) -> Markup:
    from explainer.report.mathml import mathml  # SymPy: only when not remembered

    return mathml(FORMULAS[name.removeprefix("op:")])  # an Op is its str
