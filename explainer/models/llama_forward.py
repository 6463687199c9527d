"""The forward pass of a Llama decoder (SmolLM2), composed from
:mod:`explainer.numeric` ops and recorded under the toy model's stage names where
the two agree.

Stages:

- ``decoder.embed.ids | one_hot | lookup``: the token embedding (no scaling, no
  positional encoding: positions enter through RoPE)
- ``decoder.rope.angles``: θ_{m,i} = m ω_i for every position m and pair i
- ``decoder.{l}.norm1``: RMSNorm before attention (pre-norm)
- ``decoder.{l}.self_attn.q | k | v``: projections (k and v have the h_kv K/V heads),
  ``q_rope | k_rope`` (RoPE), ``k_heads | v_heads`` (each K/V head repeated for its
  query heads: grouped-query attention), then ``scores | scaled | mask | masked |
  weights | heads | concat | out`` as in the toy model (causal mask)
- ``decoder.{l}.residual1``, ``decoder.{l}.norm2`` (RMSNorm before the FFN),
  ``decoder.{l}.ffn.gate | up | activation | out`` (SwiGLU), ``decoder.{l}.residual2``
- ``decoder.norm``: the final RMSNorm; ``output.logits | probs | prediction``
  (tied embedding)

With a :class:`KVCache` (text generation, :mod:`explainer.models.generate`) only the
new tokens are run: their positions continue the cached ones, and each layer's
rotated keys and values are appended to those of the earlier tokens, which are not
computed again (Pope et al. 2022, §2: the "KV cache").

A memory-mapped model's weights are given back to the kernel layer by layer once
used (:mod:`explainer.mapped`): SmolLM2's 540 MB are never all resident.

Touvron et al. 2023 (Llama); Su et al. 2021 (RoPE); Ainslie et al. 2023 (GQA);
Shazeer 2020 (SwiGLU); Zhang & Sennrich 2019 (RMSNorm).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explainer import numeric
from explainer.config import ModelConfig
from explainer.forward import (
    ForwardResult,
    Named,
    combine_heads,
    output_head,
    token_lookup,
)
from explainer.mapped import release
from explainer.params import Params
from explainer.trace import Op, Recorder


@dataclass
class KVCache:
    """The rotated keys and the values of the tokens run so far, per layer."""

    keys: dict[int, np.ndarray] = field(default_factory=dict)  # (h_kv, T, d_k)
    values: dict[int, np.ndarray] = field(default_factory=dict)  # (h_kv, T, d_v)
    length: int = 0  # tokens cached

    def extend(
        self, layer: int, k: np.ndarray, v: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The keys and values of every token so far: the cached ones, then k, v."""
        if layer in self.keys:
            k = np.concatenate([self.keys[layer], k], axis=-2)  # (h_kv, T, d_k)
            v = np.concatenate([self.values[layer], v], axis=-2)
        self.keys[layer], self.values[layer] = k, v
        return k, v


def forward(
    cfg: ModelConfig,
    params: Params,
    ids: np.ndarray,
    *,
    record: bool = True,
    cache: KVCache | None = None,
) -> ForwardResult:
    """Run the decoder on token ids (T,); returns the stages and logits (T, V).

    With ``cache``, ``ids`` are the tokens after the cached ones; the cache grows by
    them. A recorded pass with a cache is refused: its stages would hold only the
    new tokens' rows."""
    if cache is not None and record:
        raise ValueError("a pass with a KV cache is not recorded: use record=False")
    rec = Recorder(record)
    ids = np.array(ids)  # a copy: the trace freezes what it records
    start = cache.length if cache is not None else 0
    end = start + ids.shape[-1]
    x = embed(rec, params, ids)
    angles = rec(
        "decoder.rope.angles",
        Op.ROPE_ANGLES,
        ("rope.inv_freq",),
        numeric.rope_angles(params["rope.inv_freq"], end)[start:],
    )  # (T, d_k/2): positions start … end − 1
    causal = numeric.causal_mask(end)[start:]  # (T, start + T)
    for layer in range(cfg.n_layers):
        p = f"decoder.{layer}"
        kv = None if cache is None else (cache, layer)
        h = rms_norm(rec, f"{p}.norm1", cfg, params, x)
        a = attention(rec, f"{p}.self_attn", cfg, params, h, angles, causal, kv)
        x = _add(rec, f"{p}.residual1", x, a)
        h = rms_norm(rec, f"{p}.norm2", cfg, params, x)
        f = feed_forward(rec, f"{p}.ffn", params, h)
        x = _add(rec, f"{p}.residual2", x, f)
        release(v for k, v in params.items() if k.startswith(f"{p}."))  # mapped.py
    if cache is not None:
        cache.length = end
    x = rms_norm(rec, "decoder.norm", cfg, params, x)
    scores = output_head(rec, params, x)
    release([params["embedding"]])
    return ForwardResult(tuple(rec.stages), scores)


