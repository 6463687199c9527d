"""The whole forward pass again at 50 significant digits (mpmath), from the trace's
parameters and token ids through the same SymPy formulas, compared with the trace."""

from __future__ import annotations

import mpmath
import numpy as np

from explainer.trace import Op, Trace
from explainer.verify.formulas import DIGITS, EXACT_OPS, MPMATH, evaluate
from explainer.verify.result import TOLERANCE, CheckResult
from explainer.verify.stages import context

MAX_PARAMS = 200_000
"""Larger models are skipped: mpmath numbers are Python objects, about 10⁴× slower."""


def check_precision(trace: Trace) -> CheckResult:
    """One result: the largest relative gap between the trace and the 50-digit pass,
    naming the first stage where it exceeds the tolerance (if any)."""
    tol = TOLERANCE[trace.config.dtype]
    size = sum(v.size for v in trace.params.values())
    if size > MAX_PARAMS:
        return CheckResult(
            "precision", f"whole pass at {DIGITS} digits", "all stages", 0.0, tol,
            True, skipped=True,
            detail=f"{size:,} parameters: too many for mpmath (limit {MAX_PARAMS:,})",
        )  # fmt: skip
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
    where = first_bad or worst_at or "all stages"
    detail = (
        f"first divergence at {first_bad}" if first_bad else f"largest at {worst_at}"
    )
    return CheckResult(
        "precision", f"whole pass at {DIGITS} digits", where, worst, tol,
        not first_bad, detail=detail,
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
