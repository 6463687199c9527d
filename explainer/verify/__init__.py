"""``verify``: every formula, evaluated from its SymPy definition on the numbers a
forward pass recorded, against the numbers it recorded.

>>> from explainer import ModelConfig, trace_sentence
>>> trace = trace_sentence(ModelConfig(n_layers=1), "you win or you die")
>>> results = verify(trace, derivations=False)  # the proofs: see .derivations
>>> all(r.ok for r in results)
True
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from explainer.i18n import N_
from explainer.trace import Trace
from explainer.verify.backward import check_backward, forward_only
from explainer.verify.derivations import (
    SYMBOLIC,
    check_derivations,
    derivation_names,
)
from explainer.verify.formulas import DIGITS
from explainer.verify.identities import check_identities
from explainer.verify.result import TOLERANCE, CheckResult, summary_line
from explainer.verify.stages import check_stages
from explainer.verify.structure import ALL_STAGES, check_inputs, check_structure
from explainer.verify.tokens import check_tokens
from explainer.wording import words

__all__ = ["TOLERANCE", "CheckResult", "summary_line", "verify"]


def verify(
    trace: Trace, *, derivations: bool = True, precision: bool = True
) -> list[CheckResult]:
    """All checks on ``trace``; raises ValueError if the trace is incomplete.

    When a stage reads other inputs than the trace format says, only that is
    reported (with the tokens and the proofs): the formulas would be evaluated on
    the wrong arrays.

    Every call returns the same checks for a trace: those switched off
    (``derivations``, ``precision``) are rows marked skipped, so that a report
    and ``explainer verify`` count the same number of checks.
    """
    full, trace = trace, forward_only(trace)  # backward stages: check_backward
    layout = check_structure(trace)
    inputs = list(check_inputs(trace, layout))
    results = [*check_tokens(trace), *inputs]
    if all(r.ok for r in inputs):
        # A foreign trace may hold ±inf where finite numbers belong: the checks
        # report it as a failure, so NumPy's warnings would only be noise.
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            results += [*check_stages(trace), *check_identities(trace)]
            results.append(_precision(trace) if precision else _not_run())
        results += check_backward(full)
    results.extend(check_derivations() if derivations else _not_proved())
    return results


def _precision(trace: Trace) -> CheckResult:
    """The 50-digit pass (mpmath is imported for it)."""
    from explainer.verify.precision import check_precision

    return check_precision(trace)


def whole_pass() -> str:
    """The name of the 50-digit check (run or skipped)."""
    return words(N_("whole pass at {digits} digits"), digits=DIGITS)


NOT_RUN = words(
    N_("not run here (explainer verify runs it; explainer report --prove too)")
)


def _not_run() -> CheckResult:
    """The 50-digit pass, counted but skipped: every run has the same checks."""
    return CheckResult(
        "precision", whole_pass(), ALL_STAGES, 0.0, 0.0, True,
        skipped=True, detail=NOT_RUN,
    )  # fmt: skip


def _not_proved() -> list[CheckResult]:
    """One skipped row per derivation, as :func:`check_derivations` gives one."""
    row = CheckResult("derivation", "", SYMBOLIC, 0.0, 0.0, True, skipped=True)
    return [replace(row, formula=name, detail=NOT_RUN) for name in derivation_names()]
