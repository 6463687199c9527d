"""Properties and hand-computed values of the pure NumPy ops (explainer/numeric.py).

Expected values are computed here independently: with :mod:`math` element by element,
or by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from explainer import numeric

SETTINGS = settings(max_examples=40, deadline=None)


def floats(bound: float = 1e3, width: int = 64) -> st.SearchStrategy[float]:
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=width)


def arrays(dims: int, bound: float = 1e3, max_side: int = 6, dtype=np.float64):
    """Finite arrays with ``dims`` axes of 1 … ``max_side`` entries each."""
    shape = hnp.array_shapes(
        min_dims=dims, max_dims=dims, min_side=1, max_side=max_side
    )
    width = 32 if dtype == np.float32 else 64
    return hnp.arrays(dtype, shape, elements=floats(bound, width))


# ------------------------------------------------------------------ softmax


@SETTINGS
@given(arrays(3, bound=1e6))
def test_softmax_rows_sum_to_one(x):
    w = numeric.softmax(x)  # (a, b, n)
    assert w.shape == x.shape
    assert ((w >= 0) & (w <= 1)).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@SETTINGS
@given(arrays(2), st.data())
def test_softmax_invariant_to_adding_a_constant_per_row(x, data):
    rows = x.shape[0]
    shift = data.draw(hnp.arrays(np.float64, (rows, 1), elements=floats()))
    np.testing.assert_allclose(
        numeric.softmax(x + shift), numeric.softmax(x), rtol=0, atol=1e-10
    )


def test_softmax_hand_values():
    np.testing.assert_allclose(
        numeric.softmax(np.array([0.0, 0.0, math.log(2.0)])), [0.25, 0.25, 0.5]
    )
    assert numeric.softmax(np.array([[7.0, 7.0]])).tolist() == [[0.5, 0.5]]
    # stable for huge inputs: exp(1000) alone would overflow
    np.testing.assert_allclose(
        numeric.softmax(np.array([1000.0, 1000.0 + math.log(3.0)])), [0.25, 0.75]
    )


# -------------------------------------------------------------------- masks


@st.composite
def square_scores(draw, bound: float = 1e6) -> np.ndarray:
    """Scores of h heads over T queries and T keys: (h, T, T)."""
    n_heads, seq_len = draw(st.integers(1, 3)), draw(st.integers(1, 7))
    return draw(
        hnp.arrays(np.float64, (n_heads, seq_len, seq_len), elements=floats(bound))
    )


@SETTINGS
@given(square_scores())
def test_causal_weights_above_the_diagonal_are_exactly_zero(scores):
    seq_len = scores.shape[-1]
    w = numeric.softmax(numeric.apply_mask(scores, numeric.causal_mask(seq_len)))
    above = np.triu(np.ones((seq_len, seq_len), dtype=bool), k=1)
    assert (w[:, above] == 0.0).all()
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@SETTINGS
@given(
    hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements=st.integers(0, 4),
    ),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_padding_mask_zeroes_pad_keys(ids, n_heads, seed):
    """pad_id 0; every row keeps at least its first token."""
    ids = ids.copy()
    ids[:, 0] = np.maximum(ids[:, 0], 1)
    batch, seq_len = ids.shape
    allowed = numeric.padding_mask(ids, 0)
    assert allowed.shape == (batch, 1, 1, seq_len)
    assert (allowed[:, 0, 0, :] == (ids != 0)).all()
    scores = np.random.default_rng(seed).normal(size=(batch, n_heads, seq_len, seq_len))
    for masks in [(allowed,), (numeric.causal_mask(seq_len), allowed)]:
        w = numeric.softmax(numeric.apply_mask(scores, *masks))  # (B, h, T, T)
        pads = np.broadcast_to((ids == 0)[:, None, None, :], w.shape)
        assert (w[pads] == 0.0).all()
        np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


def test_apply_mask_hand_values():
    scores = np.array([[1.0, 2.0], [3.0, 4.0]])
    keys = np.array([True, False])
    out = numeric.apply_mask(scores, numeric.no_mask(2, 2), keys)
    assert out.tolist() == [[1.0, -math.inf], [3.0, -math.inf]]
    assert numeric.apply_mask(scores).tolist() == scores.tolist()


# ------------------------------------------------------- positional encoding


def pe_by_hand(pos: int, col: int, d_model: int) -> float:
    """PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(same angle)."""
    two_i = col - col % 2
    angle = pos / 10000 ** (two_i / d_model)
    return math.sin(angle) if col % 2 == 0 else math.cos(angle)


@SETTINGS
@given(st.integers(1, 200), st.integers(1, 64))
def test_positional_encoding_is_bounded_and_shaped(seq_len, d_model):
    pe = numeric.positional_encoding(seq_len, d_model, "float64")
    assert pe.shape == (seq_len, d_model)
    assert np.abs(pe).max() <= 1.0


@SETTINGS
@given(st.integers(1, 60), st.integers(1, 33))
def test_positional_encoding_interleaves_sin_and_cos(seq_len, d_model):
    """Column 2i is a sine and 2i + 1 the cosine of the same angle, odd d too."""
    pe = numeric.positional_encoding(seq_len, d_model, "float64")
    expected = [
        [pe_by_hand(pos, col, d_model) for col in range(d_model)]
        for pos in range(seq_len)
    ]
    np.testing.assert_allclose(pe, expected, rtol=0, atol=1e-12)


def test_positional_encoding_hand_values():
    pe = numeric.positional_encoding(2, 5, "float64")
    assert pe.shape == (2, 5)  # odd d_model: the last column is a lone sine
    assert pe[0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    np.testing.assert_allclose(
        pe[1],
        [
            math.sin(1.0),
            math.cos(1.0),
            math.sin(10000**-0.4),
            math.cos(10000**-0.4),
            math.sin(10000**-0.8),
        ],
        rtol=0,
        atol=1e-15,
    )
    assert numeric.positional_encoding(3, 1, "float64")[:, 0].tolist() == [
        0.0,
        math.sin(1.0),
        math.sin(2.0),
    ]


# --------------------------------------------------------------- LayerNorm


@SETTINGS
@given(arrays(2))
def test_layer_norm_has_mean_zero_and_variance_one_before_gamma_beta(x):
    d_model = x.shape[-1]
    eps = 1e-5
    y = numeric.layer_norm(x, np.ones(d_model), np.zeros(d_model), eps)
    var_x = np.mean((x - x.mean(-1, keepdims=True)) ** 2, axis=-1)  # biased
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, rtol=0, atol=1e-9)
    # biased variance of the output is σ²/(σ² + ε): 1 up to ε
    np.testing.assert_allclose(y.var(axis=-1), var_x / (var_x + eps), atol=1e-9)
    wide = var_x >= 1.0
    np.testing.assert_allclose(y.var(axis=-1)[wide], 1.0, rtol=0, atol=1e-5)


@SETTINGS
@given(arrays(2), st.integers(0, 2**32 - 1))
def test_layer_norm_applies_gamma_and_beta_per_feature(x, seed):
    rng = np.random.default_rng(seed)
    gamma, beta = rng.normal(size=(2, x.shape[-1]))
    plain = numeric.layer_norm(x, np.ones_like(gamma), np.zeros_like(beta), 1e-5)
    np.testing.assert_allclose(
        numeric.layer_norm(x, gamma, beta, 1e-5),
        plain * gamma + beta,
        rtol=1e-12,
        atol=1e-12,
    )


def test_layer_norm_hand_values():
    root = math.sqrt(1.5)  # [1, 2, 3]: mean 2, biased variance 2/3
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        numeric.layer_norm(x, np.ones(3), np.zeros(3), 0.0), [-root, 0.0, root]
    )
    np.testing.assert_allclose(
        numeric.layer_norm(x, np.full(3, 2.0), np.ones(3), 0.0),
        [1 - 2 * root, 1.0, 1 + 2 * root],
    )
    constant = numeric.layer_norm(np.full(4, 5.0), np.ones(4), np.full(4, 0.5), 1e-5)
    assert constant.tolist() == [0.5] * 4  # (x − μ) = 0: only β is left


# ------------------------------------------------------ embedding and heads


@SETTINGS
@given(
    hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6),
        elements=st.integers(0, 6),
    ),
    st.integers(0, 2**32 - 1),
)
def test_one_hot_times_embedding_picks_rows(ids, seed):
    table = np.random.default_rng(seed).normal(size=(7, 3))  # (V, d_model)
    one_hot = numeric.one_hot(ids, 7, "float64")  # (..., T, V)
    assert one_hot.shape == (*ids.shape, 7)
    assert (one_hot.sum(axis=-1) == 1).all() and (one_hot.argmax(-1) == ids).all()
    assert np.array_equal(numeric.embedding(one_hot, table), table[ids])


@SETTINGS
@given(
    st.integers(1, 3),  # batch (1 means no batch axis)
    st.integers(1, 5),  # T
    st.integers(1, 7),  # d_model
    st.integers(1, 4),  # n_heads
    st.integers(1, 4),  # d_head
    st.integers(0, 2**32 - 1),
)
def test_project_heads_and_concat_heads_match_a_per_head_loop(
    batch, seq_len, d_model, n_heads, d_head, seed
):
    rng = np.random.default_rng(seed)
    lead = () if batch == 1 else (batch,)
    x = rng.normal(size=(*lead, seq_len, d_model))
    w = rng.normal(size=(d_model, n_heads * d_head))
    b = rng.normal(size=n_heads * d_head)
    heads = numeric.project_heads(x, w, b, n_heads)
    assert heads.shape == (*lead, n_heads, seq_len, d_head)
    for i in range(n_heads):
        cols = slice(i * d_head, (i + 1) * d_head)
        np.testing.assert_allclose(
            heads[..., i, :, :], x @ w[:, cols] + b[cols], rtol=1e-12, atol=1e-12
        )
    np.testing.assert_allclose(
        numeric.concat_heads(heads), x @ w + b, rtol=1e-12, atol=1e-12
    )


def test_heads_hand_values():
    x = np.array([[1.0, 0.0]])  # (T = 1, d_model = 2)
    w = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    heads = numeric.project_heads(x, w, np.zeros(4), 2)
    assert heads.tolist() == [[[1.0, 2.0]], [[3.0, 4.0]]]
    assert numeric.concat_heads(heads).tolist() == [[1.0, 2.0, 3.0, 4.0]]


def test_attention_hand_values():
    q = np.array([[[1.0, 2.0]]])  # (h = 1, T_q = 1, d_k = 2)
    k = np.array([[[3.0, 4.0], [1.0, 0.0]]])  # (1, T_k = 2, 2)
    scores = numeric.qk(q, k)
    assert scores.tolist() == [[[11.0, 1.0]]]
    np.testing.assert_allclose(
        numeric.scale(scores, 2), [[[11 / math.sqrt(2), 1 / math.sqrt(2)]]]
    )
    weights = numeric.softmax(np.array([[[0.0, math.log(3.0)]]]))
    v = np.array([[[4.0], [8.0]]])
    np.testing.assert_allclose(numeric.attend(weights, v), [[[7.0]]])  # ¼·4 + ¾·8


def test_linear_logits_and_argmax_hand_values():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, 3.0]])
    assert numeric.linear(x, w, np.array([0.5, 0.0, -1.0])).tolist() == [
        [1.5, 2.0, 7.0]
    ]
    table = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # (V = 3, d_model = 2)
    assert numeric.logits(x, table).tolist() == [[1.0, 2.0, 3.0]]
    assert numeric.argmax(np.array([[0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])).tolist() == [
        1,
        0,
    ]
    np.testing.assert_allclose(
        numeric.scale_embedding(np.ones(4), 4), [2.0, 2.0, 2.0, 2.0]
    )


# -------------------------------------------------------------- activations


@SETTINGS
@given(arrays(1, bound=30.0, max_side=20))
def test_gelu_matches_math_erf(x):
    expected = [0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x]
    np.testing.assert_allclose(numeric.gelu(x), expected, rtol=1e-13, atol=1e-14)


@SETTINGS
@given(arrays(2))
def test_relu_is_max_with_zero(x):
    assert numeric.relu(x).tolist() == [[max(v, 0.0) for v in row] for row in x]


def test_gelu_hand_values():
    # Φ(1) = 0.841344746068543, Φ(−1) = 1 − Φ(1)
    np.testing.assert_allclose(
        numeric.gelu(np.array([0.0, 1.0, -1.0])),
        [0.0, 0.8413447460685429, -0.15865525393145707],
        rtol=1e-15,
    )


def test_erfc_approx_keeps_abramowitz_and_stegun_bound():
    # A&S 1964, 7.1.26 state |error| ≤ 1.5e-7 for a ≥ 0; SciPy's erfc is the truth
    from scipy.special import erfc

    a = np.linspace(0.0, 10.0, 200_001)
    err = np.abs(numeric.erfc_approx(a) - erfc(a))
    assert err.max() <= 1.5e-7
    assert err.max() > 1e-7  # the approximation, not SciPy's erfc, was measured


def test_float32_gelu_is_as_close_to_exact_as_scipy_erf_in_float32():
    """The float32 kernel against GELU in float64 (SciPy's Φ): no further off than
    evaluating SciPy's erf on the float32 values, and within 2.2e-7 (the A&S
    formula's own error, ≤ 2.11e-7 by the ``gelu`` derivation) plus one float32 step."""
    from scipy.special import erf, ndtr

    x = np.linspace(-12.0, 12.0, 480_001, dtype=np.float32)
    exact = x.astype(np.float64) * ndtr(x.astype(np.float64))
    ours = numeric.gelu(x)
    rounded = 0.5 * x * (1 + erf(x / np.float32(math.sqrt(2))))  # SciPy on float32
    err = np.abs(ours - exact)
    assert ours.dtype == np.float32
    assert err.max() <= np.abs(rounded - exact).max()
    assert np.all(err <= 2.2e-7 + np.spacing(np.maximum(np.abs(ours), 1)))


def test_float32_gelu_at_the_extremes():
    big = np.finfo(np.float32).max
    x = np.array([0.0, -0.0, 1e-45, -1e-45, 20.0, -20.0, big, -big], np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = numeric.gelu(x)
    assert out[[0, 1]].tolist() == [0.0, 0.0]
    assert abs(out[2]) <= 1e-45 and abs(out[3]) <= 1e-45  # x Φ(x) ≈ x/2
    assert out[4] == 20.0 and out[6] == big  # Φ(20) = 1 in float32
    assert -1e-30 <= out[5] <= 0.0 and -1e-30 <= out[7] <= 0.0  # 20·Φ(−20) ≈ 6e-88


# ---------------------------------------------------------------- float32


@SETTINGS
@given(
    st.integers(1, 2),  # batch (1 means no batch axis)
    st.integers(1, 5),  # T
    st.integers(1, 3),  # n_heads
    st.integers(1, 3),  # d_head
    st.integers(0, 2**32 - 1),
)
def test_float32_stays_float32_through_every_op(batch, seq_len, n_heads, d_head, seed):
    rng = np.random.default_rng(seed)
    lead = () if batch == 1 else (batch,)
    d_model, vocab, f32 = n_heads * d_head, 5, np.float32

    def rand(*shape):
        return rng.normal(size=shape).astype(f32)

    ids = rng.integers(0, vocab, (*lead, seq_len))
    one_hot = numeric.one_hot(ids, vocab, "float32")
    table = rand(vocab, d_model)
    x = numeric.embedding(one_hot, table)
    x = numeric.scale_embedding(x, d_model)
    x = numeric.add(x, numeric.positional_encoding(seq_len, d_model, "float32"))
    q = numeric.project_heads(x, rand(d_model, d_model), rand(d_model), n_heads)
    s = numeric.scale(numeric.qk(q, q), d_head)
    masked = numeric.apply_mask(
        s, numeric.causal_mask(seq_len), numeric.padding_mask(ids, 0)
    )
    w = numeric.softmax(numeric.apply_mask(s, numeric.causal_mask(seq_len)))
    c = numeric.concat_heads(numeric.attend(w, q))
    y = numeric.linear(c, rand(d_model, d_model), rand(d_model))
    n = numeric.layer_norm(y, rand(d_model), rand(d_model), 1e-5)
    out = [one_hot, x, q, s, masked, w, c, y, n]
    out += [numeric.relu(n), numeric.gelu(n), numeric.logits(n, table)]
    assert [a.dtype for a in out] == [np.dtype(f32)] * len(out)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_positional_encoding_dtype(dtype):
    assert numeric.positional_encoding(4, 3, dtype).dtype == np.dtype(dtype)


# --- Llama ops (SmolLM2) ------------------------------------------------------


def test_rms_norm_divides_by_the_root_mean_square():
    x = np.array([[3.0, 4.0], [1.0, -1.0]])
    out = numeric.rms_norm(x, np.array([1.0, 2.0]), 0.0)
    np.testing.assert_allclose(out[1], [1.0, -2.0])
    np.testing.assert_allclose((out[0] / [1.0, 2.0]) ** 2 @ [0.5, 0.5], 1.0)
    assert numeric.rms_norm(
        x.astype(np.float32), np.ones(2, np.float32), 1e-5
    ).dtype == (np.float32)


def test_rope_is_a_rotation_whose_scores_depend_on_the_offset_only():
    rng = np.random.default_rng(0)
    inv_freq = 1e4 ** -(np.arange(0, 8, 2) / 8)  # (4,)
    angles = numeric.rope_angles(inv_freq, 12)  # (12, 4)
    q = np.repeat(rng.normal(size=(1, 1, 8)), 12, axis=1)  # same vector everywhere
    k = np.repeat(rng.normal(size=(1, 1, 8)), 12, axis=1)
    q_rot, k_rot = numeric.rope(q, angles), numeric.rope(k, angles)
    np.testing.assert_allclose(
        np.linalg.norm(q_rot, axis=-1), np.linalg.norm(q, axis=-1)
    )
    scores = numeric.qk(q_rot, k_rot)[0]  # (12, 12)
    np.testing.assert_allclose(scores[5, 2], scores[9, 6])  # offset 3 both
    np.testing.assert_allclose(scores[0, 0], (q[0, 0] * k[0, 0]).sum())


def test_repeat_kv_serves_each_group_of_query_heads():
    kv = np.arange(3.0).reshape(3, 1, 1)  # (h_kv, T, d)
    assert numeric.repeat_kv(kv, 9)[:, 0, 0].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="do not divide"):
        numeric.repeat_kv(kv, 4)


def test_swiglu_gates_up_with_silu_of_gate():
    gate, up = np.array([-50.0, 0.0, 2.0]), np.array([3.0, 3.0, 3.0])
    np.testing.assert_allclose(
        numeric.swiglu(gate, up), [0.0, 0.0, 3 * 2 / (1 + np.exp(-2.0))], atol=1e-18
    )
