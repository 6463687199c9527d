"""Pure NumPy operations of the Transformer, one function per formula.

Arrays in, arrays out; no state. Row-vector convention of the paper: a sequence is a
(T, d_model) matrix X and a projection is ``X @ W`` with ``W`` of shape (d_in, d_out).
Leading batch axes are allowed everywhere (``...``). Scalars use ``math.sqrt`` so that
a float32 array stays float32.

Sources: Vaswani et al. 2017, "Attention Is All You Need" (sections cited per
function); Ba et al. 2016 (LayerNorm); Hendrycks & Gimpel 2016 (GELU); Devlin et al.
2019 (BERT: learned positions, segments); Reimers & Gurevych 2019 (mean pooling).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from explainer.erfc_approx import COEFFICIENTS as _AS_COEFFICIENTS
from explainer.erfc_approx import P as _AS_P

NEG_INF = -np.inf


def one_hot(ids: np.ndarray, vocab_size: int, dtype: str | np.dtype) -> np.ndarray:
    """Row t is the unit vector of token ``ids[t]``.  # (T, V)

    >>> one_hot(np.array([2, 0]), 3, "float64")
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    ids = np.asarray(ids)
    out = np.zeros((*ids.shape, vocab_size), dtype=dtype)  # (T, V)
    np.put_along_axis(out, ids[..., None], 1, axis=-1)
    return out


def embedding(one_hot_ids: np.ndarray, table: np.ndarray) -> np.ndarray:
    """One-hot rows times the embedding matrix E picks rows of E (§3.4).  # (T, d)"""
    return one_hot_ids @ table  # (T, d_model)


