"""Backward rules (issue 13): each SymPy gradient against something independent.

Every rule is evaluated from its SymPy expression (lambdified) on random numbers
and compared with PyTorch autograd in float64 and with central finite
differences of the forward formula; every derivation proves, and a planted wrong
rule (dW = dY Xᵀ, the softmax VJP without ⟨dy, p⟩, …) makes it fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch

from explainer.symbolic import (
    adam,
    backward_activations,
    backward_attention,
    backward_cross_entropy,
    backward_embedding,
    backward_layer_norm,
    backward_linear,
    backward_multi_head,
    backward_residual,
    backward_softmax,
    get_derivation,
)
from explainer.symbolic.derivation import passed
from explainer.symbolic.symbols import matrix, vector

BACKWARD = [
    "adam",
    "backward-activations",
    "backward-attention",
    "backward-cross-entropy",
    "backward-embedding",
    "backward-layer-norm",
    "backward-linear",
    "backward-multi-head",
    "backward-residual",
    "backward-softmax",
]

RNG = np.random.default_rng(13)
TOL = 1e-10  # float64 against float64: only rounding differs


def numeric(expr: sp.MatrixBase, **arrays: np.ndarray) -> np.ndarray:
    """``expr`` evaluated with each named array in place of its symbols
    (``vector(name, n)`` for a 1-D array, ``matrix(name, r, c)`` for 2-D)."""
    symbols, values = [], []
    for name, array in arrays.items():
        shaped = (
            vector(name, array.size) if array.ndim == 1 else matrix(name, *array.shape)
        )
        symbols += list(shaped)
        values += list(np.asarray(array, dtype=float).ravel())
    return np.array(sp.lambdify(symbols, expr, "numpy")(*values), dtype=float)


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂f/∂x for a scalar function f, entry by entry, by central differences."""
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        grad[index] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def leaf(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


# --- every backward derivation proves, and is listed ---


@pytest.mark.parametrize("name", BACKWARD)
def test_backward_derivation_proves(name: str) -> None:
    derivation = get_derivation(name)
    results = derivation.check()
    assert passed(results), [(r.step.why, r.residual) for r in results if not r.ok]
    assert all(step.lhs != step.rhs for step in derivation.steps)


def test_derive_list_shows_the_backward_rules(capsys) -> None:
    from cli_run import run

    code, out, _ = run(["derive", "--list"], capsys)
    assert code == 0
    for name in BACKWARD:
        assert name in out


# --- linear ---


def test_linear_rules_match_torch_autograd() -> None:
    rows, d_in, d_out = 3, 4, 2
    X, W = RNG.normal(size=(rows, d_in)), RNG.normal(size=(d_in, d_out))
    b, dY = RNG.normal(size=d_out), RNG.normal(size=(rows, d_out))
    x_t, w_t, b_t = leaf(X), leaf(W), leaf(b)
    (x_t @ w_t + b_t).backward(torch.tensor(dY))
    rules = backward_linear.linear_backward_expr(rows, d_in, d_out)
    got = {k: numeric(e, x=X, W=W, dY=dY) for k, e in rules.items()}
    np.testing.assert_allclose(got["dX"], x_t.grad.numpy(), atol=TOL)
    np.testing.assert_allclose(got["dW"], w_t.grad.numpy(), atol=TOL)
    np.testing.assert_allclose(got["db"][0], b_t.grad.numpy(), atol=TOL)


def test_linear_weight_rule_matches_finite_differences() -> None:
    X, W, dY = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2)), RNG.normal(size=(2, 2))
    expected = central_difference(lambda w: np.sum(dY * (X @ w)), W)
    got = numeric(backward_linear.linear_backward_expr(2, 3, 2)["dW"], x=X, W=W, dY=dY)
    np.testing.assert_allclose(got, expected, atol=1e-8)


def test_a_wrong_linear_rule_fails() -> None:
    wrong_dw = backward_linear.build(dW=lambda X, dY: dY * X.T)  # dY Xᵀ
    wrong_dx = backward_linear.build(dX=lambda dY, W: dY * W)  # W not transposed
    wrong_db = backward_linear.build(db=lambda dY: dY)  # no sum over rows
    for derivation in (wrong_dw, wrong_dx, wrong_db):
        assert not passed(derivation.check())


