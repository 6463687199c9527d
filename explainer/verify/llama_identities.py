"""The identities the RoPE, RMSNorm and GQA derivations prove, checked on a Llama
trace's own numbers (SmolLM2): each reads recorded stages only and rotates with
the SymPy rotation R(a) of :mod:`explainer.symbolic.rope`, never with the forward
pass's code.

- RoPE keeps the length of every pair (x_{2i}, x_{2i+1}): a rotation (Su et al. 2021).
- ⟨R(mω) q, R(nω) k⟩ = ⟨R((m − n)ω) q, k⟩: the recorded score of a query at m and a
  key at n equals the unrotated query turned by the angle of the *offset* m − n
  alone, against the unrotated key (Su et al. 2021, Eq. 16).
- RMSNorm: before γ the output's mean square is ms/(ms + ε) (→ 1 as ε → 0)
  (Zhang & Sennrich 2019).
- GQA is multi-head attention whose K/V weight columns are repeated: projecting with
  the repeated columns gives exactly the repeated heads (Ainslie et al. 2023).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from explainer.i18n import N_
from explainer.ops import remember
from explainer.trace import Op, Stage, Trace
from explainer.verify.result import CheckResult
from explainer.verify.stages import compare
from explainer.wording import words


def _result(name: str, where: str, err: float, limit: float) -> CheckResult:
    return CheckResult("identity", words(name), where, err, limit, err <= limit)


def _make_rotate() -> Callable[[Any, Any, Any], Any]:
    import sympy as sp

    from explainer.symbolic import rope as sym_rope

    even, odd, a = sp.symbols("even odd a", real=True)
    turned = sym_rope.rope_pair(even, odd, a)
    return sp.lambdify((even, odd, a), (turned[0], turned[1]), "numpy")


remember.known("verify:rope rotation", _make_rotate)  # made with the rest on a miss


@functools.cache
def _rotate() -> Callable[[Any, Any, Any], Any]:
    """(x_{2i}, x_{2i+1}, a) ↦ R(a)·(x_{2i}, x_{2i+1}), from the SymPy formula
    (lambdified once; remembered across runs)."""
    return remember.function("verify:rope rotation", _make_rotate)


def rotate(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Every pair of ``x`` (..., d) turned by ``angles`` (d/2,).

    >>> rotate(np.array([1.0, 0.0]), np.array([np.pi / 2])).round(6)
    array([0., 1.])
    """
    even, odd = _rotate()(x[..., 0::2], x[..., 1::2], angles)  # (..., d/2) each
    turned = np.empty(x.shape)
    turned[..., 0::2], turned[..., 1::2] = even, odd
    return turned


def rope_keeps_lengths(stage: Stage, trace: Trace, tol: float) -> CheckResult:
    """|R(a)·(x_{2i}, x_{2i+1})| = |(x_{2i}, x_{2i+1})| for every pair."""
    before = trace[stage.inputs[0]].astype(np.float64)  # (h, T, d_k)
    after = stage.value.astype(np.float64)

    def lengths(x: np.ndarray) -> np.ndarray:
        return np.hypot(x[..., 0::2], x[..., 1::2])  # (h, T, d_k/2)

    err, scale = compare(lengths(before), lengths(after))
    return _result(
        N_("RoPE keeps each pair's length"),
        stage.name,
        err,
        tol * max(1.0, scale),
    )


