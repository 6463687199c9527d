"""Numbers for the sections of the pretrained models' variants: RMSNorm, RoPE,
grouped-query attention, SwiGLU (a Llama decoder) and the pooled sentence
embedding (a BERT encoder).

Like :mod:`explainer.report.figures`, everything reads the trace's arrays. The one
demonstration that goes beyond them, RoPE's relative positions, moves a recorded
query and key to other positions with the same SymPy score that the ``rope``
derivation proves (the trace has each vector at one position only).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from explainer.ops import remember
from explainer.report.figures import colour
from explainer.report.tables import exact, number

RELATIVE_SHIFTS = 5  # positions (m + c, n + c), c = 0 … 4, of the RoPE demonstration
TOP_COMPONENTS = 8  # largest components of the sentence embedding listed


def _norms(x: np.ndarray) -> np.ndarray:
    """Euclidean length of each row (last axis), in float64."""
    return np.linalg.norm(np.asarray(x, dtype=np.float64), axis=-1)


def rms_rows(x: np.ndarray) -> list[dict[str, str]]:
    """Per row of RMSNorm's input: the mean (which RMSNorm keeps) and the root mean
    square √(mean x²) it divides by (Zhang & Sennrich 2019, Eq. 4)."""
    x = np.asarray(x, dtype=np.float64)
    return [
        {
            "mean": number(float(r.mean())),
            "rms": number(math.sqrt(float(np.mean(r * r)))),
            "exact": exact(math.sqrt(float(np.mean(r * r)))),
        }
        for r in x
    ]


def rope_base(inv_freq: np.ndarray) -> float:
    """The base b of ω_i = b^(−2i/d_k), read back from ω_1 = b^(−2/d_k)."""
    d_k = 2 * inv_freq.shape[0]
    return float(inv_freq[1]) ** (-d_k / 2) if inv_freq.shape[0] > 1 else math.inf


def rope_wavelengths(inv_freq: np.ndarray) -> list[dict[str, str]]:
    """Pairs 0, 1 and the last two: ω_i and the wavelength 2π/ω_i in positions."""
    n = inv_freq.shape[0]
    picks = sorted({0, 1, max(0, n - 2), n - 1})
    return [
        {
            "pair": str(i),
            "omega": number(float(inv_freq[i])),
            "exact": exact(float(inv_freq[i])),
            "wavelength": number(2 * math.pi / float(inv_freq[i])),
        }
        for i in picks
    ]


def rope_norms(before: np.ndarray, after: np.ndarray) -> dict[str, Any]:
    """‖x_m‖ before and after RoPE for head 0 at each position, and the largest
    relative change over every head and position (a rotation changes none)."""
    b, a = _norms(before), _norms(after)  # (h, T)
    change = np.abs(a - b) / np.maximum(b, np.finfo(np.float64).tiny)
    return {
        "rows": [
            {"position": m, "before": number(float(x)), "after": number(float(y))}
            for m, (x, y) in enumerate(zip(b[0], a[0], strict=True))
        ],
        "largest": number(float(change.max(initial=0.0))),
        "largest_exact": exact(float(change.max(initial=0.0))),
    }


def _make_pair_score():
    import sympy as sp

    from explainer.symbolic import rope as sym_rope

    m, n = sym_rope.m_pos, sym_rope.n_pos
    args = (sym_rope.q0, sym_rope.q1, sym_rope.k0, sym_rope.k1, m, n)
    score = sym_rope.score(m, n, sym_rope.theta)
    return sp.lambdify((*args, sym_rope.theta), score, modules="numpy")


remember.known("report:rope score", _make_pair_score)  # made with the rest on a miss


@functools.cache
def _pair_score():
    """⟨R(m ω) q, R(n ω) k⟩ of one pair, from the derivation's own SymPy score
    (lambdified once, remembered across runs)."""
    return remember.function("report:rope score", _make_pair_score)


def rope_score(q: np.ndarray, k: np.ndarray, m: int, n: int, omega: np.ndarray):
    """q rotated to position m dotted with k rotated to position n: the sum over
    the d_k/2 pairs of the SymPy pair score (Su et al. 2021, Eq. 34)."""
    q, k = np.asarray(q, np.float64), np.asarray(k, np.float64)
    pairs = _pair_score()(q[0::2], q[1::2], k[0::2], k[1::2], m, n, omega)
    return float(np.sum(pairs))


def rope_relative(
    q: np.ndarray, k: np.ndarray, omega: np.ndarray, scores: np.ndarray
) -> dict[str, Any]:
    """Query head 0's unrotated vector of the last position and key head 0's of
    position 0, scored at positions (m + c, n + c): the same score for every c.
    The row c = 0 is also what the trace recorded in ``scores``; a key at another
    offset scores differently."""
    m, n = q.shape[1] - 1, 0
    omega = np.asarray(omega, np.float64)
    rows = [
        {
            "c": c,
            "m": m + c,
            "n": n + c,
            "score": number(rope_score(q[0, m], k[0, n], m + c, n + c, omega)),
            "exact": exact(rope_score(q[0, m], k[0, n], m + c, n + c, omega)),
        }
        for c in range(RELATIVE_SHIFTS)
    ]
    return {
        "query": m,
        "key": n,
        "rows": rows,
        "recorded": number(float(scores[0, m, n])),
        "recorded_exact": exact(float(scores[0, m, n])),
    }


def kv_groups(
    keys: np.ndarray, repeated: np.ndarray, values: np.ndarray, repeated_v: np.ndarray
) -> dict[str, Any]:
    """For each query head j: the K/V head whose keys and values the trace's
    repeated heads are equal to, beside ⌊j / r⌋ from the SymPy ``kv_head``
    (Ainslie et al. 2023, §2.2)."""
    h, h_kv = repeated.shape[0], keys.shape[0]
    r = h // h_kv

    def source(stack: np.ndarray, row: np.ndarray) -> str:
        same = [g for g in range(stack.shape[0]) if np.array_equal(stack[g], row)]
        return ", ".join(str(g) for g in same) or "none"

    rows = [
        {
            "head": j,
            "k": source(keys, repeated[j]),
            "v": source(values, repeated_v[j]),
            "formula": _kv_head(j, r),
        }
        for j in range(h)
    ]
    return {"rows": rows, "h": h, "h_kv": h_kv, "r": r}


def _kv_head(j: int, r: int) -> int:
    """⌊j / r⌋ from the SymPy ``kv_head``: the repeat_kv op's formula, lambdified
    (remembered across runs)."""
    from explainer.ops.llama import REPEAT_KV

    return int(REPEAT_KV.function("numpy")(j, r))


def _make_silu():
    import sympy as sp

    from explainer.symbolic import swiglu as sym_swiglu
    from explainer.symbolic.symbols import z

    return sp.lambdify(z, sym_swiglu.silu(z), modules="numpy")


remember.known("report:silu", _make_silu)  # made with the rest on a miss


@functools.cache
def _silu():
    """SiLU lambdified (remembered across runs)."""
    return remember.function("report:silu", _make_silu)


def silu_curve(gate: np.ndarray) -> dict[str, Any]:
    """SiLU(z) on [−6, 6] from its SymPy definition, with the range of this
    layer's gate values x W_gate shaded, and how many of them are negative."""
    width, height, left, top = 420, 170, 40, 10
    lo, hi = -6.0, 6.0
    zs = np.linspace(lo, hi, 241)
    ys = np.asarray(_silu()(zs), dtype=np.float64)
    y_lo, y_hi = -1.0, 6.0

    def sx(z: float) -> float:
        return round(left + (z - lo) / (hi - lo) * (width - left - 10), 2)

    def sy(y: float) -> float:
        return round(top + (y_hi - y) / (y_hi - y_lo) * (height - top - 24), 2)

    g = np.asarray(gate, dtype=np.float64)
    g_min, g_max = float(g.min()), float(g.max())
    return {
        "width": width,
        "height": height,
        "points": " ".join(
            f"{sx(float(z))},{sy(float(y))}" for z, y in zip(zs, ys, strict=True)
        ),
        "axis_y": sy(0.0),
        "axis_x": sx(0.0),
        "left": left,
        "right": width - 10,
        "top": top,
        "bottom": height - 24,
        "span_x": sx(max(lo, g_min)),
        "span_w": round(sx(min(hi, g_max)) - sx(max(lo, g_min)), 2),
        "ticks": [{"x": sx(z), "label": str(int(z))} for z in range(-6, 7, 2)],
        "g_min": number(g_min),
        "g_max": number(g_max),
        "negative": int((g < 0).sum()),
        "size": int(g.size),
        "fill": colour(-0.25),
    }


def embedding_summary(pooled: np.ndarray, embedding: np.ndarray) -> dict[str, Any]:
    """The sentence embedding at a glance: the lengths before and after the
    L2 normalisation and its largest components."""
    e = np.asarray(embedding, dtype=np.float64).reshape(-1)
    order = np.argsort(-np.abs(e), kind="stable")[:TOP_COMPONENTS]
    return {
        "d": int(e.size),
        "pooled_norm": number(float(_norms(pooled.reshape(-1)))),
        "norm": number(float(_norms(e))),
        "norm_exact": exact(float(_norms(e))),
        "top": [
            {"index": int(i), "value": number(float(e[i])), "exact": exact(float(e[i]))}
            for i in order
        ],
    }