def lookup(table: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Rows ``ids`` of E: exactly ``embedding(one_hot(ids), E)``, without the
    (T, V) × (V, d_model) product (V·T·d_model multiply-adds: 9 ms for MiniLM,
    21 ms for SmolLM2 at T ≈ 50).  # (T, d_model)

    >>> lookup(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([1, 1]))
    array([[3., 4.],
           [3., 4.]])
    """
    return np.take(table, ids, axis=0)  # (T, d_model)


def scale_embedding(x: np.ndarray, d_model: int) -> np.ndarray:
    """Embeddings multiplied by √d_model (§3.4)."""
    return x * math.sqrt(d_model)  # (T, d_model)


@functools.lru_cache(maxsize=64)
def positional_encoding(
    seq_len: int, d_model: int, dtype: str | np.dtype
) -> np.ndarray:
    """Sinusoidal positional encoding (§3.5), interleaved as in the paper.

    PE(pos, 2i) = sin(pos / 10000^(2i/d_model)), PE(pos, 2i+1) = cos(same angle).
    For odd d_model the last column is a sine with no cosine partner.

    >>> positional_encoding(2, 3, "float64").round(4)
    array([[0.    , 1.    , 0.    ],
           [0.8415, 0.5403, 0.0022]])
    """
    pos = np.arange(seq_len, dtype=np.float64)[:, None]  # (T, 1)
    two_i = np.arange(0, d_model, 2, dtype=np.float64)  # (⌈d/2⌉,)
    angle = pos / np.power(10000.0, two_i / d_model)  # (T, ⌈d/2⌉)
    pe = np.empty((seq_len, d_model), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    pe = pe.astype(dtype)  # (T, d_model)
    pe.setflags(write=False)  # cached: the same array is handed out again
    return pe


def position_embedding(table: np.ndarray, seq_len: int) -> np.ndarray:
    """Rows 0 … T−1 of a learned position table P (Devlin et al. 2019, §3.2).

    >>> position_embedding(np.arange(6.0).reshape(3, 2), 2)
    array([[0., 1.],
           [2., 3.]])
    """
    if seq_len > table.shape[0]:
        raise ValueError(
            f"{seq_len} positions but the position table has {table.shape[0]}"
        )
    return table[:seq_len].copy()  # (T, d_model)


def segment_embedding(table: np.ndarray, seq_len: int, segment: int = 0) -> np.ndarray:
    """Row ``segment`` of the token-type table, for each of T tokens (BERT: one
    sentence is segment 0; Devlin et al. 2019, §3.2).  # (T, d_model)

    >>> segment_embedding(np.array([[1.0, 2.0], [3.0, 4.0]]), 2)
    array([[1., 2.],
           [1., 2.]])
    """
    return np.repeat(table[segment : segment + 1], seq_len, axis=0)  # (T, d_model)


def mean_pool(x: np.ndarray) -> np.ndarray:
    """The mean of the T token vectors: one vector for the sentence (Reimers &
    Gurevych 2019, §3).  # (d_model,)

    >>> mean_pool(np.array([[1.0, 2.0], [3.0, 6.0]]))
    array([2., 4.])
    """
    return x.sum(axis=-2) / x.shape[-2]  # (..., d_model)


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """x / max(‖x‖₂, ε): unit length, so that a dot product is a cosine.

    >>> l2_normalize(np.array([3.0, 4.0]))
    array([0.6, 0.8])
    """
    norm = np.sqrt((x * x).sum(axis=-1, keepdims=True))  # (..., 1)
    return x / np.maximum(norm, eps)


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise sum: embeddings + PE (§3.5), and residual connections (§3.1)."""
    return a + b


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x W + b, row-vector convention; ``w`` is (d_in, d_out).  # (T, d_out)"""
    y = x @ w  # (T, d_out)
    y += b
    return y


def project_heads(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, n_heads: int
) -> np.ndarray:
    """X W + b for all heads at once, split into heads (§3.2.2).

    ``w`` is (d_model, n_heads·d_head); head i uses columns i·d_head … (i+1)·d_head − 1.
    Returns (..., n_heads, T, d_head).
    """
    y = x @ w  # (..., T, h·d_head)
    y += b
    *lead, seq_len, width = y.shape
    y = y.reshape(*lead, seq_len, n_heads, width // n_heads)  # (..., T, h, d_head)
    return np.swapaxes(y, -2, -3)  # (..., h, T, d_head)


def qk(q: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Q Kᵀ, the raw attention scores of every head (§3.2.1, Eq. 1).  # (h, T_q, T_k)"""
    return q @ np.swapaxes(k, -1, -2)  # (..., h, T_q, T_k)


def scale(scores: np.ndarray, d_k: int) -> np.ndarray:
    """Scores divided by √d_k (§3.2.1)."""
    return scores / math.sqrt(d_k)  # (..., h, T_q, T_k)


def causal_mask(seq_len: int) -> np.ndarray:
    """True where query t may attend to key s: s ≤ t (§3.2.3).  # (T, T)

    >>> causal_mask(3).astype(int)
    array([[1, 0, 0],
           [1, 1, 0],
           [1, 1, 1]])
    """
    return np.tril(np.ones((seq_len, seq_len), dtype=bool))  # (T, T)


def no_mask(len_q: int, len_k: int) -> np.ndarray:
    """Every query may attend to every key.  # (T_q, T_k)"""
    return np.ones((len_q, len_k), dtype=bool)


def padding_mask(ids: np.ndarray, pad_id: int) -> np.ndarray:
    """True for keys that are not padding, shaped to broadcast over heads and
    queries.  # (..., 1, 1, T_k)"""
    return (ids != pad_id)[..., None, None, :]


def apply_mask(scores: np.ndarray, *allowed: np.ndarray) -> np.ndarray:
    """−∞ where any mask forbids attention, so that softmax gives it weight 0.

    >>> apply_mask(np.zeros((2, 2)), causal_mask(2))
    array([[  0., -inf],
           [  0.,   0.]])
    """
    if len(allowed) == 1:
        ok = allowed[0]
    else:
        ok = np.logical_and.reduce(np.broadcast_arrays(*allowed)) if allowed else True
    out = scores.copy()
    np.copyto(out, NEG_INF, where=np.logical_not(ok))  # 3× faster than np.where
    return out


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(xᵢ) / Σⱼ exp(xⱼ), computed as exp(xᵢ − max x) / Σⱼ exp(xⱼ − max x).

    >>> softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    """
    e = x - x.max(axis=axis, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=axis, keepdims=True)
    return e


def attend(weights: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Weighted sum of the values: softmax(·) V (§3.2.1, Eq. 1).  # (h, T_q, d_v)"""
    return weights @ v  # (..., h, T_q, d_v)


def concat_heads(heads: np.ndarray) -> np.ndarray:
    """Concat(head₁, …, head_h) along the feature axis (§3.2.2).  # (T, h·d_v)"""
    x = np.swapaxes(heads, -2, -3)  # (..., T, h, d_v)
    *lead, seq_len, n_heads, d_v = x.shape
    return x.reshape(*lead, seq_len, n_heads * d_v)  # (..., T, h·d_v)


def layer_norm(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> np.ndarray:
    """γ ⊙ (x − μ) / √(σ² + ε) + β over the last axis, σ² biased (Ba et al. 2016).

    >>> layer_norm(np.array([1.0, 3.0]), np.ones(2), np.zeros(2), 0.0)
    array([-1.,  1.])
    """
    d_model = x.shape[-1]
    centered = x - x.sum(axis=-1, keepdims=True) / d_model  # (T, d_model): x − μ
    var = (centered * centered).sum(axis=-1, keepdims=True) / d_model  # (T, 1)
    centered /= np.sqrt(var + eps)  # in place: one (T, d_model) array, not three
    centered *= gamma
    centered += beta
    return centered  # (T, d_model)


def relu(x: np.ndarray) -> np.ndarray:
    """max(0, x) (§3.3, Eq. 2)."""
    return np.maximum(x, 0)


def gelu(x: np.ndarray) -> np.ndarray:
    """x Φ(x) = x · ½ (1 + erf(x / √2)) (Hendrycks & Gimpel 2016), exact form.

    float32 arrays take the same value as max(x, 0) − ½|x| erfc(|x|/√2), with erfc
    from :func:`erfc_approx`: off by at most 2.1·10⁻⁷ before rounding (the ``gelu``
    derivation measures it), about one float32 step at |x| ≈ 3; in MiniLM's pass it
    takes 1.25 ms where SciPy's element-by-element erf took 4.5 ms. Other dtypes use
    SciPy's erf.

    >>> gelu(np.array([-1.0, 0.0, 1.0])).round(6)
    array([-0.158655,  0.      ,  0.841345])
    >>> gelu(np.array([-1.0, 0.0, 1.0], dtype=np.float32)).round(6)
    array([-0.158655,  0.      ,  0.841345], dtype=float32)
    """
    if x.dtype == np.float32:
        magnitude = np.abs(x)  # |x|
        tail = erfc_approx(magnitude * np.float32(1 / math.sqrt(2)))  # erfc(|x|/√2)
        tail *= magnitude
        tail *= np.float32(0.5)  # ½|x| erfc(|x|/√2)
        out = np.maximum(x, np.float32(0))
        out -= tail
        return out
    from scipy.special import erf  # imported here: scipy.special takes 0.2 s to load

    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def erfc_approx(a: np.ndarray) -> np.ndarray:
    """erfc(a) for a ≥ 0 by Abramowitz & Stegun 7.1.26: t = 1/(1 + p a),
    erfc(a) ≈ (a₁t + … + a₅t⁵) e^(−a²), |error| ≤ 1.5·10⁻⁷, in a's dtype
    (see :mod:`explainer.erfc_approx`).

    >>> erfc_approx(np.array([0.0, 1.0, 4.0])).round(6)  # erfc(1) = 0.1572992…
    array([1.      , 0.157299, 0.      ])
    """
    dtype = a.dtype.type
    t = a * dtype(_AS_P)
    t += dtype(1)
    np.reciprocal(t, out=t)  # t = 1/(1 + p a)
    out = t * dtype(_AS_COEFFICIENTS[-1])
    for c in _AS_COEFFICIENTS[-2::-1]:  # Horner: ((a₅t + a₄)t + … + a₁)t
        out += dtype(c)
        out *= t
    g = np.minimum(a, dtype(9))  # erfc(9) < 10⁻³⁶: spares overflow and subnormals
    np.multiply(g, g, out=g)
    np.negative(g, out=g)
    out *= np.exp(g, out=g)  # × e^(−a²)
    return out


def logits(h: np.ndarray, table: np.ndarray) -> np.ndarray:
    """h Eᵀ: the pre-softmax projection shares the embedding matrix (§3.4).  # (T, V)"""
    return h @ table.T  # (T, V)


def argmax(x: np.ndarray) -> np.ndarray:
    """Index of the largest entry of each row: the predicted token."""
    return np.argmax(x, axis=-1)


def rms_norm(x: np.ndarray, gamma: np.ndarray, eps: float) -> np.ndarray:
    """γ ⊙ x / √(mean(x²) + ε) over the last axis (Zhang & Sennrich 2019, Eq. 4).

    >>> rms_norm(np.array([3.0, 4.0]), np.ones(2), 0.0).round(4)
    array([0.8485, 1.1314])
    """
    mean_sq = (x * x).sum(axis=-1, keepdims=True) / x.shape[-1]  # (T, 1)
    return x / np.sqrt(mean_sq + eps) * gamma  # (T, d_model)


def rope_angles(inv_freq: np.ndarray, seq_len: int) -> np.ndarray:
    """θ_{m,i} = m · ω_i, ω_i = base^(−2i/d_k): the angle of pair i at position m
    (Su et al. 2021, Eq. 15).  # (T, d_k/2)

    >>> rope_angles(np.array([1.0, 0.5]), 3)
    array([[0. , 0. ],
           [1. , 0.5],
           [2. , 1. ]])
    """
    positions = np.arange(seq_len, dtype=inv_freq.dtype)[:, None]  # (T, 1)
    return positions * inv_freq  # (T, d_k/2)


def rope(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Rotate each adjacent pair (x_{2i}, x_{2i+1}) of every head by θ_{m,i}
    (Su et al. 2021, Eq. 34).  # (h, T, d_k)

    >>> rope(np.array([[[1.0, 0.0]]]), np.array([[np.pi / 2]])).round(6)
    array([[[0., 1.]]])
    """
    cos, sin = np.cos(angles), np.sin(angles)  # (T, d_k/2)
    even, odd = x[..., 0::2], x[..., 1::2]  # (h, T, d_k/2)
    out = np.empty_like(x)
    out[..., 0::2] = even * cos - odd * sin
    out[..., 1::2] = even * sin + odd * cos
    return out  # (h, T, d_k)


def repeat_kv(x: np.ndarray, n_heads: int) -> np.ndarray:
    """Grouped-query attention: K/V head g serves the n_heads/h_kv query heads
    g·r … (g+1)·r − 1 (Ainslie et al. 2023).  # (n_heads, T, d)

    >>> repeat_kv(np.array([[[1.0]], [[2.0]]]), 4)[:, 0, 0]
    array([1., 1., 2., 2.])
    """
    groups = x.shape[-3]
    if n_heads % groups:
        raise ValueError(f"{groups} K/V heads do not divide {n_heads} query heads")
    return np.repeat(x, n_heads // groups, axis=-3)  # (..., n_heads, T, d)


def silu(x: np.ndarray) -> np.ndarray:
    """x σ(x) = x / (1 + e^(−x)) (Elfwing et al. 2018; "Swish", Ramachandran 2017).

    >>> silu(np.array([0.0]))
    array([0.])
    """
    return x / (1 + np.exp(-x))


def swiglu(gate: np.ndarray, up: np.ndarray) -> np.ndarray:
    """SiLU(x W_gate) ⊙ (x W_up) (Shazeer 2020, Eq. 6).  # (T, d_ff)"""
    return silu(gate) * up
