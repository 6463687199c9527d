"""verify must be able to fail: the numbers are broken on purpose, the way real
implementations go wrong, and verify must fail and name the broken stage.

Each break either monkeypatches one op of :mod:`explainer.numeric` (so the forward
pass computes everything after it from the wrong value, as a buggy implementation
would) or edits one stage's value in the trace JSON and loads it back. The checks
themselves are never touched. For every break, the first failing formula row is
the broken stage, and the 50-digit re-evaluation diverges first at that stage too.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from explainer import numeric, trace_json
from explainer.config import ModelConfig
from explainer.run import trace_sentence
from explainer.trace import Trace
from explainer.verify import CheckResult, verify

SENTENCE = "When you play game of thrones"
DEFAULT = ModelConfig(n_layers=1)  # encoder-decoder, d_model 8, 2 heads of width 4


# --- the breaks -------------------------------------------------------------------

_softmax, _concat_heads = numeric.softmax, numeric.concat_heads
_layer_norm = numeric.layer_norm


def no_sqrt_dk(scores: np.ndarray, d_k: int) -> np.ndarray:
    return scores  # forgot ÷ √d_k


def divide_by_dk(scores: np.ndarray, d_k: int) -> np.ndarray:
    return scores / d_k  # ÷ d_k instead of ÷ √d_k


def softmax_over_queries(x: np.ndarray, axis: int = -1) -> np.ndarray:
    return _softmax(x, axis=-2)  # normalises each key's column, not each query's row


def pe_sin_cos_swapped(seq_len: int, d_model: int, dtype) -> np.ndarray:
    pos = np.arange(seq_len, dtype=np.float64)[:, None]
    angle = pos / np.power(10000.0, np.arange(0, d_model, 2) / d_model)
    pe = np.empty((seq_len, d_model))
    pe[:, 0::2] = np.cos(angle)  # cos where the paper has sin …
    pe[:, 1::2] = np.sin(angle[:, : d_model // 2])  # … and sin where it has cos
    return pe.astype(dtype)


def layer_norm_unbiased(x, gamma, beta, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True, ddof=1)  # n − 1: torch.var's default
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def layer_norm_eps_outside_sqrt(x, gamma, beta, eps):
    centered = x - x.mean(axis=-1, keepdims=True)
    sigma = np.sqrt((centered * centered).mean(axis=-1, keepdims=True))
    return centered / (sigma + x.dtype.type(eps)) * gamma + beta  # √σ² + ε


def layer_norm_gamma_beta_swapped(x, gamma, beta, eps):
    return _layer_norm(x, beta, gamma, eps)  # β scales, γ shifts


def layer_norm_without_gamma_beta(x, gamma, beta, eps):
    return _layer_norm(x, np.ones_like(gamma), np.zeros_like(beta), eps)


def causal_mask_off_by_one(seq_len: int) -> np.ndarray:
    return np.tril(np.ones((seq_len, seq_len), dtype=bool), k=1)  # sees one ahead


def heads_reversed(heads: np.ndarray) -> np.ndarray:
    return _concat_heads(heads[..., ::-1, :, :])  # head h−1 first


def mask_ignored(scores: np.ndarray, *allowed: np.ndarray) -> np.ndarray:
    return scores  # the mask is recorded but never applied


def relu_before_bias(trace: Trace, stage: str) -> np.ndarray:
    """max(0, xW₁) + b₁ instead of max(0, xW₁ + b₁)."""
    ffn = stage.rsplit(".", 1)[0]
    bias = trace[f"{ffn}.b_1"]
    return np.maximum(trace[f"{ffn}.hidden"] - bias, 0) + bias


def pe_added_twice(trace: Trace, stage: str) -> np.ndarray:
    embed = stage.rsplit(".", 1)[0]
    return trace[stage] + trace[f"{embed}.pe"]  # (E[ids] + PE) + PE


PATCHES: dict[str, tuple[str, Callable, str, ModelConfig]] = {
    # name: (numeric op replaced, replacement, the stage it breaks, config)
    "sqrt(d_k) missing": (
        "scale", no_sqrt_dk, "encoder.0.self_attn.scaled", DEFAULT,
    ),
    "sqrt(d_k) missing, float32": (
        "scale", no_sqrt_dk, "encoder.0.self_attn.scaled",
        DEFAULT.replace(dtype="float32"),
    ),
    "divided by d_k, not sqrt(d_k)": (
        "scale", divide_by_dk, "encoder.0.self_attn.scaled", DEFAULT,
    ),
    "softmax over the wrong axis": (
        "softmax", softmax_over_queries, "encoder.0.self_attn.weights", DEFAULT,
    ),
    "sin and cos swapped in PE": (
        "positional_encoding", pe_sin_cos_swapped, "encoder.embed.pe", DEFAULT,
    ),
    "unbiased variance in LayerNorm": (
        "layer_norm", layer_norm_unbiased, "encoder.0.norm1", DEFAULT,
    ),
    "unbiased variance in pre-LN": (
        "layer_norm", layer_norm_unbiased, "decoder.0.norm1",
        ModelConfig(architecture="decoder", norm="pre", activation="gelu"),
    ),
    "gamma and beta swapped in LayerNorm": (
        "layer_norm", layer_norm_gamma_beta_swapped, "encoder.0.norm1", DEFAULT,
    ),
    "gamma and beta swapped in LayerNorm, float32": (
        "layer_norm", layer_norm_gamma_beta_swapped, "encoder.0.norm1",
        DEFAULT.replace(dtype="float32"),
    ),
    "gamma and beta swapped in pre-LN": (
        "layer_norm", layer_norm_gamma_beta_swapped, "decoder.0.norm1",
        ModelConfig(architecture="decoder", norm="pre"),
    ),
    # Invisible while every preset had γ = 1 and β = 0:
    "LayerNorm without gamma and beta": (
        "layer_norm", layer_norm_without_gamma_beta, "encoder.0.norm1", DEFAULT,
    ),
    "LayerNorm without gamma and beta, float32": (
        "layer_norm", layer_norm_without_gamma_beta, "encoder.0.norm1",
        DEFAULT.replace(dtype="float32"),
    ),
    "causal mask off by one": (
        "causal_mask", causal_mask_off_by_one, "decoder.0.self_attn.mask", DEFAULT,
    ),
    "causal mask off by one, decoder-only": (
        "causal_mask", causal_mask_off_by_one, "decoder.0.self_attn.mask",
        ModelConfig(architecture="decoder", n_layers=1),
    ),
    "heads concatenated in the wrong order": (
        "concat_heads", heads_reversed, "encoder.0.self_attn.concat", DEFAULT,
    ),
    "mask never applied": (
        "apply_mask", mask_ignored, "decoder.0.self_attn.masked", DEFAULT,
    ),
}  # fmt: skip

EDITS: dict[str, tuple[Callable[[Trace, str], np.ndarray], str, ModelConfig]] = {
    # name: (new value of the stage from the correct trace, the stage, config)
    "ReLU applied before the bias": (
        relu_before_bias, "encoder.0.ffn.activation", DEFAULT,
    ),
    "ReLU applied before the bias, decoder layer 1": (
        relu_before_bias, "decoder.1.ffn.activation",
        ModelConfig(architecture="decoder"),
    ),
    "PE added twice": (pe_added_twice, "encoder.embed.input", DEFAULT),
    "PE added twice, seed003 sizes": (
        pe_added_twice, "encoder.embed.input",
        ModelConfig(architecture="encoder", d_model=5, n_heads=1, d_k=3, d_v=3,
                    d_ff=8, n_layers=1, scale_embeddings=False),
    ),
}  # fmt: skip


def edited(trace: Trace, stage: str, new_value: np.ndarray) -> Trace:
    """The trace with ``stage``'s value replaced, through its JSON form."""
    data = json.loads(trace_json.dumps(trace))
    (entry,) = [s for s in data["stages"] if s["name"] == stage]
    entry["value"] = np.asarray(new_value).tolist()
    return trace_json.loads(json.dumps(data))


