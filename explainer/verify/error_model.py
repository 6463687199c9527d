"""How far a correct stage may be from its formula: a forward rounding-error bound
per op, from the op, its sizes and its recorded inputs.

Source: N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
SIAM 2002. With u the unit roundoff (2⁻²⁴ in float32, 2⁻⁵³ in float64), each
floating-point operation is exact up to a factor (1 + δ), |δ| ≤ u (§2.2), and a
dot product of length K computed in any order satisfies (§3.1, Eq. 3.5)

    |fl(x·y) − x·y| ≤ γ_K |x|·|y|,   γ_K = K u / (1 − K u).

So a matrix product x W is off by at most about K u (|x| |W|) in each entry, a sum
of K terms by K u Σ|terms|, and an op of a few steps by a few u times its
magnitude. Each stage is checked from its *own recorded inputs*, so the bound is
that of one op: errors carried in from earlier stages need no propagation.

A stage passes when every entry satisfies

    |formula − trace| ≤ SAFETY · (u_trace + u_float64) · M,

where M is the op's magnitude (:func:`magnitude`): Higham's bound written out for
the op, counting every rounding step. ``u_float64`` is there because the formula
itself is evaluated in float64 and rounds too (for a float64 trace the two are
equal). An elementary function (exp, sin, erf, …) is charged ``LIBM_ULPS`` units
in the last place (2u each): a correctly rounded one is within half a unit; NumPy's
vectorised float32 ones are documented within a few.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explainer.mapped import release
from explainer.trace import Op
from explainer.verify.formulas import Context, evaluate

UNIT_ROUNDOFF: dict[str, float] = {"float32": 2.0**-24, "float64": 2.0**-53}
"""u: half the distance from 1 to the next number (Higham 2002, §2.1)."""

SAFETY = 2.0
"""The bounds below keep first-order terms (γ_K ≈ K u) and count the steps of a
straightforward implementation; a factor 2 covers the second-order terms, an
implementation with a step or two more, and a libm call a little worse than
``LIBM_ULPS``. It loosens nothing by orders of magnitude: a wrong formula misses by
far more (see tests/test_error_model.py for the measured margins)."""

LIBM_ULPS = 4
"""Units in the last place charged per elementary-function call (1 ulp = 2u)."""

_FN = 2 * LIBM_ULPS  # one elementary function, in units of u

# Elementary ops: the result times a count of rounding steps. Copies and ReLU only
# round when stored (1); a scaling divides by a rounded constant (3).
_STEPS = {
    Op.EMBEDDING: 2,  # one-hot rows: one nonzero term per sum, the rest exact zeros
    Op.SCALE: 3,
    Op.SCALE_EMBEDDING: 3,
    Op.RELU: 1,
    Op.APPLY_MASK: 1,
    Op.CONCAT_HEADS: 1,
    Op.REPEAT_KV: 1,
    Op.POSITION_EMBEDDING: 1,
    Op.SEGMENT_EMBEDDING: 1,
    Op.ROPE_ANGLES: 3,
}

# Sums of K products: M = (K + 2)·|x|·|y| (Higham's bound, one rounding more for
# a bias and one for the store), with |x|·|y| ≤ ‖x‖₂‖y‖₂ (Cauchy–Schwarz) so that
# no second matrix product is needed: the normwise form of Eq. 3.5 (Higham §3.1).
_PRODUCTS = {Op.PROJECT_HEADS, Op.LINEAR, Op.QK, Op.ATTEND, Op.LOGITS}

# Plain sums: M is the formula applied to |inputs|, K the number of terms.
_SUMS = {Op.ADD, Op.MEAN_POOL}


def bound(
    op: Op,
    inputs: Sequence[np.ndarray],
    expected: np.ndarray,
    ctx: Context,
    dtype: str,
) -> np.ndarray:
    """The largest accepted |formula − trace| of each entry (shape of ``expected``);
    0 where the formula is not finite (those entries must match exactly).

    >>> from explainer.verify.formulas import Context
    >>> x, w, b = np.ones((1, 4)), np.ones((4, 2)), np.zeros(2)
    >>> ctx = Context(1, 2, 4, 1e-5, 0, (1, 2))
    >>> y = evaluate(Op.LINEAR, [x, w, b], ctx)
    >>> limit = bound(Op.LINEAR, [x, w, b], y, ctx, "float32")
    >>> float(limit[0, 0] / (2**-24 + 2**-53))  # 2 · (K + 2) · ‖x‖ ‖w₀‖, K = 4
    48.0
    """
    u = UNIT_ROUNDOFF[dtype] + UNIT_ROUNDOFF["float64"]
    expected = np.asarray(expected, dtype=np.float64)
    finite = np.isfinite(expected)
    with np.errstate(invalid="ignore", over="ignore"):
        m = np.broadcast_to(magnitude(op, inputs, expected, ctx), expected.shape)
    release(inputs)  # a model's weights, checked: not kept resident (mapped.py)
    return np.where(finite, SAFETY * u * np.nan_to_num(m, posinf=np.inf), 0.0)


def magnitude(
    op: Op, inputs: Sequence[np.ndarray], expected: np.ndarray, ctx: Context
) -> np.ndarray:
    """M of one op: the bound divided by u (before the safety factor)."""
    arrays = [np.asarray(a) for a in inputs]  # float32 stays float32: no copies
    y = np.abs(np.where(np.isfinite(expected), expected, 0.0))
    if op in _STEPS:
        return _STEPS[op] * y
    if op in _PRODUCTS:
        return (arrays[0].shape[-1] + 2) * _norm_product(op, arrays, ctx)
    if op in _SUMS:
        terms = arrays[0].shape[-2] if op == Op.MEAN_POOL else 2
        absolute = evaluate(op, [np.abs(a) for a in arrays], ctx)
        return (terms + 1) * np.asarray(absolute, dtype=np.float64)
    return _SPECIAL[op]([a.astype(np.float64) for a in arrays], y, ctx)


def _norm_product(op: Op, arrays: list[np.ndarray], ctx: Context) -> np.ndarray:
    """‖row i of the left factor‖₂ · ‖column j of the right one‖₂ (+ |b_j|), laid
    out as the op lays out its output: the op's own formula on the norms, as a
    product of K = 1 terms."""

    def norms(a: np.ndarray, axis: int) -> np.ndarray:  # in a's dtype: a bound
        # einsum sums the squares without a squared copy of ``a`` (113 MB for
        # SmolLM2's embedding, as np.linalg.norm made).
        spec = "...k,...k->..." if axis == -1 else "...kj,...kj->...j"
        squares = np.einsum(spec, a, a)
        return np.sqrt(np.expand_dims(squares, axis)).astype(np.float64)

    left, right, *bias = arrays
    rows = norms(left, -1)  # (…, R, 1)
    if op in (Op.QK, Op.LOGITS):  # Q Kᵀ, h Eᵀ: the rows of the right factor
        cols = norms(right, -1)  # (…, C, 1)
    else:  # x W, A V: its columns
        cols = norms(right, -2)  # (…, 1, C)
    return np.asarray(
        evaluate(op, [rows, cols, *[np.abs(b) for b in bias]], ctx), dtype=np.float64
    )


def _softmax(arrays: list[np.ndarray], y: np.ndarray, ctx: Context) -> np.ndarray:
    """exp(xᵢ − m)/Σⱼ exp(xⱼ − m): the exponent is off by u(|xᵢ| + |m|) ≤ 2u·max|x|
    (with or without subtracting the maximum), which exp turns into a relative
    error; exp itself, the n-term positive sum and the division add n + 2 + libm."""
    x = arrays[0]
    finite = np.isfinite(x)
    largest = np.abs(np.where(finite, x, 0.0)).max(axis=-1, keepdims=True)
    n = finite.sum(axis=-1, keepdims=True)
    return y * (4 * largest + n + 2 + 2 * _FN)


def _layer_norm(arrays: list[np.ndarray], y: np.ndarray, ctx: Context) -> np.ndarray:
    """γ (x − μ)/s + β, s = √(σ² + ε), n = d_model. The mean is off by
    (n + 1)u·mean|x|, which shifts every z = (x − μ)/s by that over s (and s by as
    much relative, through σ²); σ², √ and ÷ give (n + 4)u relative; γ·z + β two more.
    """
    x, gamma, beta = arrays[:3]
    n = x.shape[-1]
    mu = x.mean(axis=-1, keepdims=True)
    s = np.sqrt(((x - mu) ** 2).mean(axis=-1, keepdims=True) + ctx.eps)
    z = np.abs(x - mu) / s
    shift = (n + 1) * np.abs(x).mean(axis=-1, keepdims=True) / s  # Δμ/s, in u
    return np.abs(gamma) * (shift * (1 + z) + (n + 6) * z) + np.abs(beta) + y


def _rms_norm(arrays: list[np.ndarray], y: np.ndarray, ctx: Context) -> np.ndarray:
    """γ x/√(mean(x²) + ε): no cancellation, (n + 5)u relative."""
    n = arrays[0].shape[-1]
    return (n + 5) * y


def _l2_normalize(arrays: list[np.ndarray], y: np.ndarray, ctx: Context):
    """x/‖x‖: the sum of squares (n + 1)u relative, √ and ÷ two more."""
    return (arrays[0].shape[-1] + 4) * y


def _gelu(arrays: list[np.ndarray], y: np.ndarray, ctx: Context) -> np.ndarray:
    """z Φ(z) = ½ z (1 + erf(z/√2)): erf is off by libm units of u absolute, so
    z Φ(z) by that times |z| (it cancels for z < 0, where 1 + erf is small); the
    float32 pass's erfc (Abramowitz & Stegun 7.1.26, error ≤ 1.5·10⁻⁷ ≈ 2.6u) adds
    1.3u|z|, under that. Five roundings of the result's size."""
    z = np.abs(arrays[0])
    return 5 * y + _FN * z


