"""The lambdifiable forms (``*_expr``) against independent NumPy closed forms.

Every expected value here is written out by hand with NumPy or ``math``, never by
evaluating the same SymPy expression, so a wrong formula cannot agree with itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from explainer.symbolic import (
    attention,
    embedding,
    feed_forward,
    layer_norm,
    multi_head,
    output,
    positional_encoding,
    residual,
)
from explainer.symbolic.softmax import softmax_expr
from explainer.symbolic.symbols import eps, matrix, pos, t, vector

RNG = np.random.default_rng(0)


def flat(m: sp.MatrixBase) -> list[sp.Symbol]:
    return list(m)


def np_softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# --- softmax, layer norm ------------------------------------------------------


def test_softmax_expr_on_one_row_and_broadcast_over_rows() -> None:
    f = sp.lambdify(flat(vector("x", 4)), softmax_expr(4), "numpy")
    X = RNG.normal(size=(5, 4))
    np.testing.assert_allclose(f(*X[0])[0], np_softmax(X[0]), rtol=1e-12)
    batched = f(*X.T)  # (1, 4, 5): entry j of every row at once
    np.testing.assert_allclose(batched[0].T, np_softmax(X), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.floats(-30, 30, allow_nan=False, allow_subnormal=False),
        min_size=3,
        max_size=3,
    )
)
def test_softmax_expr_matches_the_max_subtracted_form(xs: list[float]) -> None:
    f = sp.lambdify(flat(vector("x", 3)), softmax_expr(3), "numpy")
    np.testing.assert_allclose(f(*xs)[0], np_softmax(np.array(xs)), rtol=1e-10)


def test_layer_norm_expr_is_biased_variance_with_eps_gamma_beta() -> None:
    size, epsilon = 5, 1e-5
    args = flat(vector("x", size)) + flat(vector("gamma", size))
    args += [*flat(vector("beta", size)), eps]
    f = sp.lambdify(args, layer_norm.layer_norm_expr(size), "numpy")
    x, g, b = RNG.normal(size=(3, size))
    centred = x - x.mean()
    expected = g * centred / np.sqrt((centred**2).sum() / size + epsilon) + b
    np.testing.assert_allclose(f(*x, *g, *b, epsilon)[0], expected, rtol=1e-12)
    unbiased = g * centred / np.sqrt(x.var(ddof=1) + epsilon) + b
    assert not np.allclose(f(*x, *g, *b, epsilon)[0], unbiased)


# --- positional encoding ------------------------------------------------------


@pytest.mark.parametrize("width", [4, 5, 6, 7])
def test_positional_encoding_expr_even_and_odd_widths(width: int) -> None:
    col, d_model = (
        sp.Symbol("col", integer=True, nonnegative=True),
        sp.Symbol("d_model", positive=True, integer=True),
    )
    f = sp.lambdify((pos, col, d_model), positional_encoding.positional_encoding_expr())
    positions = np.arange(6.0)[:, None]
    columns = np.arange(width)[None, :]
    table = f(positions, columns, width)
    expected = np.zeros((6, width))
    for c in range(width):  # the paper's two formulas, written out by hand
        rate = 10000 ** ((c - c % 2) / width)
        expected[:, c] = (np.sin if c % 2 == 0 else np.cos)(np.arange(6) / rate)
    np.testing.assert_allclose(table, expected, rtol=1e-12, atol=1e-15)
    exact = positional_encoding.positional_encoding_matrix(6, width)
    np.testing.assert_allclose(
        np.array(exact.evalf(), dtype=float), expected, atol=1e-15
    )


def test_rotation_moves_every_pair_by_k() -> None:
    width, k = 8, 3
    i_, k_ = sp.symbols("i k")
    R = sp.lambdify((k_, i_), positional_encoding.rotation(k_, i_, width))
    pe = np.array(
        [
            [
                math.sin(p / 10000 ** (2 * i / width)),
                math.cos(p / 10000 ** (2 * i / width)),
            ]
            for p in range(10)
            for i in range(width // 2)
        ]
    ).reshape(10, width // 2, 2)
    for i in range(width // 2):
        moved = pe[:-k, i] @ np.asarray(R(k, i), dtype=float).T  # row-vector form
        np.testing.assert_allclose(moved, pe[k:, i], atol=1e-12)


# --- attention ----------------------------------------------------------------


def test_attention_expr_against_numpy() -> None:
    T_q, T_k, d_k, d_v = 2, 3, 2, 2
    args = flat(matrix("Q", T_q, d_k)) + flat(matrix("K", T_k, d_k))
    args += flat(matrix("V", T_k, d_v))
    f = sp.lambdify(args, attention.attention_expr(T_q, T_k, d_k, d_v), "numpy")
    scores = sp.lambdify(
        args[: T_q * d_k + T_k * d_k], attention.scores_expr(T_q, T_k, d_k)
    )
    Q, K, V = (
        RNG.normal(size=(T_q, d_k)),
        RNG.normal(size=(T_k, d_k)),
        RNG.normal(size=(T_k, d_v)),
    )
    S = Q @ K.T / math.sqrt(d_k)
    np.testing.assert_allclose(scores(*Q.ravel(), *K.ravel()), S, rtol=1e-12)
    out = f(*Q.ravel(), *K.ravel(), *V.ravel())
    np.testing.assert_allclose(out, np_softmax(S) @ V, rtol=1e-12)


def test_causal_mask_and_masked_score_lambdify_to_a_lower_triangle() -> None:
    i_, j_, s_ = sp.symbols("i j s")
    allowed = sp.lambdify((i_, j_), attention.causal_mask(i_, j_))
    masked = sp.lambdify(
        (s_, i_, j_), attention.masked_score(s_, attention.causal_mask(i_, j_))
    )
    rows, cols = np.indices((4, 4))
    np.testing.assert_array_equal(allowed(rows, cols), np.tril(np.ones((4, 4), bool)))
    scores = RNG.normal(size=(4, 4))
    weights = np_softmax(masked(scores, rows, cols))
    np.testing.assert_allclose(np.triu(weights, 1), 0)
    np.testing.assert_allclose(weights.sum(axis=-1), 1)


# --- multi-head, FFN, residual ------------------------------------------------


def test_linear_expr_is_row_vector_convention() -> None:
    rows, d_in, d_out = 2, 3, 4
    args = flat(matrix("x", rows, d_in)) + flat(matrix("W", d_in, d_out))
    args += flat(vector("b", d_out))
    f = sp.lambdify(args, multi_head.linear_expr(rows, d_in, d_out))
    x, W, b = (
        RNG.normal(size=(rows, d_in)),
        RNG.normal(size=(d_in, d_out)),
        RNG.normal(size=d_out),
    )
    np.testing.assert_allclose(f(*x.ravel(), *W.ravel(), *b), x @ W + b, rtol=1e-12)


def test_concat_heads_and_head_column_match_numpy_reshape() -> None:
    T, h, d = 2, 3, 2
    args = [s for head in range(h) for s in flat(matrix(f"H{head}", T, d))]
    f = sp.lambdify(args, multi_head.concat_heads_expr(T, h, d))
    heads = RNG.normal(size=(h, T, d))
    concat = np.asarray(f(*heads.ravel()), dtype=float)
    np.testing.assert_allclose(concat, np.concatenate(list(heads), axis=-1))
    split = concat.reshape(T, h, d)  # how a forward pass splits projections into heads
    for head in range(h):
        for c in range(d):
            column = int(multi_head.head_column(head, c, d))
            np.testing.assert_array_equal(concat[:, column], split[:, head, c])
            np.testing.assert_array_equal(concat[:, column], heads[head][:, c])


def test_parameter_counts_match_the_paper_base_model() -> None:
    d_model, h, d_ff = 512, 8, 2048
    attention_params = 4 * (d_model * d_model + d_model)
    assert multi_head.multi_head_parameters(d_model, h, 64, 64) == attention_params
    ffn_params = 2 * d_model * d_ff + d_ff + d_model
    assert feed_forward.feed_forward_parameters(d_model, d_ff) == ffn_params


def test_feed_forward_expr_against_numpy() -> None:
    rows, d_model, d_ff = 3, 2, 4
    args = flat(matrix("x", rows, d_model)) + flat(matrix("W1", d_model, d_ff))
    args += flat(vector("b1", d_ff)) + flat(matrix("W2", d_ff, d_model))
    args += flat(vector("b2", d_model))
    f = sp.lambdify(args, feed_forward.feed_forward_expr(rows, d_model, d_ff))
    x, W1, b1 = (
        RNG.normal(size=(rows, d_model)),
        RNG.normal(size=(d_model, d_ff)),
        RNG.normal(size=d_ff),
    )
    W2, b2 = RNG.normal(size=(d_ff, d_model)), RNG.normal(size=d_model)
    expected = np.maximum(0, x @ W1 + b1) @ W2 + b2
    got = f(*x.ravel(), *W1.ravel(), *b1, *W2.ravel(), *b2)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_relu_and_exact_gelu_elementwise() -> None:
    pytest.importorskip("scipy")
    z = sp.Symbol("z", real=True)
    relu = sp.lambdify(z, feed_forward.relu(z), "numpy")
    gelu = sp.lambdify(z, feed_forward.gelu(z), ["scipy", "numpy"])
    values = np.linspace(-6, 6, 49)
    np.testing.assert_array_equal(relu(values), np.where(values > 0, values, 0))
    by_hand = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in values])
    np.testing.assert_allclose(gelu(values), by_hand, rtol=1e-14, atol=1e-300)


def test_residual_expr_is_elementwise_sum() -> None:
    args = flat(matrix("x", 2, 2)) + flat(matrix("y", 2, 2))
    f = sp.lambdify(args, residual.residual_expr(2, 2))
    x, y = RNG.normal(size=(2, 2, 2))
    np.testing.assert_allclose(f(*x.ravel(), *y.ravel()), x + y)


# --- embedding and output -----------------------------------------------------


def test_one_hot_and_embedding_lookup_over_an_array_of_ids() -> None:
    V, d = 5, 3
    ids = np.array([3, 0, 4, 3])
    one_hot = sp.lambdify(t, embedding.one_hot_expr(V))
    np.testing.assert_array_equal(one_hot(ids)[0].T, np.eye(V)[ids])
    f = sp.lambdify([t, *flat(matrix("E", V, d))], embedding.embedding_expr(V, d))
    E = RNG.normal(size=(V, d))
    np.testing.assert_allclose(f(ids, *E.ravel())[0].T, E[ids])
    assert embedding.scale_embedding(sp.Integer(3), 16) == 12


def test_logits_expr_is_h_times_e_transposed() -> None:
    d, V = 3, 6
    f = sp.lambdify(
        flat(vector("h", d)) + flat(matrix("E", V, d)), output.logits_expr(d, V)
    )
    h, E = RNG.normal(size=d), RNG.normal(size=(V, d))
    np.testing.assert_allclose(f(*h, *E.ravel())[0], E @ h, rtol=1e-12)


def test_cross_entropy_gradient_numerically() -> None:
    z = sp.IndexedBase("z", real=True)
    logits = RNG.normal(size=4)
    subs = {z[v]: logits[v] for v in range(4)}
    target = 2
    loss = float(output.cross_entropy(z, target, 4).doit().subs(subs))
    assert loss == pytest.approx(-np.log(np_softmax(logits)[target]), rel=1e-12)
    grad = [
        float(output.cross_entropy_gradient(z, j, target, 4).doit().subs(subs))
        for j in range(4)
    ]
    np.testing.assert_allclose(grad, np_softmax(logits) - np.eye(4)[target], rtol=1e-12)


def test_gelu_tanh_matches_torch_and_its_error_is_as_derived() -> None:
    """The SymPy tanh form against torch's GELU(approximate="tanh"), and the error
    the derivation states (largest error, z of the peak, the z⁴ term near 0)
    against torch's two GELUs on a fine grid."""
    torch = pytest.importorskip("torch")
    from explainer.symbolic.gelu import MATCHED, PUBLISHED, gelu_tanh, largest_error

    z = sp.Symbol("z", real=True)
    grid = np.linspace(-8.0, 8.0, 160_001)
    ours = sp.lambdify(z, gelu_tanh(z), "numpy")(grid)
    x = torch.from_numpy(grid)
    approx = torch.nn.functional.gelu(x, approximate="tanh").numpy()
    exact = torch.nn.functional.gelu(x).numpy()
    assert np.abs(ours - approx).max() < 1e-12
    z_star, worst = largest_error()
    error = np.abs(approx - exact)
    assert worst == pytest.approx(error.max(), rel=1e-6)
    assert z_star == pytest.approx(abs(grid[error.argmax()]), abs=1e-3)
    small = grid[np.abs(grid) < 0.05]  # z⁴ term: (published − matched)/√(2π)
    ratio = (approx - exact)[np.abs(grid) < 0.05][small != 0] / small[small != 0] ** 4
    expected = float((PUBLISHED - MATCHED) / sp.sqrt(2 * sp.pi))
    assert np.median(ratio) == pytest.approx(expected, rel=2e-2)


def test_float32_gelu_error_is_as_derived() -> None:
    """The ``gelu`` derivation's erfc and kernel errors (mpmath) against the NumPy
    kernel evaluated in float64 on a fine grid, SciPy's erfc and Φ the truth."""
    from scipy.special import erfc, ndtr

    from explainer import numeric
    from explainer.symbolic.gelu import erfc_error, kernel_error

    a = np.linspace(0.0, 6.0, 600_001)
    eps = np.abs(numeric.erfc_approx(a) - erfc(a))
    a_star, worst = erfc_error()
    assert worst == pytest.approx(eps.max(), rel=1e-4)
    assert a_star == pytest.approx(a[eps.argmax()], abs=1e-4)

    x = np.linspace(0.0, 8.0, 800_001)  # the error is even in z
    kernel = np.maximum(x, 0) - np.abs(x) * numeric.erfc_approx(x / np.sqrt(2)) / 2
    err = np.abs(kernel - x * ndtr(x))
    z_star, worst = kernel_error()
    assert worst == pytest.approx(err.max(), rel=1e-4)
    assert z_star == pytest.approx(x[err.argmax()], abs=1e-4)