def first_failure(results: list[CheckResult], check: str) -> CheckResult:
    bad = [r for r in results if not r.ok and r.check == check]
    assert bad, f"no {check} check failed"
    return bad[0]


def assert_names(results: list[CheckResult], stage: str) -> None:
    """The first failing formula row and the 50-digit pass both name ``stage``."""
    row = first_failure(results, "formula")
    assert row.where.split(" [")[0] == stage, row
    assert row.max_abs_err > row.tol
    precision = first_failure(results, "precision")
    assert precision.where == stage
    assert precision.detail == f"first divergence at {stage}"


# --- the tests --------------------------------------------------------------------


@pytest.mark.parametrize("name", PATCHES)
def test_a_broken_op_is_named(name, monkeypatch):
    op, replacement, stage, cfg = PATCHES[name]
    monkeypatch.setattr(numeric, op, replacement)
    trace = trace_sentence(cfg, SENTENCE)
    results = verify(trace, derivations=False)
    assert_names(results, stage)
    earlier = set(trace.names()[: trace.names().index(stage)])
    blamed = {r.where.split(" [")[0] for r in results if not r.ok}
    assert not blamed & earlier  # nothing before the break is blamed


@pytest.mark.parametrize("name", EDITS)
def test_an_edited_stage_is_named(name):
    change, stage, cfg = EDITS[name]
    trace = trace_sentence(cfg, SENTENCE)
    results = verify(edited(trace, stage, change(trace, stage)), derivations=False)
    assert_names(results, stage)


