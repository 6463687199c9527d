"""Derivations as data: equations that SymPy proves, one step at a time.

A :class:`Step` claims ``lhs = rhs`` and says why in one line.  :meth:`Step.check`
proves it by applying SymPy transforms (``by``) to ``lhs - rhs`` until it is
exactly zero.  Abbreviations such as μ or σ² are expanded from ``defs`` first.
A step that SymPy can only prove for concrete sizes lists ``cases`` (for example
n = 2 … 6) and is proved at each of them; a case may also be symbolic, such as
n = j + 1 + r with r ≥ 0, which is how "for every n > j" is said to SymPy.

Every step says what kind of support it has (its ``kind``, see :data:`KINDS`):
proved for all sizes, checked on instances (which ones), a definition or rewrite,
a numeric estimate (checked by evaluating both sides with mpmath), or an
assumption (not checked).  A step with concrete ``cases`` is checked on
instances whatever it claims, and a step whose two sides are the same expression
is labelled ``identical``: it holds, but proves nothing.

A :class:`Derivation` is a formula plus its steps; it renders them as Unicode or
LaTeX.  Nothing here prints: ``check`` returns :class:`StepResult` values.

>>> a = sp.Symbol("a", real=True)
>>> d = Derivation(
...     name="square",
...     title="A square",
...     source="school",
...     formula=sp.Eq(sp.Symbol("f"), (a + 1) ** 2),
...     steps=chain((a + 1) ** 2, (a**2 + 2 * a + 1, "binomial", ("expand",))),
... )
>>> [r.ok for r in d.check()]
[True]
>>> print(d.steps[0].to_latex())
\\left(a + 1\\right)^{2} = a^{2} + 2 a + 1
>>> wrong = Step((a + 1) ** 2, a**2 + 1, "forgot the cross term", by=("expand",))
>>> wrong.check().residual
'2*a'
>>> Step(a, a, "planted").label, d.steps[0].label
('identical', 'proved')
>>> tally_text(tally([Step(a, a, "planted"), *d.steps]))
'1 proved, 0 checked on instances, 0 definitions, 0 numeric, 0 assumptions, \
1 identical (no proof)'
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sympy as sp

from explainer.i18n import _

# the labels are defined without SymPy (a page counts steps); named here too
from explainer.step_labels import IDENTICAL, KINDS, LABELS, tally_text  # noqa: F401

from .render import latex, latex_text, pretty, pretty_equation
from .tactics import (
    TRANSFORMS,
    Definition,
    apply_transform,
    canonical_sums,
    explicit,
    is_zero,
    unfold,
)

Case = tuple[tuple[sp.Symbol, sp.Basic | int], ...]
"""One substitution, as ((symbol, value), …), so that steps stay hashable."""

NUMERIC_RTOL = 5e-3
"""A numeric step holds when both sides agree to this relative error: the
estimates are shown with three significant digits."""

# --- steps ---------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """The outcome of proving one step.

    ``residual`` is what was left of ``lhs - rhs`` (or the error) when the proof
    failed, empty when it succeeded; ``cases`` counts the instances checked
    (0 for a proof with no substitution).
    """

    step: Step
    ok: bool
    residual: str
    cases: int
    seconds: float

    @property
    def label(self) -> str:
        """The step's label (see :attr:`Step.label`)."""
        return self.step.label


