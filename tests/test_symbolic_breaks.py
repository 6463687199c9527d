"""The checker can fail: each derivation's step, deliberately broken in the way a
real implementation goes wrong, is reported as failing by ``check()``."""

from __future__ import annotations

import dataclasses

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.symbolic import get_derivation
from explainer.symbolic.attention import causal_mask
from explainer.symbolic.derivation import Step, held
from explainer.symbolic.feed_forward import MatrixRelu
from explainer.symbolic.layer_norm import mu, sigma2
from explainer.symbolic.multi_head import concat_heads
from explainer.symbolic.positional_encoding import angular_frequency, pe_cos, pe_sin
from explainer.symbolic.softmax import softmax
from explainer.symbolic.symbols import T, d_k, d_model, i, j, k, n, p, pos, q, x
from explainer.symbolic.tactics import decimal


def step_of(name: str, text: str) -> Step:
    """The one step of derivation ``name`` whose justification or title has ``text``."""
    found = [s for s in get_derivation(name).steps if text in s.why or text in s.title]
    assert len(found) == 1, [s.why for s in found]
    return found[0]


def holds(step: Step, **changes) -> bool:
    return dataclasses.replace(step, **changes).check().ok


# --- softmax ------------------------------------------------------------------


def test_softmax_jacobian_with_the_wrong_sign_fails() -> None:
    step = step_of("softmax", "quotient rule")
    assert holds(step)
    wrong = softmax(x, i, n) * (sp.KroneckerDelta(i, j) + softmax(x, j, n))
    assert not holds(step, rhs=wrong)


def test_softmax_shift_that_is_not_subtracted_everywhere_fails() -> None:
    step = step_of("softmax", "Subtracting the maximum")
    x_max = sp.Symbol("x_max", real=True)
    only_numerator = sp.exp(x[i] - x_max) / sp.Sum(sp.exp(x[k]), (k, 0, n - 1))
    assert not holds(step, lhs=only_numerator)


# --- attention ----------------------------------------------------------------


def test_missing_sqrt_dk_fails() -> None:
    unit = step_of("scaled-dot-product-attention", "unit-variance, zero-mean")
    assert holds(unit)
    assert not holds(unit, rhs=1)  # without the scale, Var[q·k] is d_k, not 1
    scaled = step_of("scaled-dot-product-attention", "Var[aX] = a²")
    assert holds(scaled)
    divide_by_dk = held(sp.Pow(1 / d_k, 2, evaluate=False), d_k)
    assert not holds(scaled, lhs=divide_by_dk)


def test_softmax_over_the_wrong_axis_fails() -> None:
    step = step_of("scaled-dot-product-attention", "each row of weights")
    S = sp.MatrixSymbol("S", sp.Symbol("T_q", positive=True, integer=True), T)
    over_queries = sp.exp(S[i, j]) / sp.Sum(sp.exp(S[k, j]), (k, 0, T - 1))
    assert not holds(step, lhs=sp.Sum(over_queries, (j, 0, T - 1)))


def test_causal_mask_off_by_one_fails() -> None:
    step = step_of("scaled-dot-product-attention", "counted back from i")
    assert holds(step)
    strict = sp.Sum(sp.Piecewise((1, sp.Lt(j, i)), (0, True)), (j, 0, i))
    assert not holds(step, lhs=strict)
    at_0 = dataclasses.replace(step, lhs=strict, cases=(((i, 0),),)).check()
    assert at_0.residual == "-1 at i = 0"  # query 0 would see no key at all
    assert causal_mask(0, 0) is sp.true


# --- positional encoding ------------------------------------------------------


def test_sin_and_cos_swapped_fails() -> None:
    even = step_of("positional-encoding", "even columns 2i")
    assert holds(even)
    assert not holds(even, rhs=pe_cos(pos, i, d_model))


def test_rotation_turning_the_wrong_way_fails() -> None:
    step = step_of("positional-encoding", "sin(a + b)")
    rotation, pair = step.rhs.args
    assert holds(step)
    assert not holds(step, rhs=sp.MatMul(rotation.T, pair))


def test_frequency_without_the_factor_two_fails() -> None:
    step = step_of("positional-encoding", "even columns 2i")
    assert not holds(step, rhs=sp.sin(pos * 10000 ** (-i / d_model)))
    assert pe_sin(pos, 1, 4) == sp.sin(pos / 100)


def test_dot_product_depending_on_p_plus_q_fails() -> None:
    step = step_of("positional-encoding", "cos(a − b)")
    assert not holds(step, rhs=sp.cos((p + q) * angular_frequency(i, d_model)))


# --- layer norm ---------------------------------------------------------------


def test_unbiased_variance_fails() -> None:
    step = step_of("layer-norm", "squared deviations over n")
    assert holds(step)
    unbiased = tuple(
        (name, sp.Sum((x[k] - mu) ** 2, (k, 0, n - 1)) / (n - 1))
        if name == sigma2
        else (name, meaning)
        for name, meaning in step.defs
    )
    assert not holds(step, defs=unbiased)