def test_the_head_is_named_when_one_head_is_wrong():
    trace = trace_sentence(DEFAULT, SENTENCE)
    stage = "encoder.0.self_attn.weights"
    value = np.array(trace[stage])
    value[1] = value[1, :, ::-1]  # head 1 attends to the keys in reverse order
    results = verify(edited(trace, stage, value), derivations=False)
    bad = [r.where for r in results if not r.ok and r.check == "formula"]
    assert bad[0] == f"{stage} [head 1]"
    assert f"{stage} [head 0]" not in bad


def test_a_tiny_error_fails_in_float64_but_passes_in_float32():
    """The bounds are per dtype (unit roundoff 2⁻⁵³ and 2⁻²⁴): a change of 1e-7
    relative is 10⁹ units of float64's but within float32's rounding of x W."""
    for dtype, ok in (("float64", False), ("float32", True)):
        trace = trace_sentence(DEFAULT.replace(dtype=dtype), SENTENCE)
        stage = "encoder.0.ffn.out"
        nudged = edited(trace, stage, trace[stage] * (1 + 1e-7))
        (row,) = [
            r for r in verify(nudged, derivations=False, precision=False)
            if r.where == stage
        ]  # fmt: skip
        assert row.ok is ok, row


def test_rewriting_a_formula_exactly_is_not_a_failure(monkeypatch):
    """No false alarms: softmax without the max-subtraction and LayerNorm through
    np.var are the same formulas, so verify passes."""

    def plain_softmax(x, axis=-1):
        e = np.exp(x)
        return e / e.sum(axis=axis, keepdims=True)

    def var_layer_norm(x, gamma, beta, eps):
        z = (x - x.mean(axis=-1, keepdims=True)) / np.sqrt(
            x.var(axis=-1, keepdims=True) + eps
        )
        return gamma * z + beta

    monkeypatch.setattr(numeric, "softmax", plain_softmax)
    monkeypatch.setattr(numeric, "layer_norm", var_layer_norm)
    results = verify(trace_sentence(DEFAULT, SENTENCE), derivations=False)
    assert [r for r in results if not r.ok] == []


@pytest.mark.parametrize(
    "cfg",
    [
        DEFAULT.replace(dtype="float32"),
        ModelConfig(architecture="decoder", norm="pre", dtype="float32"),
    ],
    ids=["encoder-decoder post", "decoder pre"],
)
def test_eps_outside_the_square_root_fails_in_float32(cfg, monkeypatch):
    """(x − μ)/(√σ² + ε) differs from (x − μ)/√(σ² + ε) by about ε/2 relative
    (5e-6): under float32's former tolerance (1e-4 × the largest value), about 1.7×
    the rounding-error bound of LayerNorm with d_model = 8. The 50-digit pass is
    not asked: it compares the whole pass at 1e-4."""
    monkeypatch.setattr(numeric, "layer_norm", layer_norm_eps_outside_sqrt)
    stage = "decoder.0.norm1" if cfg.architecture == "decoder" else "encoder.0.norm1"
    for sentence in (SENTENCE, "you win or you die"):
        trace = trace_sentence(cfg, sentence)
        results = verify(trace, derivations=False, precision=False)
        row = first_failure(results, "formula")
        assert row.where == stage and row.max_abs_err > row.tol, row
        earlier = set(trace.names()[: trace.names().index(stage)])
        assert not {r.where.split(" [")[0] for r in results if not r.ok} & earlier
