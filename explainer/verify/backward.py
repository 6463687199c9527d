"""The backward stages of a trace (``explainer trace --backward``), checked two
ways (issue 13, point 3):

- **re-evaluation**: each ``backward.*`` stage again, in float64, by its op's NumPy
  rule (:mod:`explainer.backward.rules`) on the inputs the stage *recorded*, so
  that a wrong stage is named alone (the stages after it read its wrong numbers
  and agree with them); its names, ops and inputs against the layout the backward
  pass gives for this forward trace;
- **finite differences**: for every parameter θ, at a few seeded coordinates,
  (L(θ + h) − L(θ − h)) / 2h in float64, the loss from a fresh forward pass,
  against the recorded ∂L/∂θ.

- **SymPy rules**: each stage against the rule its derivation proves
  (explainer/symbolic/backward_*.py), lambdified and evaluated on the same
  recorded inputs (:mod:`explainer.verify.backward_sympy`), so that a wrong NumPy
  rule is caught too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from explainer.backward import BACKWARD_OPS, PREFIX, backward_stages
from explainer.backward.rules import Context, evaluate
from explainer.backward.walk import context
from explainer.forward import forward
from explainer.i18n import N_
from explainer.ops import OPS
from explainer.trace import Op, Stage, Trace
from explainer.verify.backward_sympy import check_rules, fails_too
from explainer.verify.error_model import judge
from explainer.verify.result import CheckResult
from explainer.wording import words

RELATIVE = {"float64": 1e-9, "float32": 1e-5}
"""Each entry may differ from its rule by this much of its own size, plus
:data:`FLOOR` of the stage's largest entry (sums that cancel). A slip (a factor
1.01, a transposed product, a missing term) misses by orders of magnitude."""
FLOOR = {"float64": 1e-12, "float32": 1e-5}

STEP = 1e-6  # h of the central differences, in float64
COORDS = 2  # coordinates sampled per parameter
FD_RELATIVE, FD_ABSOLUTE = {"float64": 1e-6, "float32": 1e-3}, 1e-7
FD_STREAM = 13  # the coordinates come from default_rng([seed, FD_STREAM])


def is_backward(stage: Stage) -> bool:
    return stage.op in BACKWARD_OPS or stage.name.startswith(PREFIX)


def forward_only(trace: Trace) -> Trace:
    """``trace`` without its backward stages (the forward checks read this)."""
    if not any(is_backward(s) for s in trace.stages):
        return trace
    return trace.with_stages(s for s in trace.stages if not is_backward(s))


def check_backward(trace: Trace) -> list[CheckResult]:
    """The rows for the backward stages; none for a trace without them."""
    recorded = [s for s in trace.stages if is_backward(s)]
    if not recorded:
        return []
    layout = backward_stages(forward_only(trace))
    rows = list(_structure(trace, layout))
    if not all(r.ok for r in rows):
        return rows
    ctx = context(trace)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        failed: set[str] = set()
        for stage in recorded:
            row = _reevaluate(trace, stage, ctx)
            if not row.ok:
                failed.add(stage.name)
                upstream = [n for n in stage.inputs if n in failed]
                if upstream:  # consistent with its own inputs' recorded values?
                    row = dataclasses.replace(
                        row,
                        detail=fails_too(upstream[0]),
                    )
            rows.append(row)
        rows += check_rules(trace, recorded, ctx)
        rows += list(_finite_differences(trace))
    return rows


def _structure(trace: Trace, layout: tuple[Stage, ...]) -> Iterator[CheckResult]:
    """Every backward stage the forward trace implies, with its op and inputs."""
    wrong = 0
    names = {s.name for s in trace.stages}
    for want in layout:
        if want.name not in names:
            detail = words(N_("missing (the forward stages imply it)"))
        else:
            got = trace.stage(want.name)
            if got.op != want.op:
                detail = words(
                    N_("has op {op}, expected {expected}"),
                    op=repr(str(got.op)), expected=repr(str(want.op)),
                )  # fmt: skip
            elif got.inputs != want.inputs:
                detail = words(
                    N_("reads {inputs}, expected {expected}"),
                    inputs=list(got.inputs), expected=list(want.inputs),
                )  # fmt: skip
            elif got.shape != want.shape:
                detail = words(
                    N_("has shape {shape}, expected {expected}"),
                    shape=list(got.shape), expected=list(want.shape),
                )  # fmt: skip
            else:
                continue
        wrong += 1
        yield CheckResult(
            "structure", BACKWARD, want.name, 1.0, 0.0, False, detail=detail
        )
    extra = names - {s.name for s in layout}
    for name in sorted(n for n in extra if is_backward(trace.stage(n))):
        wrong += 1
        yield CheckResult(
            "structure", BACKWARD, name, 1.0, 0.0, False,
            detail=words(N_("not a stage of the backward pass")),
        )  # fmt: skip
    if not wrong:
        everything = words(N_("all backward stages"))
        yield CheckResult("structure", BACKWARD, everything, 0.0, 0.0, True)


BACKWARD = words(N_("backward stages"))


def _float64(value: np.ndarray) -> np.ndarray:
    return value.astype(np.float64) if value.dtype.kind == "f" else value


def _reevaluate(trace: Trace, stage: Stage, ctx: Context) -> CheckResult:
    """The stage against its rule evaluated in float64 on its recorded inputs."""
    arrays = [_float64(trace[n]) for n in stage.inputs]
    want = evaluate(stage.op, arrays, ctx)
    got = stage.value
    if OPS[stage.op].exact:  # the labels: integers, compared exactly
        differ = int(np.sum(want != got))
        return CheckResult(
            "gradient", str(stage.op), stage.name, float(differ > 0), 0.0, not differ,
            detail=words(
                N_("{differ} of {entries} labels differ"),
                differ=differ, entries=got.size,
            ) if differ else "",
        )  # fmt: skip
    dtype = trace.config.dtype
    size = _magnitude(stage.op, arrays, want, ctx)
    limit = RELATIVE[dtype] * np.abs(want) + FLOOR[dtype] * size
    err, tol, ok = judge(want, _float64(got), limit)
    row = CheckResult("gradient", str(stage.op), stage.name, err, tol, ok)
    if ok:
        return row
    diff = np.abs(want - _float64(got)) - limit
    at = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    cell = ", ".join(str(int(i)) for i in at)
    return CheckResult(
        "gradient", str(stage.op), stage.name, err, tol, False,
        detail=words(
            N_("the rule {op} on its recorded inputs gives other numbers"),
            op=str(stage.op),
        ),
        cell=f"[{cell}]", expected=float(want[at]), actual=float(got[at]),
    )  # fmt: skip


def _magnitude(
    op: Op, arrays: list[np.ndarray], want: np.ndarray, ctx: Context
) -> float:
    """The size of the terms the rule adds up: the rule on |inputs| (for a product
    or a sum, Σ|terms|), or the result if that is larger. ∂L/∂b_k, for one, is a
    sum of terms that cancel to 0 (softmax ignores a shift of every key score)."""
    absolute = [np.abs(a) if a.dtype.kind == "f" else a for a in arrays]
    return max(
        float(np.abs(v).max(initial=0.0)) for v in (evaluate(op, absolute, ctx), want)
    )


def _loss(trace: Trace, params: dict[str, np.ndarray]) -> float:
    """L from a fresh float64 forward pass (not the recorded one)."""
    cfg = trace.config.replace(dtype="float64")
    ids = np.array(trace.source.ids)
    target = None if trace.target is None else np.array(trace.target.ids)
    if cfg.architecture != "encoder-decoder":
        target = None
    logits = forward(cfg, params, ids, target, record=False).logits  # (T, V)
    top = logits.max(axis=-1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
    labels = np.asarray(trace["backward.labels"])
    return float(-log_probs[np.arange(labels.size), labels].mean())


def _finite_differences(trace: Trace) -> Iterator[CheckResult]:
    """One row per parameter: the recorded ∂L/∂θ at COORDS seeded coordinates."""
    params = {n: v.astype(np.float64) for n, v in trace.params.items()}
    rng = np.random.default_rng([trace.config.seed, FD_STREAM])
    dtype = trace.config.dtype
    for name, value in params.items():
        grad_name = f"{PREFIX}{name}"
        if grad_name not in trace:
            continue
        grad = trace[grad_name]
        worst, worst_tol, at = 0.0, 0.0, None
        ok = True
        for _ in range(COORDS):
            index = tuple(int(rng.integers(n)) for n in value.shape)
            shifted = {}
            for sign in (1, -1):
                moved = value.copy()
                moved[index] += sign * STEP
                shifted[sign] = _loss(trace, {**params, name: moved})
            numeric = (shifted[1] - shifted[-1]) / (2 * STEP)
            ours = float(grad[index])
            err = abs(numeric - ours)
            tol = FD_RELATIVE[dtype] * max(abs(ours), 1.0) + FD_ABSOLUTE
            if not err <= tol:
                ok = False
            if at is None or err / tol > worst / max(worst_tol, 1e-300):
                worst, worst_tol, at = err, tol, (index, numeric, ours)
        index, numeric, ours = at
        cell = "[" + ", ".join(map(str, index)) + "]"
        yield CheckResult(
            "finite differences", f"∂L/∂θ ≈ (L(θ + h) − L(θ − h))/2h, h = {STEP:g}",
            grad_name, worst, worst_tol, ok,
            detail="" if ok else words(
                N_("at {cell}: differences {numeric}, trace {ours}"),
                cell=cell, numeric=f"{numeric:.6g}", ours=f"{ours:.6g}",
            ),
            cell="" if ok else cell, expected=None if ok else numeric,
            actual=None if ok else ours,
        )  # fmt: skip
