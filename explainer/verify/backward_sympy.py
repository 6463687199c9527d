"""Each backward stage of a trace against its SymPy rule (issue 13, point 3, the
first of three ways): the rule of explainer/symbolic/backward_*.py, the one its
derivation proves, turned into a function with ``sp.lambdify`` (once, cached) and
evaluated in float64 on the stage's recorded inputs.

The NumPy rules (:mod:`explainer.backward.rules`) wrote the stages; these rows do
not call them, so a wrong NumPy rule (dW = dY Xᵀ, a softmax VJP without ⟨dy, p⟩)
fails here even though re-evaluating it by itself agrees.

Each backward op's entry (:data:`explainer.ops.OPS`) names its rule and holds it
lambdified (:mod:`explainer.ops.sympy_rules`). No SymPy rule exists for three ops,
which get no row here: ``labels`` (integers, checked exactly by the
re-evaluation), ``cross_entropy`` (the loss, checked by the finite differences)
and ``grad_sum`` (the chain rule's sum of a stage's uses).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from explainer.i18n import N_
from explainer.ops.context import GradContext as Context
from explainer.ops.registry import OPS, Column
from explainer.trace import Op, Stage, Trace
from explainer.verify.error_model import judge
from explainer.verify.result import CheckResult
from explainer.wording import Words, words

CHECK = "SymPy rule"
"""The check kind of these rows (``gradient`` is the NumPy re-evaluation's)."""

RELATIVE = {"float64": 1e-9, "float32": 1e-5}
FLOOR = {"float64": 1e-12, "float32": 1e-5}
"""As for the NumPy re-evaluation (:mod:`explainer.verify.backward`): each entry
may differ by this much of its own size, plus FLOOR of the size of the terms the
rule adds up (the rule on |inputs|)."""

RULES = Column("sympy")
"""Backward op → its SymPy rule, lambdified, on the stage's inputs (the entry's
``sympy``; its ``rule`` names it)."""


def _float64(value: np.ndarray) -> np.ndarray:
    return value.astype(np.float64) if value.dtype.kind == "f" else value


def rule_value(op: Op, arrays: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
    """The SymPy rule of ``op`` evaluated on ``arrays`` (float64)."""
    return np.asarray(RULES[op](arrays, ctx), dtype=np.float64)


def check_rule(trace: Trace, stage: Stage, ctx: Context) -> CheckResult | None:
    """The stage against its SymPy rule on its recorded inputs; None without one."""
    if stage.op not in RULES:
        return None
    name = OPS[stage.op].rule
    arrays = [_float64(trace[n]) for n in stage.inputs]
    want = rule_value(stage.op, arrays, ctx)
    got = _float64(stage.value)
    if want.shape != got.shape:
        return CheckResult(
            CHECK, name, stage.name, float("inf"), 0.0, False,
            detail=words(
                N_("the rule gives shape {shape}, the stage has {recorded}"),
                shape=list(want.shape), recorded=list(got.shape),
            ),
        )  # fmt: skip
    absolute = [np.abs(a) if a.dtype.kind == "f" else a for a in arrays]
    size = max(
        float(np.abs(v).max(initial=0.0))
        for v in (rule_value(stage.op, absolute, ctx), want)
    )
    dtype = trace.config.dtype
    limit = RELATIVE[dtype] * np.abs(want) + FLOOR[dtype] * size
    err, tol, ok = judge(want, got, limit)
    if ok:
        return CheckResult(CHECK, name, stage.name, err, tol, True)
    diff = np.nan_to_num(np.abs(want - got) - limit, nan=np.inf)
    at = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    cell = ", ".join(str(int(i)) for i in at)
    return CheckResult(
        CHECK, name, stage.name, err, tol, False,
        detail=words(N_("the SymPy rule on its recorded inputs gives other numbers")),
        cell=f"[{cell}]", expected=float(want[at]), actual=float(got[at]),
    )  # fmt: skip


def fails_too(upstream: str) -> Words:
    """The detail of a failing stage whose input fails too."""
    return words(N_("reads {stage}, which fails too: look there first"), stage=upstream)


def check_rules(
    trace: Trace, stages: Sequence[Stage], ctx: Context
) -> list[CheckResult]:
    """One row per backward stage with a SymPy rule; a failing stage that reads a
    failing stage says to look there first."""
    rows, failed = [], set()
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for stage in stages:
            row = check_rule(trace, stage, ctx)
            if row is None:
                continue
            if not row.ok:
                failed.add(stage.name)
                upstream = [n for n in stage.inputs if n in failed]
                if upstream:
                    row = dataclasses.replace(
                        row,
                        detail=fails_too(upstream[0]),
                    )
            rows.append(row)
    return rows