# --- softmax ---


def test_softmax_vjp_matches_torch_autograd() -> None:
    x, dy = RNG.normal(size=5), RNG.normal(size=5)
    x_t = leaf(x)
    probs = torch.softmax(x_t, dim=0)
    probs.backward(torch.tensor(dy))
    got = numeric(
        backward_softmax.softmax_vjp_expr(5), p=probs.detach().numpy(), dy=dy
    )[0]
    np.testing.assert_allclose(got, x_t.grad.numpy(), atol=TOL)


def test_softmax_vjp_matches_finite_differences() -> None:
    x, dy = RNG.normal(size=4), RNG.normal(size=4)

    def pairing(v: np.ndarray) -> float:
        e = np.exp(v - v.max())
        return float(dy @ (e / e.sum()))

    e = np.exp(x - x.max())
    got = numeric(backward_softmax.softmax_vjp_expr(4), p=e / e.sum(), dy=dy)[0]
    np.testing.assert_allclose(got, central_difference(pairing, x), atol=1e-8)


def test_softmax_vjp_without_the_inner_product_fails() -> None:
    wrong = backward_softmax.build(lambda p, dy, j, n: p[j] * dy[j])
    assert not passed(wrong.check())


# --- cross-entropy ---


def test_cross_entropy_gradient_matches_torch_autograd() -> None:
    logits, target = RNG.normal(size=(3, 6)), np.array([2, 0, 5])
    z = leaf(logits)
    torch.nn.functional.cross_entropy(
        z, torch.tensor(target), reduction="sum"
    ).backward()
    probs = torch.softmax(z, dim=1).detach().numpy()
    one_hot = np.eye(6)[target]
    rule = backward_cross_entropy.cross_entropy_backward_expr(6)
    got = np.vstack([numeric(rule, p=probs[t], y=one_hot[t]) for t in range(3)])
    np.testing.assert_allclose(got, z.grad.numpy(), atol=TOL)


def test_a_wrong_cross_entropy_rule_fails() -> None:
    assert not passed(backward_cross_entropy.build(lambda p, y: y - p).check())


# --- ReLU and GELU ---


@pytest.mark.parametrize(
    ("grad", "forward"),
    [
        (backward_activations.relu_grad, torch.relu),
        (backward_activations.gelu_grad, torch.nn.functional.gelu),
    ],
)
def test_activation_rules_match_torch_autograd(grad, forward) -> None:
    z = np.array([-2.0, -0.3, 0.0, 0.4, 1.7])
    dy = RNG.normal(size=5)
    z_t = leaf(z)
    forward(z_t).backward(torch.tensor(dy))
    got = numeric(backward_activations.activation_backward_expr(5, grad), z=z, dy=dy)[0]
    np.testing.assert_allclose(got, z_t.grad.numpy(), atol=TOL)


def test_gelu_rule_matches_finite_differences() -> None:
    from scipy.special import erf

    z = RNG.normal(size=6)
    expected = central_difference(
        lambda v: float(np.sum(v * (1 + erf(v / np.sqrt(2))) / 2)), z
    )
    got = numeric(
        backward_activations.activation_backward_expr(
            6, backward_activations.gelu_grad
        ),
        z=z,
        dy=np.ones(6),
    )[0]
    np.testing.assert_allclose(got, expected, atol=1e-8)


def test_wrong_activation_rules_fail() -> None:
    phi_only = backward_activations.build(
        gelu_rule=backward_activations.standard_normal_cdf
    )
    half_at_zero = backward_activations.build(relu_rule=lambda z: sp.Heaviside(z))
    assert not passed(phi_only.check())
    assert not passed(half_at_zero.check())


# --- residual ---


