"""``verify``: every formula, evaluated from its SymPy definition on the numbers a
forward pass recorded, against the numbers it recorded.

>>> from explainer import ModelConfig, trace_sentence
>>> trace = trace_sentence(ModelConfig(n_layers=1), "you win or you die")
>>> results = verify(trace, derivations=False)  # the proofs: see .derivations
>>> all(r.ok for r in results)
True
"""

from __future__ import annotations

import numpy as np

from explainer.trace import Trace
from explainer.verify.derivations import check_derivations
from explainer.verify.identities import check_identities
from explainer.verify.precision import check_precision
from explainer.verify.result import TOLERANCE, CheckResult, summary_line
from explainer.verify.stages import check_stages
from explainer.verify.structure import check_inputs, check_structure

__all__ = ["TOLERANCE", "CheckResult", "summary_line", "verify"]


def verify(
    trace: Trace, *, derivations: bool = True, precision: bool = True
) -> list[CheckResult]:
    """All checks on ``trace``; raises ValueError if the trace is incomplete.

    When a stage reads other inputs than the trace format says, only that is
    reported (and the proofs): the formulas would be evaluated on the wrong arrays.
    """
    layout = check_structure(trace)
    results = list(check_inputs(trace, layout))
    if all(r.ok for r in results):
        # A foreign trace may hold ±inf where finite numbers belong: the checks
        # report it as a failure, so NumPy's warnings would only be noise.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            results += [*check_stages(trace), *check_identities(trace)]
            if precision:
                results.append(check_precision(trace))
    if derivations:
        results.extend(check_derivations())
    return results
