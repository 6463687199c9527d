"""Data of the interactive attention views (head, model and neuron view), for
``{{ views | tojson }}``: every layer × head of every attention in the trace.

The queries and keys are the vectors the scores were computed from (the inputs
of the ``scores`` stage: after RoPE in a Llama model). With grouped-query
attention (Ainslie et al. 2023) the keys are stored once per key/value head,
``kv``, and each query head names the one it reads. A float32 trace's numbers
are written with the shortest decimals that read back as the same float32, and
its query and key vectors, most of the data, as their little-endian float32
bytes in base64 (``{"float32": …, "shape": [T, d_k]}``, 5.3 characters a number
instead of about 12): SmolLM2's 30 × 9 heads take 1 MB less, no value changed.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from explainer.i18n import N_
from explainer.token_text import Vocabulary, display
from explainer.trace import Op, Trace

_LABELS = {  # English in the JSON; the page's menu shows them translated
    ("encoder", "self_attn"): N_("Encoder self-attention"),
    ("decoder", "self_attn"): N_("Decoder masked self-attention"),
    ("decoder", "cross_attn"): N_("Decoder cross-attention (target → source)"),
}


def _rows(a: np.ndarray) -> list[Any]:
    """Nested lists of Python floats; float32 values as their shortest decimals.

    >>> _rows(np.array([0.1], dtype=np.float32)), _rows(np.array([0.1]))
    ([0.1], [0.1])
    """
    if a.dtype == np.float32:
        flat = [float(str(v)) for v in a.reshape(-1)]  # str: shortest float32 text
        return np.array(flat, dtype=np.float64).reshape(a.shape).tolist()
    return np.asarray(a, dtype=np.float64).tolist()


def _vectors(a: np.ndarray) -> Any:
    """The query or key vectors (T, d_k) of one head: packed if float32.

    >>> _vectors(np.array([[1.0, -2.0]], dtype=np.float32))
    {'float32': 'AACAPwAAAMA=', 'shape': [1, 2]}
    """
    if a.dtype != np.float32:
        return _rows(a)
    packed = base64.b64encode(a.astype("<f4").tobytes()).decode("ascii")
    return {"float32": packed, "shape": list(a.shape)}


def _layer(trace: Trace, prefix: str) -> dict[str, Any]:
    """One layer of one attention: its mask and, per head, q, k (or the K/V head
    it reads), the scores before and after ÷√d_k and the weights."""
    q_name, k_name = trace.stage(f"{prefix}.scores").inputs
    q, weights = trace[q_name], trace[f"{prefix}.weights"]
    scores, scaled = trace[f"{prefix}.scores"], trace[f"{prefix}.scaled"]
    k_stage = trace.stage(k_name)
    grouped = k_stage.op == Op.REPEAT_KV
    layer: dict[str, Any] = {
        "prefix": prefix,
        "mask": np.asarray(trace[f"{prefix}.mask"], dtype=bool).tolist(),
    }
    if grouped:
        shared = trace[k_stage.inputs[0]]  # (h_kv, T, d_k)
        ratio = weights.shape[0] // shared.shape[0]
        layer["kv"] = [_vectors(shared[g]) for g in range(shared.shape[0])]
    k = trace[k_name]
    layer["heads"] = [
        {
            "q": _vectors(q[h]),
            **({"kv": h // ratio} if grouped else {"k": _vectors(k[h])}),
            "scores": _rows(scores[h]),
            "scaled": _rows(scaled[h]),
            "weights": _rows(weights[h]),
        }
        for h in range(weights.shape[0])
    ]
    return layer


def attention_views(trace: Trace) -> dict[str, Any]:
    """For each attention (stack × kind): tokens, and per layer and head the
    weights, q, k, QKᵀ and QKᵀ/√d_k that the trace recorded, and the mask."""
    cfg = trace.config
    byte_level = Vocabulary(trace.vocab).byte_level
    kinds = []
    for (stack, attn), label in _LABELS.items():
        layers = []
        for layer in range(cfg.n_layers):
            p = f"{stack}.{layer}.{attn}"
            if f"{p}.weights" not in trace:
                continue
            layers.append({"layer": layer, **_layer(trace, p)})
        if not layers:
            continue
        queries = trace.target if stack == "decoder" and trace.target else trace.source
        keys = trace.source if attn == "cross_attn" else queries
        kinds.append(
            {
                "id": f"{stack}.{attn}",
                "label": label,
                "queries": display(queries.tokens, byte_level),
                "keys": display(keys.tokens, byte_level),
                "layers": layers,
            }
        )
    return {"kinds": kinds, "d_k": cfg.d_k, "n_heads": cfg.n_heads}