def test_residual_copies_the_gradient_to_both_branches_like_torch() -> None:
    X, W, dY = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 3)), RNG.normal(size=(2, 3))
    x_t = leaf(X)
    (x_t + x_t @ torch.tensor(W)).backward(torch.tensor(dY))
    skip, branch = backward_residual.residual_grads(sp.Matrix(dY))
    linear = backward_linear.linear_backward_expr(2, 3, 3)["dX"]
    through_w = numeric(linear, x=X, W=W, dY=dY)
    got = np.array(skip, dtype=float) + through_w
    np.testing.assert_allclose(got, x_t.grad.numpy(), atol=TOL)
    assert np.array_equal(np.array(branch, dtype=float), dY)


def test_a_residual_that_drops_a_branch_fails() -> None:
    wrong = backward_residual.build(lambda dY: (dY, sp.ZeroMatrix(*dY.shape)))
    assert not passed(wrong.check())


# --- embedding ---


def test_embedding_rows_are_scatter_added_like_torch() -> None:
    tokens, vocab, width, scale = [3, 1, 3, 0], 5, 2, np.sqrt(2.0)
    table, dX = RNG.normal(size=(vocab, width)), RNG.normal(size=(4, width))
    e_t = leaf(table)
    (e_t[torch.tensor(tokens)] * scale).backward(torch.tensor(dX))
    rule = backward_embedding.embedding_backward_expr(tokens, vocab, width, sp.sqrt(2))
    got = numeric(rule, dX=dX)
    np.testing.assert_allclose(got, e_t.grad.numpy(), atol=TOL)
    assert np.all(got[[2, 4]] == 0)  # tokens never used get no gradient
    np.testing.assert_allclose(got[3], scale * (dX[0] + dX[2]), atol=TOL)


def test_tied_embeddings_add_both_contributions_like_torch() -> None:
    tokens, vocab, width = [1, 2, 1], 4, 3
    table = RNG.normal(size=(vocab, width))
    H, dX, dZ = (
        RNG.normal(size=shape) for shape in ((3, width), (3, width), (3, vocab))
    )
    e_t, h_t = leaf(table), leaf(H)
    loss = (e_t[torch.tensor(tokens)] * torch.tensor(dX)).sum()
    loss = loss + (h_t @ e_t.T * torch.tensor(dZ)).sum()
    loss.backward()
    hot = backward_embedding.one_hot_matrix(tokens, vocab)
    got = backward_embedding.tied_table_grad(
        hot, sp.Matrix(dX), sp.Matrix(dZ), sp.Matrix(H)
    )
    np.testing.assert_allclose(np.array(got, dtype=float), e_t.grad.numpy(), atol=TOL)


def test_tied_embeddings_that_forget_the_output_use_fail() -> None:
    wrong = backward_embedding.build(tied=lambda hot, dX, dZ, H, s: s * hot.T * dX)
    assert not passed(wrong.check())


# --- multi-head split / concat ---


def test_concat_gradient_is_split_like_torch() -> None:
    heads = [leaf(RNG.normal(size=(2, 3))) for _ in range(4)]
    dC = RNG.normal(size=(2, 12))
    torch.cat(heads, dim=1).backward(torch.tensor(dC))
    rules = backward_multi_head.concat_backward_expr(2, 4, 3)
    for head, rule in zip(heads, rules, strict=True):
        np.testing.assert_allclose(numeric(rule, dC=dC), head.grad.numpy(), atol=TOL)


def test_split_gradient_is_concatenated_like_torch() -> None:
    X, W = RNG.normal(size=(2, 4)), RNG.normal(size=(4, 6))
    dQ = [RNG.normal(size=(2, 3)) for _ in range(2)]
    x_t, w_t = leaf(X), leaf(W)
    for a, part in enumerate((x_t @ w_t).split(3, dim=1)):
        part.backward(torch.tensor(dQ[a]), retain_graph=True)
    whole = np.array(backward_multi_head.concat_grad([sp.Matrix(g) for g in dQ]), float)
    rules = backward_linear.linear_backward_expr(2, 4, 6)
    np.testing.assert_allclose(
        numeric(rules["dW"], x=X, W=W, dY=whole), w_t.grad.numpy()
    )
    np.testing.assert_allclose(
        numeric(rules["dX"], x=X, W=W, dY=whole), x_t.grad.numpy()
    )


