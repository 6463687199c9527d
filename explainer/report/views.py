"""Data of the interactive attention views (head, model and neuron view), for
``{{ views | tojson }}``: every layer × head of every attention in the trace."""

from __future__ import annotations

from typing import Any

import numpy as np

from explainer.trace import Trace

_LABELS = {
    ("encoder", "self_attn"): "Encoder self-attention",
    ("decoder", "self_attn"): "Decoder masked self-attention",
    ("decoder", "cross_attn"): "Decoder cross-attention (target → source)",
}


def _rows(a: np.ndarray) -> list[Any]:
    return np.asarray(a, dtype=np.float64).tolist()


def attention_views(trace: Trace) -> dict[str, Any]:
    """For each attention (stack × kind): tokens, and per layer and head the
    weights, q, k, QKᵀ and QKᵀ/√d_k that the trace recorded, and the mask."""
    cfg = trace.config
    kinds = []
    for (stack, attn), label in _LABELS.items():
        layers = []
        for layer in range(cfg.n_layers):
            p = f"{stack}.{layer}.{attn}"
            if f"{p}.weights" not in trace:
                continue
            q, k = trace[f"{p}.q"], trace[f"{p}.k"]
            scores, scaled = trace[f"{p}.scores"], trace[f"{p}.scaled"]
            weights = trace[f"{p}.weights"]
            layers.append(
                {
                    "layer": layer,
                    "prefix": p,
                    "mask": np.asarray(trace[f"{p}.mask"], dtype=bool).tolist(),
                    "heads": [
                        {
                            "q": _rows(q[h]),
                            "k": _rows(k[h]),
                            "scores": _rows(scores[h]),
                            "scaled": _rows(scaled[h]),
                            "weights": _rows(weights[h]),
                        }
                        for h in range(weights.shape[0])
                    ],
                }
            )
        if not layers:
            continue
        queries = trace.target if stack == "decoder" and trace.target else trace.source
        keys = trace.source if attn == "cross_attn" else queries
        kinds.append(
            {
                "id": f"{stack}.{attn}",
                "label": label,
                "queries": list(queries.tokens),
                "keys": list(keys.tokens),
                "layers": layers,
            }
        )
    return {"kinds": kinds, "d_k": cfg.d_k, "n_heads": cfg.n_heads}