@dataclass(frozen=True)
class Step:
    """One claimed equation ``lhs = rhs`` with a one-line justification ``why``.

    ``by`` names the :data:`TRANSFORMS` applied in order to ``lhs - rhs``; the
    step holds when the result is exactly zero.  ``defs`` are abbreviations
    unfolded before the proof.  When ``cases`` is non-empty the step is proved at
    each substitution.  A ``title`` starts a new block when shown.

    ``kind`` is one of :data:`KINDS`; ``on`` names the instances of a step
    checked on instances without ``cases`` ("T = 2, d_model = 2").  A
    ``numeric`` step holds when ``lhs`` and ``rhs``, evaluated with mpmath,
    agree to :data:`NUMERIC_RTOL`; an ``assumption`` is not checked.
    """

    lhs: sp.Basic
    rhs: sp.Basic
    why: str
    by: tuple[str, ...] = ("simplify",)
    cases: tuple[Case, ...] = ()
    defs: tuple[Definition, ...] = ()
    title: str = ""
    kind: str = "proved"
    on: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "lhs", sp.sympify(self.lhs))
        object.__setattr__(self, "rhs", sp.sympify(self.rhs))
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r}; valid: {sorted(KINDS)}")
        if self.kind == "instances" and not (self.on or self.cases):
            raise ValueError(f"step {self.why!r}: say which instances (on=…)")
        unknown = [name for name in self.by if name not in TRANSFORMS]
        if unknown:
            raise ValueError(
                f"unknown transform(s) {unknown}; valid: {sorted(TRANSFORMS)}"
            )
        if not self.why:
            raise ValueError(f"step {self.lhs} = {self.rhs} needs a justification")

    def remainder(
        self, case: dict[sp.Symbol, sp.Basic | int] | None = None
    ) -> sp.Basic:
        """What the transforms leave of ``lhs - rhs``: zero when the step holds."""
        expr = unfold(self.lhs - self.rhs, self.defs)
        if self.defs:
            expr = canonical_sums(expr)  # unfolding introduces fresh summation indices
        if case:
            expr = expr.subs(case)
        if isinstance(expr, sp.MatrixExpr) and all(
            sp.S(d).is_Integer for d in expr.shape
        ):
            expr = explicit(expr)
        for name in self.by:
            expr = apply_transform(name, expr)
        return expr

    @property
    def label(self) -> str:
        """What supports the step: a key of :data:`KINDS`, or :data:`IDENTICAL`.

        Mechanical, not taken on trust: two structurally equal sides (compared
        before any simplification) are ``identical`` whatever the step claims,
        and a "proof" at concrete ``cases`` is ``instances``.
        """
        if self.lhs == self.rhs:
            return IDENTICAL
        if self.kind == "proved" and _concrete(self.cases):
            return "instances"
        return self.kind

    def support(self) -> str:
        """The label in words: 'proved for all sizes', 'checked for T = 1…5' …"""
        label = self.label
        if label == IDENTICAL:
            return _("both sides identical: not a proof")
        if label == "instances":
            return _("checked for {cases}").format(
                cases=self.on or self.describe_cases()
            )
        return _(KINDS[label])

    def check(self) -> StepResult:
        """Prove the step with SymPy; a false or unprovable step is a failed result.

        A numeric step is evaluated instead; an assumption is not checked.
        """
        start = time.perf_counter()
        if self.kind == "assumption":
            return StepResult(self, True, "", 0, time.perf_counter() - start)
        if self.kind == "numeric":
            return StepResult(self, *self._estimate(), 0, time.perf_counter() - start)
        residual = ""
        for case in [dict(case) for case in self.cases] or [{}]:
            try:
                rest = self.remainder(case)
            except Exception as err:  # a failed proof is a result, not a crash
                residual = f"{type(err).__name__}: {err}"
                break
            if not is_zero(rest):
                where = f" at {_format_case(case)}" if case else ""
                residual = f"{sp.sstr(rest)}{where}"
                break
        return StepResult(
            step=self,
            ok=not residual,
            residual=residual,
            cases=len(self.cases),
            seconds=time.perf_counter() - start,
        )

    def _estimate(self) -> tuple[bool, str]:
        """(ok, residual) of a numeric step: both sides to 30 digits, compared."""
        try:
            left, right = (
                sp.N(_exact(unfold(side, self.defs)), 30)
                for side in (self.lhs, self.rhs)
            )
            gap = abs(left - right)
            ok = bool(gap <= NUMERIC_RTOL * abs(right))
        except Exception as err:  # a failed check is a result, not a crash
            return False, f"{type(err).__name__}: {err}"
        return ok, "" if ok else f"{sp.sstr(left)} vs {sp.sstr(right)}"

    def to_latex(self) -> str:
        """``lhs = rhs`` as LaTeX."""
        return f"{latex(self.lhs)} = {latex(self.rhs)}"

    def to_pretty(self) -> str:
        """``lhs = rhs`` as Unicode art."""
        return pretty_equation(self.lhs, self.rhs, show_lhs=True)

    def describe_cases(self) -> str:
        """Where a case-by-case proof was done ('n = 2, 3, 4'), else ''."""
        return _describe_cases(self.cases)


def _concrete(steps_cases: Sequence[Case]) -> bool:
    """True when some case gives a symbol a number (n = 3, not n = j + 1 + r)."""
    return any(sp.S(value).is_number for case in steps_cases for _, value in case)


def _exact(expr: sp.Basic) -> sp.Basic:
    """Published and shown decimals read as the exact fractions they name (so a
    3-digit point is not evaluated at 3 digits), then sums and substitutions."""
    expr = apply_transform("decimals", expr).replace(
        lambda e: isinstance(e, sp.Float), lambda e: sp.Rational(str(e))
    )
    return apply_transform("doit", expr)


