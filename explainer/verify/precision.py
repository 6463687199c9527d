"""The whole forward pass again at 50 significant digits (mpmath), from the trace's
parameters and token ids through the same SymPy formulas, compared with the trace."""

from __future__ import annotations

import mpmath
import numpy as np

from explainer.i18n import N_
from explainer.trace import Op, Trace
from explainer.verify import error_model, whole_pass
from explainer.verify.formulas import DIGITS, EXACT_OPS, MPMATH, evaluate
from explainer.verify.result import TOLERANCE, CheckResult
from explainer.verify.stages import context
from explainer.verify.structure import ALL_STAGES
from explainer.wording import words

MAX_PARAMS = 200_000
"""Larger models get the float64 re-evaluation of each stage instead."""


def check_precision(trace: Trace) -> CheckResult:
    """One result: for a small model, the largest relative gap between the trace
    and the 50-digit pass, naming the first stage where it exceeds the tolerance
    (if any); for a larger one, see :func:`check_stages_in_float64`."""
    size = sum(v.size for v in trace.params.values())
    if size > MAX_PARAMS:
        return check_stages_in_float64(trace)
    tol = TOLERANCE[trace.config.dtype]
    worst, worst_at, first_bad = 0.0, "", ""
    with mpmath.workdps(DIGITS):
        high = {name: MPMATH.array(v) for name, v in trace.params.items()}
        for stage in trace.stages:
            if stage.op == Op.TOKEN_IDS:
                high[stage.name] = stage.value
                continue
            inputs = [high[name] for name in stage.inputs]
            value = np.asarray(
                evaluate(stage.op, inputs, context(trace, stage), MPMATH)
            )
            high[stage.name] = value
            if stage.op in EXACT_OPS:
                if not np.array_equal(value.astype(stage.value.dtype), stage.value):
                    first_bad = first_bad or stage.name
                continue
            gap = _relative_gap(value, stage.value)
            if gap > worst:
                worst, worst_at = gap, stage.name
            if gap > tol and not first_bad:
                first_bad = stage.name
    where = first_bad or worst_at or ALL_STAGES
    detail = (
        words(N_("first divergence at {stage}"), stage=first_bad)
        if first_bad
        else words(N_("largest at {stage}"), stage=worst_at)
    )
    return CheckResult(
        "precision", whole_pass(), where, worst, tol, not first_bad, detail=detail,
    )  # fmt: skip


def _relative_gap(high: np.ndarray, low: np.ndarray) -> float:
    finite = np.isfinite(low)
    if not np.array_equal(
        finite, np.array([mpmath.isfinite(v) for v in high.ravel()]).reshape(low.shape)
    ):
        return float("inf")
    if not finite.any():
        return 0.0
    h = high[finite]
    lo = low[finite].astype(np.float64)
    scale = max(1.0, float(np.abs(lo).max()))
    return max(float(abs(a - b)) for a, b in zip(h, lo, strict=True)) / scale


def check_stages_in_float64(trace: Trace) -> CheckResult:
    """Each stage's formula in float64 on the stage's recorded inputs, against the
    trace, entry by entry within the op's rounding-error bound. One result: the
    worst error/bound ratio (1 is the edge), at the first stage past its bound or
    else the stage closest to it; its error and tolerance are that stage's (as in
    :func:`explainer.verify.error_model.judge`)."""
    dtype = trace.config.dtype
    worst, worst_at, first_bad = (0.0, 0.0, 0.0), "", ""
    for stage in trace.stages:
        if stage.op == Op.TOKEN_IDS:
            continue
        inputs = [trace[name] for name in stage.inputs]
        ctx = context(trace, stage)
        value = np.asarray(evaluate(stage.op, inputs, ctx))
        if stage.op in EXACT_OPS or value.shape != stage.shape:
            same = value.shape == stage.shape and np.array_equal(
                value.astype(stage.value.dtype), stage.value
            )
            if not same and not first_bad:
                first_bad, worst = stage.name, (np.inf, np.inf, 0.0)
            continue
        limit = error_model.bound(stage.op, inputs, value, ctx, dtype)
        err, tol, ok = error_model.judge(value, stage.value, limit)
        ratio = err / tol if tol else np.inf if err else 0.0
        if not first_bad and (not ok or ratio > worst[0]):
            worst, worst_at = (ratio, err, tol), stage.name
            first_bad = "" if ok else stage.name
    ratio, err, tol = worst
    where = first_bad or worst_at or ALL_STAGES
    detail = (
        words(N_("first past its bound at {stage}"), stage=first_bad)
        if first_bad
        else words(
            N_("error/bound at most {ratio}, at {stage}"),
            ratio=f"{ratio:.2g}", stage=worst_at,
        )
    )  # fmt: skip
    name = words(N_("each stage in float64 from its {dtype} inputs"), dtype=dtype)
    return CheckResult("precision", name, where, err, tol, not first_bad, detail=detail)