def embed(rec: Recorder, params: Params, ids: np.ndarray) -> Named:
    """Token ids → one-hot → rows of E (the decoder's input)."""
    return token_lookup(rec, "decoder.embed", params, ids)


def rms_norm(
    rec: Recorder, name: str, cfg: ModelConfig, params: Params, x: Named
) -> Named:
    """RMSNorm with the parameter ``{name}.gamma``."""
    gamma = f"{name}.gamma"
    value = numeric.rms_norm(x[0], params[gamma], cfg.eps)
    return rec(name, Op.RMS_NORM, (x[1], gamma), value), name


def attention(
    rec: Recorder,
    prefix: str,
    cfg: ModelConfig,
    params: Params,
    x: Named,
    angles: np.ndarray,
    causal: np.ndarray,
    kv: tuple[KVCache, int] | None = None,
) -> Named:
    """Causal grouped-query self-attention with RoPE on queries and keys; with
    ``kv`` = (cache, layer), the keys and values of the cached tokens join in."""
    p = prefix
    h = cfg.n_heads
    h_kv = params[f"{p}.w_k"].shape[1] // cfg.d_k

    def project(which: str, n_heads: int) -> np.ndarray:
        w, b = f"{p}.w_{which}", f"{p}.b_{which}"
        value = numeric.project_heads(x[0], params[w], params[b], n_heads)
        return rec(f"{p}.{which}", Op.PROJECT_HEADS, (x[1], w, b), value)

    q = project("q", h)  # (h, T, d_k)
    k = project("k", h_kv)  # (h_kv, T, d_k)
    v = project("v", h_kv)  # (h_kv, T, d_v)
    rotary = "decoder.rope.angles"
    q = rec(f"{p}.q_rope", Op.ROPE, (f"{p}.q", rotary), numeric.rope(q, angles))
    k = rec(f"{p}.k_rope", Op.ROPE, (f"{p}.k", rotary), numeric.rope(k, angles))
    if kv is not None:
        k, v = kv[0].extend(kv[1], k, v)  # (h_kv, start + T, d_k)
    k = rec(f"{p}.k_heads", Op.REPEAT_KV, (f"{p}.k_rope",), numeric.repeat_kv(k, h))
    v = rec(f"{p}.v_heads", Op.REPEAT_KV, (f"{p}.v",), numeric.repeat_kv(v, h))
    s = rec(f"{p}.scores", Op.QK, (f"{p}.q_rope", f"{p}.k_heads"), numeric.qk(q, k))
    s = rec(f"{p}.scaled", Op.SCALE, (f"{p}.scores",), numeric.scale(s, cfg.d_k))
    rec(f"{p}.mask", Op.CAUSAL_MASK, (), causal)  # (T, T)
    s = rec(
        f"{p}.masked",
        Op.APPLY_MASK,
        (f"{p}.scaled", f"{p}.mask"),
        numeric.apply_mask(s, causal),
    )
    return combine_heads(rec, p, params, s, (v, f"{p}.v_heads"))


def feed_forward(rec: Recorder, prefix: str, params: Params, x: Named) -> Named:
    """SwiGLU FFN: (SiLU(x W_gate) ⊙ x W_up) W₂ (Shazeer 2020)."""
    p = prefix

    def linear(name: str, which: str, src: Named) -> np.ndarray:
        w, b = f"{p}.w_{which}", f"{p}.b_{which}"
        value = numeric.linear(src[0], params[w], params[b])
        return rec(name, Op.LINEAR, (src[1], w, b), value)

    gate = linear(f"{p}.gate", "gate", x)  # (T, d_ff)
    up = linear(f"{p}.up", "up", x)  # (T, d_ff)
    a = rec(
        f"{p}.activation",
        Op.SWIGLU,
        (f"{p}.gate", f"{p}.up"),
        numeric.swiglu(gate, up),
    )  # (T, d_ff)
    out = linear(f"{p}.out", "2", (a, f"{p}.activation"))  # (T, d_model)
    return out, f"{p}.out"


def _add(rec: Recorder, name: str, x: Named, y: Named) -> Named:
    return rec(name, Op.ADD, (x[1], y[1]), numeric.add(x[0], y[0])), name