def _swiglu(arrays: list[np.ndarray], y: np.ndarray, ctx: Context) -> np.ndarray:
    """g σ(g) · v: exp(−g) is off by u|g| + libm relative, and 1 + e^(−g) passes
    at most that on to σ(g) (d log σ/dg ≤ 1); ÷, × and the store add three."""
    g = np.abs(arrays[0])
    return y * (g + _FN + 4)


def _rope(arrays: list[np.ndarray], y: np.ndarray, ctx: Context) -> np.ndarray:
    """(a cos θ − b sin θ, a sin θ + b cos θ): cos and sin of the recorded angle
    are off by libm units; a pass that rotated by the unrounded angle differs by
    u|θ| more; two products and a sum round three times."""
    heads, angles = arrays
    a, b = np.abs(heads[..., 0::2]), np.abs(heads[..., 1::2])
    pair = (a + b) * (_FN + 3 + np.abs(angles))
    out = np.empty_like(heads)
    out[..., 0::2] = pair
    out[..., 1::2] = pair
    return out


def _positional_encoding(arrays: list[np.ndarray], y: np.ndarray, ctx: Context):
    """sin/cos of θ = pos/10000^(2i/d): the power is exp((2i/d) ln 10000), off by
    u(1 + 2i/d · ln 10000) ≤ 11u relative, θ by one more, and sin by |Δθ|."""
    seq_len = ctx.shape[-2]
    pos = np.arange(seq_len, dtype=np.float64)[:, None]
    return (_FN + 1) * y + (13 + _FN) * pos * np.ones(ctx.shape[-1])


