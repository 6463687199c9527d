"""verify must catch the ways a real model's pass goes wrong: one op of
:mod:`explainer.numeric` is broken the way ports of Llama and BERT really break,
the pretrained model is traced through it, and verify must fail and name the
broken stage first (nothing before it is blamed). The checks are never touched."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from fnmatch import fnmatch

import numpy as np
import pytest

from explainer import numeric
from explainer.models import minilm, smollm2, trace_model
from explainer.verify import verify

_rms_norm = numeric.rms_norm


def rope_rotate_half(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Pairs (x_i, x_{i+d/2}) rotated, as in transformers' ``rotate_half``: right for
    the Hugging Face weight layout, wrong for GGUF's adjacent pairs."""
    cos, sin = np.cos(angles), np.sin(angles)  # (T, d_k/2)
    half = x.shape[-1] // 2
    first, second = x[..., :half], x[..., half:]
    return np.concatenate([first * cos - second * sin, first * sin + second * cos], -1)


def rms_norm_without_eps(x: np.ndarray, gamma: np.ndarray, eps: float) -> np.ndarray:
    return _rms_norm(x, gamma, 0.0)


def rms_norm_centred(x: np.ndarray, gamma: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm without β where RMSNorm was meant: the mean is subtracted."""
    return _rms_norm(x - x.mean(axis=-1, keepdims=True), gamma, eps)


def swiglu_sigmoid_gate(gate: np.ndarray, up: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-gate)) * up  # σ(g) ⊙ u, a GLU: SiLU's factor g missing


def kv_heads_tiled(x: np.ndarray, n_heads: int) -> np.ndarray:
    """K/V heads cycled (0 1 2 0 1 2 …) instead of grouped (0 0 0 1 1 1 …)."""
    return np.tile(x, (n_heads // x.shape[-3], 1, 1))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """The tanh approximation where BERT uses the exact erf GELU."""
    c = np.sqrt(2 / np.pi).astype(x.dtype)
    return 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x**3)))


BREAKS: dict[str, tuple[str, str, Callable, str]] = {
    # name: (model, numeric op replaced, replacement, the stage it breaks: a pattern)
    "RoPE on halves, not adjacent pairs": (
        "smollm2", "rope", rope_rotate_half, "decoder.0.self_attn.q_rope",
    ),
    "RMSNorm without eps": (
        "smollm2", "rms_norm", rms_norm_without_eps, "decoder.0.norm1",
    ),
    "RMSNorm that subtracts the mean": (
        "smollm2", "rms_norm", rms_norm_centred, "decoder.0.norm1",
    ),
    "SwiGLU with a sigmoid gate": (
        "smollm2", "swiglu", swiglu_sigmoid_gate, "decoder.0.ffn.activation",
    ),
    "K/V heads cycled, not grouped": (
        "smollm2", "repeat_kv", kv_heads_tiled, "decoder.0.self_attn.k_heads",
    ),
    # Off by up to 4.7e-4 in every layer, ≈ 190× GELU's rounding-error bound:
    # caught at the first activation.
    "GELU, tanh approximation": (
        "minilm", "gelu", gelu_tanh, "encoder.0.ffn.activation",
    ),
}  # fmt: skip

SENTENCES = {"smollm2": "The capital of France is", "minilm": "The quick brown fox"}
PACKAGES = {"smollm2": smollm2, "minilm": minilm}


def installed(model: str) -> bool:
    return importlib.util.find_spec(PACKAGES[model].MODULE) is not None


@pytest.mark.parametrize("name", BREAKS)
def test_a_broken_op_of_a_real_model_is_named(name, monkeypatch):
    model, op, replacement, stage = BREAKS[name]
    if not installed(model):
        pytest.skip(f"model package missing: {PACKAGES[model].INSTALL}")
    monkeypatch.setattr(numeric, op, replacement)
    trace = trace_model(model, SENTENCES[model])
    results = verify(trace, precision=False, derivations=False)
    bad = [r for r in results if not r.ok and r.check == "formula"]
    assert bad, "verify passed a broken pass"
    assert fnmatch(bad[0].where.split(" [")[0], stage), bad[0]
    assert bad[0].cell and bad[0].expected is not None  # where, and by how much
    if op == "gelu":  # a known slip: the row names it
        assert bad[0].hint == "looks like: GELU's tanh approximation instead of x Φ(x)"
    names = trace.names()
    first = next(i for i, n in enumerate(names) if fnmatch(n, stage))
    blamed = {r.where.split(" [")[0] for r in results if not r.ok}
    assert not blamed & set(names[:first])


IDENTITY_BREAKS = {
    # name: (numeric op replaced, replacement, the identity that must fail, where)
    "RoPE on halves": (
        "rope", rope_rotate_half, "q_m·k_n depends only on m − n (RoPE)",
        "decoder.0.self_attn.scores",
    ),
    "K/V heads cycled": (
        "repeat_kv", kv_heads_tiled, "GQA = multi-head with K/V columns repeated",
        "decoder.0.self_attn.v_heads",
    ),
    "RMSNorm without eps": (
        "rms_norm", rms_norm_without_eps, "RMSNorm: mean square ms/(ms+ε) before γ",
        "decoder.0.norm1",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def smollm2_trace():
    if not installed("smollm2"):
        pytest.skip(f"model package missing: {smollm2.INSTALL}")
    return trace_model("smollm2", SENTENCES["smollm2"])


def test_llama_identities_hold_on_every_layer(smollm2_trace):
    from explainer.verify.llama_identities import check_llama_identities

    rows = list(check_llama_identities(smollm2_trace, 1e-4))
    assert all(r.ok for r in rows), [r for r in rows if not r.ok][:3]
    counts = {}
    for r in rows:
        counts[r.formula] = counts.get(r.formula, 0) + 1
    layers = 30
    assert counts == {
        "RoPE keeps each pair's length": 2 * layers,  # q and k
        "q_m·k_n depends only on m − n (RoPE)": layers,
        "RMSNorm: mean square ms/(ms+ε) before γ": 2 * layers + 1,  # + final norm
        "GQA = multi-head with K/V columns repeated": layers,
    }


@pytest.mark.parametrize("name", IDENTITY_BREAKS)
def test_a_broken_op_breaks_its_identity(name, monkeypatch, smollm2_trace):
    from explainer.verify.llama_identities import check_llama_identities

    op, replacement, identity, where = IDENTITY_BREAKS[name]
    monkeypatch.setattr(numeric, op, replacement)
    trace = trace_model("smollm2", SENTENCES["smollm2"])
    rows = [r for r in check_llama_identities(trace, 1e-4) if r.formula == identity]
    assert not rows[0].ok and rows[0].where == where, rows[0]
