"""What a verification check returns, and the tolerances it is judged by."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

TOLERANCE: dict[str, float] = {"float64": 1e-10, "float32": 1e-4}
"""Largest accepted gap, relative to max(1, largest |value|), for the identities
and the 50-digit whole pass: there errors are carried from stage to stage, and no
one op's bound applies. Each stage's formula row has its own bound per entry
instead, from the op and its sizes (:mod:`explainer.verify.error_model`).

float64 keeps about 16 significant digits and float32 about 7; the limits leave
room for the rounding of sums over a few thousand terms (≈ 10⁶ and 10³ units in the
last place) and no more: a wrong formula misses them by orders of magnitude.
"""


@dataclass(frozen=True)
class CheckResult:
    """One check: a formula or identity evaluated on the numbers of a trace."""

    check: str  # what kind: formula, identity, derivation, precision, tokens
    formula: str  # which formula (an op or a derivation name)
    where: str  # stage (and head) it was evaluated on
    max_abs_err: float
    tol: float
    ok: bool
    skipped: bool = False
    detail: str = ""
    # Where a failing check is most wrong, for a learner to look (empty when ok):
    cell: str = ""  # "head 1, row 2 'win', column 0 'you'"
    expected: float | None = None  # the formula's value at that cell
    actual: float | None = None  # the trace's value there
    hint: str = ""  # "looks like: n − 1 in the variance", when a known slip matches
    # Exact checks (ids, masks, one-hot rows, predictions) count entries instead:
    differ: int | None = None  # entries that differ
    entries: int | None = None  # entries compared

    @property
    def status(self) -> str:
        return "skip" if self.skipped else "ok" if self.ok else "FAIL"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; an infinite error is the string ``"inf"``, as in the
        trace format, because JSON has no infinity.

        >>> CheckResult("formula", "scale", "s", float("inf"), 1e-10, False).to_dict()[
        ...     "max_abs_err"]
        'inf'
        """
        data = {**asdict(self), "status": self.status}
        for key in ("max_abs_err", "tol", "expected", "actual"):
            if data[key] is not None and not math.isfinite(data[key]):
                data[key] = str(data[key])
        return data


def summary_line(results: list[CheckResult]) -> str:
    """``N passed, M failed`` (and skipped ones, if any)."""
    passed = sum(r.ok and not r.skipped for r in results)
    failed = sum(not r.ok and not r.skipped for r in results)
    skipped = sum(r.skipped for r in results)
    line = f"{passed} passed, {failed} failed"
    return line + (f", {skipped} skipped" if skipped else "")