_SPECIAL = {
    Op.SOFTMAX: _softmax,
    Op.LAYER_NORM: _layer_norm,
    Op.RMS_NORM: _rms_norm,
    Op.L2_NORMALIZE: _l2_normalize,
    Op.GELU: _gelu,
    Op.SWIGLU: _swiglu,
    Op.ROPE: _rope,
    Op.POSITIONAL_ENCODING: _positional_encoding,
}


def judge(
    expected: np.ndarray, actual: np.ndarray, limit: np.ndarray
) -> tuple[float, float, bool]:
    """(largest |expected − actual|, its tolerance, whether every entry is within
    its own limit).

    The tolerance is one number for a row: the largest error divided by the worst
    ratio error/limit over the entries, so that error/tolerance *is* that ratio
    (1 at the edge) and error ≤ tolerance exactly when every entry passes. With no
    error it is the largest limit. Equal values (infinities too) count as equal;
    a NaN, or an error where the limit is 0, fails.

    >>> judge(np.array([1.0, 10.0]), np.array([1.5, 10.5]), np.array([1.0, 2.0]))
    (0.5, 1.0, True)
    """
    ratio, err, at = _worst(expected, actual, limit)
    if err == 0:
        return 0.0, float(np.max(limit, initial=0.0)), True
    if not np.isfinite(ratio):
        return err, float(np.broadcast_to(limit, np.shape(expected))[at]), False
    return err, err / ratio, ratio <= 1.0


def worst_ratio(expected: np.ndarray, actual: np.ndarray, limit: np.ndarray) -> float:
    """The largest |expected − actual|/limit over the entries (0 if all agree).

    >>> worst_ratio(np.array([1.0, -np.inf]), np.array([1.5, -np.inf]), np.ones(2))
    0.5
    """
    return _worst(expected, actual, limit)[0]


def _worst(
    expected: np.ndarray, actual: np.ndarray, limit: np.ndarray
) -> tuple[float, float, tuple[int, ...]]:
    """(worst ratio, largest error, the index of the worst ratio)."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    same = (expected == actual) | (np.isnan(expected) & np.isnan(actual))
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(same, 0.0, np.abs(expected - actual))
        diff = np.where(np.isnan(diff), np.inf, diff)
        ratio = np.where(diff == 0, 0.0, diff / limit)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    if ratio.size == 0:
        return 0.0, 0.0, ()
    at = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    return float(ratio[at]), float(diff.max()), tuple(int(i) for i in at)