def test_mean_over_n_minus_one_fails() -> None:
    step = step_of("layer-norm", "by the definition of μ")
    wrong_mean = tuple(
        (name, sp.Sum(x[k], (k, 0, n - 1)) / (n - 1)) if name == mu else (name, m)
        for name, m in step.defs
    )
    assert holds(step)
    assert not holds(step, defs=wrong_mean)


# --- multi-head ---------------------------------------------------------------


def test_heads_concatenated_in_the_wrong_order_fails() -> None:
    step = step_of("multi-head", "block product")
    assert holds(step)
    concat, w_o = step.lhs.args
    h1, h2, h3 = concat.blocks
    assert not holds(step, lhs=concat_heads([h2, h1, h3]) * w_o)


def test_parameter_count_without_biases_fails() -> None:
    step = step_of("multi-head", "the count does not depend on h")
    assert not holds(step, rhs=4 * d_model**2)


# --- feed-forward -------------------------------------------------------------


def test_relu_applied_before_the_bias_fails() -> None:
    step = step_of("feed-forward", "output row t depends on input row t")
    assert holds(step)
    named = {m.name: m for m in step.lhs.atoms(sp.MatrixSymbol)}
    X, W1, b1, W2, b2 = (named[name] for name in ("X", "W_1", "b_1", "W_2", "b_2"))
    t, c = sp.symbols("t c", integer=True, nonnegative=True)
    right = MatrixElement(MatrixRelu(X[t, :] * W1 + b1) * W2 + b2, 0, c)
    relu_first = MatrixElement((MatrixRelu(X[t, :] * W1) + b1) * W2 + b2, 0, c)
    next_row = MatrixElement(MatrixRelu(X[t + 1, :] * W1 + b1) * W2 + b2, 0, c)
    assert holds(step, rhs=right)
    assert not holds(step, rhs=relu_first)
    assert not holds(step, rhs=next_row)


def test_gelu_with_the_wrong_scale_fails() -> None:
    step = step_of("feed-forward", "standard normal density")
    z = sp.Symbol("z", real=True)
    phi = step.defs[0][0]
    wrong = ((phi, sp.Lambda(z, (1 + sp.erf(z)) / 2)), *step.defs[1:])
    assert not holds(step, defs=wrong)


def test_float32_gelu_form_with_z_for_abs_z_fails() -> None:
    """max(z, 0) − ½z·erfc(z/√2) (no |z|) is GELU for z > 0 only."""
    step = step_of("gelu", "erf is odd")
    assert holds(step)
    z = sp.Symbol("z", real=True)
    assert not holds(step, rhs=sp.Max(z, 0) - z * sp.erfc(z / sp.sqrt(2)) / 2)


def test_erfc_approx_with_a_changed_digit_fails() -> None:
    step = step_of("gelu", "sum of its five coefficients")
    a5 = sp.Symbol("a_5", real=True)
    changed = [(n, decimal("1.061405428") if n == a5 else m) for n, m in step.defs]
    assert a5 in dict(step.defs) and changed != list(step.defs)
    assert holds(step)
    assert not holds(step, defs=tuple(changed))


# --- residual, embedding, output ----------------------------------------------


def test_pre_ln_gradient_without_the_identity_path_fails() -> None:
    step = step_of("residual-norm", "the 1 is the residual path")
    assert not holds(step, rhs=step.rhs - 1)


def test_embedding_without_the_sqrt_d_model_fails() -> None:
    step = step_of("embedding", "after × √d_model")
    assert holds(step)
    sigma_e2 = step.defs[0][0]
    unscaled = sp.Sum(sigma_e2, (j, 0, d_model - 1))
    assert not holds(step, lhs=unscaled)


def test_one_hot_lookup_of_the_wrong_row_fails() -> None:
    step = step_of("embedding", "forward pass's shapes")
    E = step.lhs.args[1]
    t = sp.Symbol("t", integer=True, nonnegative=True)
    shifted = sp.ImmutableMatrix([[E[(t + 1) % 4, 0], E[(t + 1) % 4, 1]]])
    assert not holds(step, rhs=shifted)


def test_cross_entropy_gradient_with_the_wrong_sign_fails() -> None:
    step = step_of("output", "log-sum-exp differentiates")
    assert holds(step)
    assert not holds(step, rhs=-step.rhs)


def test_tied_gradient_through_the_transpose_fails() -> None:
    step = step_of("output", "chain rule through z_v")
    (total,) = [step.rhs]
    (error_times_e, limits) = total.args
    E = sp.IndexedBase("E", real=True)
    a = sp.Symbol("a", integer=True, nonnegative=True)
    swapped = sp.Sum(error_times_e.subs(E[j, a], E[a, j]), limits)
    assert holds(step)
    assert not holds(step, rhs=swapped)