def rope_relative(prefix: str, trace: Trace, tol: float) -> CheckResult:
    """The recorded scores q_rope(m)·k_rope(n) equal R((m − n)ω) q(m) · k(n), for
    every head and every key n ≤ m (the causal ones)."""
    q = trace[f"{prefix}.q"].astype(np.float64)  # (h, T, d_k), before RoPE
    k = trace[f"{prefix}.k"].astype(np.float64)  # (h_kv, T, d_k)
    angles = trace[trace.stage(f"{prefix}.q_rope").inputs[1]].astype(np.float64)
    scores = trace[f"{prefix}.scores"].astype(np.float64)  # (h, T, T)
    group = q.shape[0] // k.shape[0]
    k = np.repeat(k, group, axis=0)  # (h, T, d_k): query head j reads K/V head j // r
    seq_len = q.shape[1]
    err, scale = 0.0, 0.0
    for offset in range(seq_len):  # m − n
        turned = rotate(q[:, offset:], angles[offset])  # (h, T − offset, d_k)
        want = (turned * k[:, : seq_len - offset]).sum(axis=-1)  # (h, T − offset)
        got = np.diagonal(scores, offset=-offset, axis1=1, axis2=2)
        e, s = compare(want, got)
        err, scale = max(err, e), max(scale, s)
    return _result(
        N_("q_m·k_n depends only on m − n (RoPE)"),
        f"{prefix}.scores",
        err,
        tol * max(1.0, scale),
    )


def rms_norm_unit(stage: Stage, trace: Trace, tol: float) -> CheckResult:
    """Before γ, the mean square of the output is ms/(ms + ε), ms = mean(x²)."""
    x = trace[stage.inputs[0]].astype(np.float64)  # (T, d_model)
    gamma = trace[stage.inputs[1]].astype(np.float64)
    safe = np.where(gamma == 0, 1.0, gamma)
    unit = stage.value.astype(np.float64) / safe
    mean_sq = (x * x).mean(axis=-1)
    want = mean_sq / (mean_sq + trace.config.eps)
    err = float(np.abs((unit * unit).mean(axis=-1) - want).max(initial=0.0))
    scale = float(np.abs(gamma).max(initial=1.0))
    return _result(
        N_("RMSNorm: mean square ms/(ms+ε) before γ"),
        stage.name,
        err,
        tol * max(1.0, 1.0 / max(scale, 1e-12)),
    )


def gqa_is_repeated_weights(stage: Stage, trace: Trace, tol: float) -> CheckResult:
    """The repeated V heads equal the heads of x·W_V′ + b_V′, where W_V′ repeats
    each K/V head's columns for the query heads that share it."""
    prefix = stage.name.rsplit(".", 1)[0]
    source = trace.stage(f"{prefix}.v")  # (h_kv, T, d_v)
    x = trace[source.inputs[0]].astype(np.float64)  # (T, d_model)
    w = trace[source.inputs[1]].astype(np.float64)  # (d_model, h_kv·d_v)
    b = trace[source.inputs[2]].astype(np.float64)
    n_heads, _, d_v = stage.value.shape
    h_kv = w.shape[1] // d_v
    group = n_heads // h_kv
    blocks = np.arange(n_heads) // group  # the K/V head of each query head
    columns = (blocks[:, None] * d_v + np.arange(d_v)).ravel()  # (h·d_v,)
    heads = (x @ w[:, columns] + b[columns]).reshape(x.shape[0], n_heads, d_v)
    err, scale = compare(heads.transpose(1, 0, 2), stage.value)
    return _result(
        N_("GQA = multi-head with K/V columns repeated"),
        stage.name,
        err,
        tol * max(1.0, scale),
    )


def check_llama_identities(trace: Trace, tol: float) -> Iterator[CheckResult]:
    """Every identity above on every layer of a trace that has RoPE / RMSNorm /
    repeated K/V heads (none on a trace without them)."""
    for stage in trace.stages:
        name = stage.name
        if stage.op == Op.ROPE:
            yield rope_keeps_lengths(stage, trace, tol)
            if name.endswith(".k_rope"):
                yield rope_relative(name.rsplit(".", 1)[0], trace, tol)
        elif stage.op == Op.RMS_NORM:
            yield rms_norm_unit(stage, trace, tol)
        elif stage.op == Op.REPEAT_KV and name.endswith(".v_heads"):
            yield gqa_is_repeated_weights(stage, trace, tol)
