"""What a verification check returns, and the tolerances it is judged by."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

TOLERANCE: dict[str, float] = {"float64": 1e-10, "float32": 1e-4}
"""Largest accepted |formula − trace|, relative to max(1, largest |value|).

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
        for key in ("max_abs_err", "tol"):
            if not math.isfinite(data[key]):
                data[key] = str(data[key])
        return data


def summary_line(results: list[CheckResult]) -> str:
    """``N passed, M failed`` (and skipped ones, if any)."""
    passed = sum(r.ok and not r.skipped for r in results)
    failed = sum(not r.ok and not r.skipped for r in results)
    skipped = sum(r.skipped for r in results)
    line = f"{passed} passed, {failed} failed"
    return line + (f", {skipped} skipped" if skipped else "")
