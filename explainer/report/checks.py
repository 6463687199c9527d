"""Verification results grouped by the stage they were evaluated on.

``verify`` names each result's place in ``where``: a stage name, with
``" [head h]"`` for the rows of a per-head stage; derivation proofs have
``where == "symbolic"`` and the derivation's name in ``formula``. A stage checked
on more than ``MAX_HEAD_ROWS`` heads with one outcome is listed as one row (the
heads' range and the largest error): 9 heads × 30 layers would otherwise be
thousands of rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from explainer.i18n import _, pgettext
from explainer.report.tables import number
from explainer.verify import CheckResult
from explainer.wording import kind_name, shown

MAX_HEAD_ROWS = 4  # per-head results of one stage listed one by one, at most


@dataclass(frozen=True)
class CheckRow:
    kind: str  # formula, identity, tokens, precision
    formula: str
    stage: str
    head: str  # "head 0", or "" for whole-stage checks
    error: str
    error_exact: str
    tolerance: str
    status: str  # ok | FAIL | skip
    detail: str


@dataclass(frozen=True)
class Verdict:
    """Every check of one section, and what they add up to."""

    rows: tuple[CheckRow, ...]
    status: str  # ok | fail | none
    worst: str  # largest error among the formula checks, rounded
    count: int  # checks, whether or not rows merged some of them


@dataclass(frozen=True)
class Proof:
    """The outcome of proving a derivation's steps with SymPy."""

    status: str  # ok | fail | none (not proved in this run)
    detail: str


def split_where(where: str) -> tuple[str, str]:
    """``"enc.0.q [head 1]"`` → ``("enc.0.q", "head 1")``.

    >>> split_where("encoder.0.self_attn.q [head 1]")
    ('encoder.0.self_attn.q', 'head 1')
    >>> split_where("output.probs")
    ('output.probs', '')
    """
    stage, _, rest = where.partition(" [")
    return stage, rest.rstrip("]")


class Checks:
    """Results of one ``verify`` run, looked up by stage or derivation."""

    def __init__(self, results: Iterable[CheckResult]) -> None:
        self.results = tuple(results)
        self._by_stage: dict[str, list[CheckResult]] = defaultdict(list)
        self._proofs: dict[str, CheckResult] = {}
        ids = [r.where for r in self.results if r.formula == "token_ids"]
        for r in self.results:
            if r.check == "derivation":
                self._proofs[r.formula] = r
            elif r.check != "precision":  # the whole pass: shown in the header
                self._by_stage[_stage_of(r, ids)].append(r)

    def verdict(self, stages: Sequence[str]) -> Verdict:
        """The checks of ``stages``, formulas first, in the order verify ran them."""
        found = [r for s in stages for r in self._by_stage.get(s, ())]
        found.sort(key=lambda r: r.check != "formula" and r.check != "tokens")
        rows = tuple(_merged(found))
        failed = any(not r.ok and not r.skipped for r in found)
        errors = [r.max_abs_err for r in found if r.check == "formula" and r.tol > 0]
        return Verdict(
            rows=rows,
            status="none" if not rows else "fail" if failed else "ok",
            worst=number(max(errors)) if errors else "0",
            count=len(found),
        )

    def proof(self, derivation: str) -> Proof:
        r = self._proofs.get(derivation)
        if r is None or r.skipped:
            return Proof("none", _("not proved in this run (explainer report --prove)"))
        return Proof("ok" if r.ok else "fail", shown(r.detail) or _(r.status))

    @property
    def summary(self) -> dict[str, int]:
        """Passed, failed and skipped checks, and their ``total``: the number
        ``explainer verify`` prints for the same trace (verify counts the checks
        a run leaves out as skipped)."""
        return {
            "passed": sum(r.ok and not r.skipped for r in self.results),
            "failed": sum(not r.ok and not r.skipped for r in self.results),
            "skipped": sum(r.skipped for r in self.results),
            "total": len(self.results),
        }


def _stage_of(r: CheckResult, ids: Sequence[str]) -> str:
    """The stage a result belongs to; the checks of the text, tokens and
    vocabulary (``tokens.source``, ``tokens.target``, ``vocab``) go with the
    stage of the ids they label: the source's first, the target's second.

    >>> row = CheckResult("tokens", "text → tokens", "tokens.target", 0, 0, True)
    >>> _stage_of(row, ["encoder.embed.ids", "decoder.embed.ids"])
    'decoder.embed.ids'
    """
    if r.check == "tokens" and ids:
        if r.where in ("tokens.source", "vocab"):
            return ids[0]
        if r.where == "tokens.target":
            return ids[-1]
    return split_where(r.where)[0]


def _merged(results: Sequence[CheckResult]) -> list[CheckRow]:
    """One row per result, except that the per-head results of one stage with one
    outcome become a single row when there are more than ``MAX_HEAD_ROWS``: the
    row of the head closest to its tolerance."""
    groups: dict[tuple, list[CheckResult]] = {}
    for n, r in enumerate(results):
        stage, head = split_where(r.where)
        key = (r.check, r.formula, stage, r.status) if head else (n,)
        groups.setdefault(key, []).append(r)
    rows = []
    for group in groups.values():
        if len(group) <= MAX_HEAD_ROWS:
            rows.extend(_row(r) for r in group)
            continue
        worst = max(group, key=_margin)
        heads = [split_where(r.where)[1].removeprefix("head ") for r in group]
        span = _("heads {first}–{last} ({n})").format(
            first=heads[0], last=heads[-1], n=len(group)
        )
        rows.append(_row(worst, span))
    return rows


def _margin(r: CheckResult) -> float:
    """How much of its tolerance a result used (its error, for exact checks)."""
    return r.max_abs_err / r.tol if r.tol > 0 else r.max_abs_err


def _row(r: CheckResult, heads: str = "") -> CheckRow:
    stage, head = split_where(r.where)
    counted = r.check in ("tokens", "derivation", "structure")
    exact = r.tol == 0
    equal = pgettext("entries of a check", "equal")
    if r.differ is not None:  # ids, masks, one-hot rows: entries, not an error
        error = (
            equal
            if not r.differ
            else _("{differ} of {entries} differ").format(
                differ=r.differ, entries=r.entries
            )
        )
    elif counted:
        error = "—"
    else:
        error = equal if exact and r.ok else number(r.max_abs_err)
    if head:
        head = _("head {h}").format(h=head.removeprefix("head "))
    return CheckRow(
        kind=kind_name(r.check),
        formula=shown(r.formula),
        stage=stage,
        head=heads or head,
        error=error,
        error_exact=repr(float(r.max_abs_err)),
        tolerance=_("exact") if exact else f"{r.tol:.1e}".replace("-", "−"),
        status=r.status,
        detail="; ".join(_diagnosis(r)),
    )


def _diagnosis(r: CheckResult) -> list[str]:
    """Why a row failed: its detail, its worst cell and the slip it looks like."""
    parts = [shown(r.detail)] if r.detail else []
    if not r.ok and r.cell:
        values = ""
        if r.expected is not None and r.actual is not None:
            values = ": " + _("formula {expected}, trace {actual}").format(
                expected=number(r.expected), actual=number(r.actual)
            )
        parts.append(_("worst at {cell}").format(cell=shown(r.cell)) + values)
    if not r.ok and r.hint:
        parts.append(shown(r.hint))
    return parts