def _format_case(case: dict[sp.Symbol, sp.Basic | int]) -> str:
    return ", ".join(f"{symbol} = {value}" for symbol, value in case.items())


def _describe_cases(steps_cases: Sequence[Case]) -> str:
    if not steps_cases:
        return ""
    if len(steps_cases) == 1:
        return ", ".join(f"{symbol} = {value}" for symbol, value in steps_cases[0])
    names = [symbol for symbol, _ in steps_cases[0]]
    size = names[0]
    values = sorted({dict(case)[size] for case in steps_cases}, key=sp.default_sort_key)
    text = f"{size} = " + _span(values)
    if len(names) > 1:
        text += " (every " + ", ".join(str(s) for s in names[1:]) + ")"
    return text


def _span(values: Sequence[sp.Basic | int]) -> str:
    """'1…5' for a run of three or more consecutive integers, else '1, 3'."""
    numbers = [int(v) for v in values if sp.S(v).is_Integer]
    if len(numbers) == len(values) >= 3 and numbers == list(
        range(numbers[0], numbers[-1] + 1)
    ):
        return f"{numbers[0]}…{numbers[-1]}"
    return ", ".join(str(v) for v in values)


def tally(steps: Iterable[Step | StepResult]) -> dict[str, int]:
    """How many steps have each label, every label of :data:`LABELS` included."""
    counts = dict.fromkeys(LABELS, 0)
    for step in steps:
        counts[step.label] += 1
    return counts


def cases(
    size: sp.Symbol, values: Iterable[int], *indices: sp.Symbol
) -> tuple[Case, ...]:
    """Substitutions ``size = v`` for each v, with every index running over range(v).

    >>> from sympy.abc import i, n
    >>> len(cases(n, [2, 3], i)), cases(n, [2], i)
    (5, (((n, 2), (i, 0)), ((n, 2), (i, 1))))
    """
    out: list[Case] = []
    for value in values:
        for combo in itertools.product(range(value), repeat=len(indices)):
            out.append(((size, value), *zip(indices, combo, strict=True)))
    return tuple(out)


def held(*factors: sp.Basic) -> sp.Expr:
    """A product shown as written, not auto-simplified.

    >>> from sympy.abc import a
    >>> held(a, a)
    a*a
    """
    return sp.Mul(*factors, evaluate=False)


def held_ratio(numerator: sp.Basic, denominator: sp.Basic) -> sp.Expr:
    """numerator / denominator shown as written, e.g. e^c·e^x / (e^c·Σ e^x).

    >>> from sympy.abc import a
    >>> print(sp.latex(held_ratio(held(2, a), held(2, a))))
    \\frac{2 a}{2 a}
    """
    return held(numerator, sp.Pow(denominator, -1, evaluate=False))


def chain(
    start: sp.Basic,
    *links: tuple,
    title: str = "",
    defs: tuple[Definition, ...] = (),
    case_list: tuple[Case, ...] = (),
) -> tuple[Step, ...]:
    """Steps ``start = e1 = e2 …``; each link is ``(expr, why)``, ``(expr, why, by)``
    or ``(expr, why, by, kind)``.

    >>> from sympy.abc import a
    >>> [s.rhs for s in chain(a * (a + 1), (a**2 + a, "distribute", ("expand",)))]
    [a**2 + a]
    """
    steps: list[Step] = []
    lhs = start
    for number, (expr, why, *rest) in enumerate(links):
        steps.append(
            Step(
                lhs,
                expr,
                why,
                by=rest[0] if rest else ("simplify",),
                cases=case_list,
                defs=defs,
                title=title if number == 0 else "",
                kind=rest[1] if len(rest) > 1 else "proved",
            )
        )
        lhs = steps[-1].rhs
    return tuple(steps)


# --- derivations -----------------------------------------------------------------