def test_a_concat_gradient_sent_to_the_wrong_head_fails() -> None:
    wrong = backward_multi_head.build(lambda blocks, a: blocks[(a + 1) % len(blocks)])
    assert not passed(wrong.check())
    d_k = backward_multi_head.d_k
    shifted = backward_multi_head.build(
        entry_rule=lambda dC, b, s, e: dC[s, (b + 1) * d_k + e]
    )
    assert not passed(shifted.check())


def test_multi_head_rules_are_proved_for_any_number_of_heads() -> None:
    steps = get_derivation("backward-multi-head").steps
    general = [step for step in steps if step.label == "proved"]
    assert len(general) == 3
    assert all(backward_multi_head.n_heads in step.lhs.free_symbols for step in general)


# --- scaled dot-product attention ---


@pytest.mark.parametrize("causal", [False, True])
def test_attention_rules_match_torch_autograd(causal: bool) -> None:
    T, d_k, d_v = 3, 2, 2
    Q, K, V = (RNG.normal(size=(T, w)) for w in (d_k, d_k, d_v))
    dO = RNG.normal(size=(T, d_v))
    q_t, k_t, v_t = leaf(Q), leaf(K), leaf(V)
    scores = q_t @ k_t.T / np.sqrt(d_k)
    if causal:
        allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))
        scores = scores.masked_fill(~allowed, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    weights.retain_grad()
    scores.retain_grad()
    (weights @ v_t).backward(torch.tensor(dO))
    rules = backward_attention.attention_backward_expr(T, T, d_k, d_v)
    P = weights.detach().numpy()
    got = {k: numeric(e, Q=Q, K=K, V=V, P=P, dO=dO) for k, e in rules.items()}
    np.testing.assert_allclose(got["dQ"], q_t.grad.numpy(), atol=TOL)
    np.testing.assert_allclose(got["dK"], k_t.grad.numpy(), atol=TOL)
    np.testing.assert_allclose(got["dV"], v_t.grad.numpy(), atol=TOL)
    np.testing.assert_allclose(got["dS"], scores.grad.numpy(), atol=TOL)
    if causal:  # masked entries get exactly zero gradient
        assert np.all(got["dS"][np.triu_indices(T, 1)] == 0)


def test_attention_query_rule_matches_finite_differences() -> None:
    Q, K, V, dO = (RNG.normal(size=(2, 2)) for _ in range(4))

    def pairing(q: np.ndarray) -> float:
        s = q @ K.T / np.sqrt(2)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return float(np.sum(dO * ((e / e.sum(axis=1, keepdims=True)) @ V)))

    s = Q @ K.T / np.sqrt(2)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    P = e / e.sum(axis=1, keepdims=True)
    rule = backward_attention.attention_backward_expr(2, 2, 2, 2)["dQ"]
    got = numeric(rule, Q=Q, K=K, V=V, P=P, dO=dO)
    np.testing.assert_allclose(got, central_difference(pairing, Q), atol=1e-8)


def test_wrong_attention_rules_fail() -> None:
    unscaled = backward_attention.build(dQ=lambda dS, K, d_k: dS * K)
    untransposed = backward_attention.build(dK=lambda dS, Q, d_k: dS * Q / sp.sqrt(d_k))
    values = backward_attention.build(dV=lambda P, dO: P * dO)
    for derivation in (unscaled, untransposed, values):
        assert not passed(derivation.check())


# --- LayerNorm ---


def test_layer_norm_rules_match_torch_autograd() -> None:
    rows, size, eps = 3, 4, 1e-5
    X, dy = RNG.normal(size=(rows, size)), RNG.normal(size=(rows, size))
    gains, biases = 1 + 0.1 * RNG.normal(size=size), 0.1 * RNG.normal(size=size)
    x_t, g_t, b_t = leaf(X), leaf(gains), leaf(biases)
    torch.nn.functional.layer_norm(x_t, (size,), g_t, b_t, eps).backward(
        torch.tensor(dy)
    )
    rules = backward_layer_norm.layer_norm_backward_expr(rows, size)
    symbols = [
        *matrix("x", rows, size),
        *vector("gamma", size),
        *matrix("dy", rows, size),
    ]
    values = [*X.ravel(), *gains, *dy.ravel()]
    for name, expected in (("dx", x_t), ("dgamma", g_t), ("dbeta", b_t)):
        expr = rules[name].subs(sp.Symbol("epsilon", positive=True), eps)
        got = np.array(sp.lambdify(symbols, expr, "numpy")(*values), dtype=float)
        np.testing.assert_allclose(
            got.reshape(expected.shape), expected.grad.numpy(), atol=TOL
        )


def test_layer_norm_input_rule_matches_finite_differences() -> None:
    size, eps = 5, 1e-5
    x, dy, gains = RNG.normal(size=size), RNG.normal(size=size), RNG.normal(size=size)

    def pairing(v: np.ndarray) -> float:
        centred = v - v.mean()
        return float(dy @ (gains * centred / np.sqrt(centred.var() + eps)))

    expr = backward_layer_norm.layer_norm_backward_expr(1, size)["dx"]
    expr = expr.subs(sp.Symbol("epsilon", positive=True), eps)
    symbols = [*matrix("x", 1, size), *vector("gamma", size), *matrix("dy", 1, size)]
    got = np.array(sp.lambdify(symbols, expr, "numpy")(*x, *gains, *dy), dtype=float)
    np.testing.assert_allclose(got[0], central_difference(pairing, x), atol=1e-7)


def test_layer_norm_dx_missing_a_term_fails() -> None:
    def no_variance_term(ghat, mean_ghat, mean_ghat_xhat, xhat, sigmahat):
        return (ghat - mean_ghat) / sigmahat

    def no_mean_term(ghat, mean_ghat, mean_ghat_xhat, xhat, sigmahat):
        return (ghat - xhat * mean_ghat_xhat) / sigmahat

    for rule in (no_variance_term, no_mean_term):
        assert not passed(backward_layer_norm.build(rule).check())


# --- Adam ---


def _adam_numeric():
    names = ("theta", "m", "v", "g", "t", "alpha", "beta_1", "beta_2", "epsilon")
    symbols = [
        {s.name: s for s in expr.free_symbols} for expr in adam.adam_update_expr()
    ]
    by_name = {name: sym for table in symbols for name, sym in table.items()}
    args = [by_name.get(name, sp.Symbol(name)) for name in names]
    return sp.lambdify(args, adam.adam_update_expr(), "numpy")


def test_adam_rule_matches_torch_optim_adam() -> None:
    update = _adam_numeric()
    theta0, grads = RNG.normal(size=4), RNG.normal(size=(6, 4))
    param = torch.tensor(theta0, dtype=torch.float64, requires_grad=True)
    hyper = adam.DEFAULTS | {"alpha": 0.01}
    optimiser = torch.optim.Adam(
        [param],
        lr=hyper["alpha"],
        betas=(hyper["beta_1"], hyper["beta_2"]),
        eps=hyper["epsilon"],
    )
    theta, m, v = theta0.copy(), np.zeros(4), np.zeros(4)
    for step, grad in enumerate(grads, start=1):
        param.grad = torch.tensor(grad)
        optimiser.step()
        theta, m, v = update(
            theta, m, v, grad, step, hyper["alpha"], hyper["beta_1"],
            hyper["beta_2"], hyper["epsilon"],
        )  # fmt: skip
    np.testing.assert_allclose(theta, param.detach().numpy(), atol=1e-12)


def test_adams_first_step_is_alpha_times_the_sign_of_the_gradient() -> None:
    update = _adam_numeric()
    grads = np.array([1e-6, -3.0, 250.0, -0.02])
    theta, _, _ = update(np.zeros(4), 0, 0, grads, 1, 0.01, 0.9, 0.999, 0.0)
    np.testing.assert_allclose(theta, -0.01 * np.sign(grads), rtol=1e-12)


def test_adam_without_the_bias_correction_power_fails() -> None:
    wrong = adam.build(lambda moment, beta, t: moment / (1 - beta))
    assert not passed(wrong.check())
