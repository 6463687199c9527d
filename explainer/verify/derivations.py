"""The symbolic derivations themselves: every step proved by SymPy."""

from __future__ import annotations

from collections.abc import Iterator

from explainer.symbolic import get_derivation, list_derivations
from explainer.verify.result import CheckResult


def check_derivations() -> Iterator[CheckResult]:
    """One result per derivation: all its steps proved, or the first that is not."""
    for name in list_derivations():
        derivation = get_derivation(name)
        results = derivation.check()
        bad = [r for r in results if not r.ok]
        detail = (
            f"{len(results)} steps proved"
            if not bad
            else (f"step not proved: {bad[0].step.why} (remainder {bad[0].residual})")
        )
        yield CheckResult(
            "derivation", name, "symbolic", 0.0 if not bad else float(len(bad)), 0.0,
            not bad, detail=detail,
        )  # fmt: skip