@dataclass(frozen=True)
class Derivation:
    """A formula, where it comes from, and the steps SymPy proves about it.

    ``formula`` is one SymPy object, or a ``sp.Tuple`` of them shown one per
    line; ``ops`` names the forward-pass ops it specifies (see
    :mod:`explainer.symbolic`).
    """

    name: str
    title: str
    source: str
    formula: sp.Basic
    steps: tuple[Step, ...]
    ops: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"derivation {self.name!r} has no steps")

    def check(self) -> tuple[StepResult, ...]:
        """Prove every step; one :class:`StepResult` per step, in order."""
        return tuple(step.check() for step in self.steps)

    def tally(self) -> dict[str, int]:
        """How many steps have each label (see :func:`tally`)."""
        return tally(self.steps)

    @property
    def where(self) -> tuple[sp.Eq, ...]:
        """The abbreviations the steps use, as equations, in order of first use."""
        seen: dict[sp.Basic, sp.Eq] = {}
        shown = set(self._formulas())
        for step in self.steps:
            for name, meaning in step.defs:
                if name in seen or isinstance(name, sp.Derivative):
                    continue
                if isinstance(meaning, sp.Lambda) and isinstance(name, sp.IndexedBase):
                    seen[name] = sp.Eq(name[meaning.variables], meaning.expr)
                elif isinstance(meaning, sp.Lambda):
                    seen[name] = sp.Eq(
                        name(*meaning.variables), meaning.expr, evaluate=False
                    )
                else:
                    seen[name] = sp.Eq(name, meaning, evaluate=False)
        return tuple(eq for eq in seen.values() if eq not in shown)

    def _formulas(self) -> tuple[sp.Basic, ...]:
        if isinstance(self.formula, sp.Tuple):
            return tuple(self.formula)
        return (self.formula,)

    def _blocks(self) -> list[list[tuple[Step, bool]]]:
        """Group steps into chains; the flag says whether to show the lhs."""
        blocks: list[list[tuple[Step, bool]]] = []
        previous: Step | None = None
        for step in self.steps:
            if previous is not None and not step.title and step.lhs == previous.rhs:
                blocks[-1].append((step, False))
            else:
                blocks.append([(step, True)])
            previous = step
        return blocks

    def shown_source(self) -> str:
        """The source in the language in use (its words, like "and footnote",
        translated; marked with ``N_`` where it is written)."""
        return _(self.source) if self.source else self.source

    def to_pretty(self) -> str:
        """The derivation as Unicode text, as ``explainer derive NAME`` prints it."""
        lines = [
            f"{_(self.title)}  ({self.name})",
            _("Source: {source}").format(source=self.shown_source()),
        ]
        if self.ops:
            lines.append(_("Forward-pass ops: {ops}").format(ops=", ".join(self.ops)))
        lines.append("")
        lines += [pretty(formula) for formula in self._formulas()]
        if self.where:
            lines += ["", _("where")] + [pretty(eq) for eq in self.where]
        lines.append("")
        number = 0
        for block in self._blocks():
            if block[0][0].title:
                lines.append(f"── {_(block[0][0].title)}")
            for step, show_lhs in block:
                number += 1
                lines.append(pretty_equation(step.lhs, step.rhs, show_lhs))
                lines.append(f"    ({number}) {_(step.why)}  [{_how(step)}]")
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_latex(self) -> str:
        """The derivation as LaTeX (``align*`` blocks), from the same SymPy objects."""
        source = latex_text(self.shown_source())
        lines = [f"% {_(self.title)} ({self.name}) -- {source}"]
        lines.append(r"\begin{gather*}")
        lines.append(" \\\\\n".join(latex(f) for f in self._formulas()))
        lines.append(r"\end{gather*}")
        if self.where:
            lines.append(_("where"))
            lines.append(r"\begin{gather*}")
            lines.append(" \\\\\n".join(latex(eq) for eq in self.where))
            lines.append(r"\end{gather*}")
        for block in self._blocks():
            if block[0][0].title:
                lines.append(rf"\paragraph{{{latex_text(_(block[0][0].title))}}}")
            lines.append(r"\begin{align*}")
            rows = []
            for step, show_lhs in block:
                left = latex(step.lhs) if show_lhs else ""
                why = f"{_(step.why)} ({step.support()})"
                rows.append(
                    f"{left} &= {latex(step.rhs)} && \\text{{{latex_text(why)}}}"
                )
            lines.append(" \\\\\n".join(rows))
            lines.append(r"\end{align*}")
        return "\n".join(lines) + "\n"


def _how(step: Step) -> str:
    """'proved for all sizes · SymPy: sums → cancel', as ``derive`` shows it."""
    if step.kind == "assumption":
        return step.support()
    tool = "mpmath" if step.kind == "numeric" else "SymPy: " + " → ".join(step.by)
    return f"{step.support()} · {tool}"


def passed(results: Iterable[StepResult]) -> bool:
    """True when every result is ok."""
    return all(result.ok for result in results)
