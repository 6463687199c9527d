"""The identities that the derivations prove, checked on a trace's own numbers."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from explainer.i18n import N_
from explainer.ops import remember
from explainer.trace import Op, Stage, Trace
from explainer.verify.formulas import NUMPY, Context, evaluate
from explainer.verify.llama_identities import check_llama_identities
from explainer.verify.result import TOLERANCE, CheckResult
from explainer.verify.stages import compare, context
from explainer.wording import words


def check_identities(trace: Trace) -> Iterator[CheckResult]:
    tol = TOLERANCE[trace.config.dtype]
    for stage in trace.stages:
        if stage.op == Op.SOFTMAX:
            yield from _softmax(trace, stage, tol)
        elif stage.op == Op.POSITIONAL_ENCODING:
            yield from _positional_encoding(stage, tol)
        elif stage.op == Op.LAYER_NORM:
            yield _layer_norm(trace, stage, tol)
        elif stage.op == Op.EMBEDDING:
            yield _embedding_lookup(trace, stage)
        elif stage.op == Op.LINEAR and stage.name.endswith("attn.out"):
            yield _multi_head_sum(trace, stage, tol)
    yield from check_llama_identities(trace, tol)
    if "output.logits" in trace:
        yield _cross_entropy_gradient(trace, tol)


def _largest(*errors: float) -> float:
    """The largest error, NaN counting as infinite (Python's max may drop a NaN)."""
    return max(math.inf if math.isnan(e) else e for e in errors)


def _result(name: str, where: str, err: float, limit: float) -> CheckResult:
    return CheckResult("identity", words(name), where, err, limit, err <= limit)


def _softmax(trace: Trace, stage: Stage, tol: float) -> Iterator[CheckResult]:
    """Σ p = 1; softmax(x + c) = softmax(x); weights are exactly 0 where masked."""
    sums = stage.value.astype(np.float64).sum(axis=-1)
    row_sums = N_("softmax: each row sums to 1")
    yield _result(row_sums, stage.name, *_err(sums, 1.0, tol))
    scores = trace[stage.inputs[0]]
    shifted = evaluate(
        Op.SOFTMAX, [scores.astype(np.float64) + 3.0], context(trace, stage)
    )
    err, scale = compare(shifted, stage.value)
    shift = N_("softmax(x + c) = softmax(x)")
    yield _result(shift, stage.name, err, tol * max(1.0, scale))
    if stage.inputs and stage.inputs[0].endswith(".masked"):
        masked = np.isneginf(scores)
        leak = float(np.abs(stage.value[masked]).max(initial=0.0))
        yield CheckResult(
            "identity", words(N_("masked keys get weight exactly 0")), stage.name,
            leak, 0.0, leak == 0.0,
        )  # fmt: skip


def _err(value: np.ndarray, target: float, tol: float) -> tuple[float, float]:
    err = float(np.abs(np.asarray(value, dtype=np.float64) - target).max(initial=0.0))
    return err, tol * max(1.0, abs(target))


def _positional_encoding(stage: Stage, tol: float) -> Iterator[CheckResult]:
    """|PE| ≤ 1; PE(pos + k) = R(k)·PE(pos) on the positions used; PE(p)·PE(q)
    depends only on p − q (even columns: a lone last sine breaks it, §3.5)."""
    pe = stage.value.astype(np.float64)  # (T, d)
    seq_len, width = pe.shape
    over = float(max(np.abs(pe).max(initial=0.0) - 1.0, 0.0))
    yield _result(N_("|PE| ≤ 1"), stage.name, over, 0.0)
    pairs = width // 2
    rot = _rotation()
    err = 0.0
    for k in range(1, seq_len):
        for pair in range(pairs):
            r = np.asarray(rot(k, pair, width), dtype=np.float64)  # (2, 2)
            cols = pe[:, 2 * pair : 2 * pair + 2]  # (T, 2)
            moved = cols[:-k] @ r.T  # rows: R(k)·PE(pos)
            err = _largest(err, float(np.abs(moved - cols[k:]).max(initial=0.0)))
    yield _result(N_("PE(pos + k) = R(k)·PE(pos)"), stage.name, err, tol)
    even = pe[:, : 2 * pairs]
    gram = even @ even.T  # (T, T)
    spread = 0.0
    for diff in range(seq_len):
        diag = np.diagonal(gram, offset=diff)
        spread = _largest(spread, float(diag.max() - diag.min()) if diag.size else 0.0)
    yield _result(
        N_("PE(p)·PE(q) depends only on p − q"),
        stage.name,
        spread,
        tol * max(1.0, pairs),
    )


def _make_rotation() -> Callable[[int, int, int], Any]:
    import sympy as sp

    from explainer.symbolic import positional_encoding as sym_pe
    from explainer.symbolic.symbols import d_model, i, offset

    rotation = sym_pe.rotation(offset, i, d_model)
    return sp.lambdify((offset, i, d_model), rotation, modules="numpy")


remember.known("verify:pe rotation", _make_rotation)  # made with the rest on a miss


@functools.cache
def _rotation() -> Callable[[int, int, int], Any]:
    """R(k) of PE(pos + k) = R(k)·PE(pos) as a function of (k, i, d_model); NumPy
    only (lambdify's default adds SciPy, whose import took 0.45 s); remembered
    across runs."""
    return remember.function("verify:pe rotation", _make_rotation)


def _layer_norm(trace: Trace, stage: Stage, tol: float) -> CheckResult:
    """Before γ, β the output has mean 0 and variance σ²/(σ² + ε) (→ 1 as ε → 0)."""
    x = trace[stage.inputs[0]].astype(np.float64)
    gamma = trace[stage.inputs[1]].astype(np.float64)
    beta = trace[stage.inputs[2]].astype(np.float64)
    safe = np.where(gamma == 0, 1.0, gamma)
    standard = (stage.value.astype(np.float64) - beta) / safe
    var_x = x.var(axis=-1)
    want_var = var_x / (var_x + trace.config.eps)
    err = _largest(
        float(np.abs(standard.mean(axis=-1)).max(initial=0.0)),
        float(np.abs(standard.var(axis=-1) - want_var).max(initial=0.0)),
    )
    scale = float(np.abs(gamma).max(initial=1.0))
    return _result(
        N_("LayerNorm: mean 0, variance σ²/(σ²+ε) before γ, β"),
        stage.name, err, tol * max(1.0, 1.0 / max(scale, 1e-12)),
    )  # fmt: skip


def _embedding_lookup(trace: Trace, stage: Stage) -> CheckResult:
    """one-hot × E is a row lookup: exactly E[ids]."""
    ids = trace[stage.inputs[0].replace("one_hot", "ids")]
    table = trace[stage.inputs[1]]
    err, _ = compare(table[ids], stage.value)
    name = words(N_("one-hot × E = row lookup E[id]"))
    return CheckResult("identity", name, stage.name, err, 0.0, err == 0.0)


def _multi_head_sum(trace: Trace, stage: Stage, tol: float) -> CheckResult:
    """Concat(head₁…head_h) W_O = Σᵢ headᵢ W_O⁽ⁱ⁾ (block-matrix identity, §3.2.2)."""
    prefix = stage.name.rsplit(".", 1)[0]
    heads = trace[f"{prefix}.heads"].astype(np.float64)  # (h, T, d_v)
    w_o = trace[f"{prefix}.w_o"].astype(np.float64)  # (h·d_v, d_model)
    b_o = trace[f"{prefix}.b_o"].astype(np.float64)
    d_v = heads.shape[-1]
    total = sum(
        heads[..., h, :, :] @ w_o[h * d_v : (h + 1) * d_v]
        for h in range(heads.shape[-3])
    )
    err, scale = compare(total + b_o, stage.value)
    return _result(
        N_("Concat(heads)·W_O = Σ headᵢ·W_O⁽ⁱ⁾"),
        stage.name,
        err,
        tol * max(1.0, scale),
    )


ALL_COORDS = 1024  # a vocabulary up to this size: every logit is perturbed
TOP_COORDS = 32  # else only the most probable ones (each costs two softmaxes)


def _unit(z: np.ndarray, index: int) -> np.ndarray:
    e = np.zeros_like(z)
    e[index] = 1.0
    return e


def _cross_entropy_gradient(trace: Trace, tol: float) -> CheckResult:
    """∂L/∂z = p − y, by central differences on the last position's logits, with
    the most probable token as the target."""
    z = (
        trace["output.logits"]
        .astype(np.float64)
        .reshape(-1, trace["output.logits"].shape[-1])[-1]
    )
    p = trace["output.probs"].astype(np.float64).reshape(-1, z.shape[0])[-1]
    target = int(np.argmax(p))  # the recorded prediction is checked elsewhere
    ctx = Context(1, 1, 1, 0.0, 0, z.shape)

    def loss(v: np.ndarray) -> float:
        return float(-np.log(evaluate(Op.SOFTMAX, [v], ctx, NUMPY)[target]))

    h = 1e-5
    # Every coordinate of a small vocabulary; of a real one (49,152 tokens) the
    # TOP_COORDS most probable, where p − y is far from zero.
    if z.shape[0] <= ALL_COORDS:
        coords = np.arange(z.shape[0])
    else:
        coords = np.argsort(p)[-TOP_COORDS:]
    grad = np.array(
        [
            (loss(z + h * _unit(z, c)) - loss(z - h * _unit(z, c))) / (2 * h)
            for c in coords
        ]
    )
    y = (coords == target).astype(np.float64)
    err = float(np.abs(grad - (p[coords] - y)).max())
    limit = max(1e-6, tol)  # central differences are accurate to about h²
    name = N_("∂L/∂logits = p − y (cross-entropy)")
    return _result(name, "output.logits", err, limit)
