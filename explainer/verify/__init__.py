"""``verify``: every formula, evaluated from its SymPy definition on the numbers a
forward pass recorded, against the numbers it recorded.

>>> from explainer import ModelConfig, trace_sentence
>>> results = verify(trace_sentence(ModelConfig(n_layers=1), "you win or you die"))
>>> all(r.ok for r in results)
True
"""

from __future__ import annotations

from explainer.trace import Trace
from explainer.verify.derivations import check_derivations
from explainer.verify.identities import check_identities
from explainer.verify.precision import check_precision
from explainer.verify.result import TOLERANCE, CheckResult, summary_line
from explainer.verify.stages import check_stages
from explainer.verify.structure import check_structure

__all__ = ["TOLERANCE", "CheckResult", "summary_line", "verify"]


def verify(
    trace: Trace, *, derivations: bool = True, precision: bool = True
) -> list[CheckResult]:
    """All checks on ``trace``; raises ValueError if the trace is incomplete."""
    check_structure(trace)
    results = [*check_stages(trace), *check_identities(trace)]
    if precision:
        results.append(check_precision(trace))
    if derivations:
        results.extend(check_derivations())
    return results
