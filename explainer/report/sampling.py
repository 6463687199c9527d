"""The sampling panel's data (``section_sampling.html.j2``, ``sampling.js``): the
logits of the last position, the one that predicts the next token, from which the
page's script recomputes softmax(z / T) with top-k and top-p as the reader moves
the controls.

Every logit of that row is embedded (base64 of its little-endian bytes, in the
trace's own dtype): with them every probability the panel shows is exact, at any
temperature, k and p. SmolLM2's 49,152 float32 logits take 262 KB of the page;
a top few hundred plus the log-sum-exp of the rest would be exact at T = 1 only.
The bars are the TOP largest logits: softmax(z / T) keeps their order at every
T, and top-k and top-p only cut from the bottom, so they are always the most
probable tokens; only their names are embedded.
"""

from __future__ import annotations

import base64
import functools
from typing import Any

import numpy as np
from markupsafe import Markup

from explainer.report.cache import remembered
from explainer.token_text import Vocabulary, display
from explainer.trace import Trace

TOP = 10
"""Tokens shown as bars: the largest logits of the last position."""


def sampling_view(trace: Trace) -> dict[str, Any] | None:
    """The panel's data, or None when the model has no logits (an encoder)."""
    if "output.logits" not in trace:
        return None
    z = np.asarray(trace["output.logits"][-1])  # (V,) the next token's logits
    probs = np.asarray(trace["output.probs"][-1], dtype=np.float64)  # (V,) at T = 1
    top = [int(t) for t in np.argsort(-z, kind="stable")[: min(TOP, z.shape[0])]]
    words = Vocabulary(trace.vocab)  # tokens as text (byte-level BPE decoded)
    reads = trace.source if trace.target is None else trace.target  # the decoder's
    tokens = display(reads.tokens, words.byte_level)
    little = np.ascontiguousarray(z, z.dtype.newbyteorder("<"))
    return {
        "formula": formula(),
        "position": len(tokens) - 1,
        "last_token": tokens[-1],
        "vocab_size": int(z.shape[0]),
        "kilobytes": round(len(little.tobytes()) * 4 / 3 / 1024),
        "rows": [
            {"token": words[t], "id": t, "p": float(probs[t]), "shown": shown(probs[t])}
            for t in top
        ],
        "data": {
            "dtype": z.dtype.name,
            "logits": base64.b64encode(little.tobytes()).decode("ascii"),
            "ids": top,
        },
    }


def shown(p: float) -> str:
    """A probability as the panel shows it (as sampling.js does).

    >>> shown(0.25), shown(0.0000123), shown(0.0)
    ('0.2500', '1.2e-5', '0')
    """
    if p == 0:
        return "0"
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}".replace("e-0", "e-")


def formula() -> Markup:
    """p_i = softmax(z / T)_i as MathML, from the SymPy definition."""
    return _formula_math("sampling:p")  # "sampling:": derivations are remembered


@functools.cache
@remembered()  # across runs (report/cache.py): no SymPy when warm
def _formula_math(name: str) -> Markup:
    import sympy as sp

    from explainer.report.mathml import mathml
    from explainer.symbolic.symbols import i, vocab_size
    from explainer.symbolic.temperature import temperature_softmax

    z = sp.IndexedBase("z", real=True)
    p = sp.IndexedBase("p", real=True)
    return mathml(sp.Eq(p[i], temperature_softmax(z, i, vocab_size), evaluate=False))
