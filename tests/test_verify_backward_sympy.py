"""verify's first way of checking gradients (issue 13, point 3): every backward
stage against its SymPy rule (explainer/symbolic/backward_*.py, lambdified),
evaluated on the trace's recorded numbers. The NumPy backward pass wrote the
stages; the SymPy rules are a second, independent implementation, so they agree
on a correct trace, name a tampered stage, and catch a planted wrong NumPy rule
that re-evaluating the NumPy rule by itself cannot see."""

from __future__ import annotations

import pytest
from tampering import tampered

from explainer.backward import rules
from explainer.backward.walk import context
from explainer.config import ModelConfig
from explainer.run import trace_sentence
from explainer.trace import Op, Trace
from explainer.verify.backward import check_backward, is_backward
from explainer.verify.backward_sympy import CHECK, RULES, check_rules

SENTENCE = "you win or you die"
NO_RULE = {Op.LABELS, Op.CROSS_ENTROPY, Op.GRAD_SUM}
"""Integers, the loss value and the chain rule's sum: no SymPy gradient rule."""


def sympy_rows(trace: Trace):
    stages = [s for s in trace.stages if is_backward(s)]
    return check_rules(trace, stages, context(trace))


def test_every_backward_op_but_three_has_a_sympy_rule():
    assert set(rules.BACKWARD_OPS) - set(RULES) == NO_RULE
    assert set(RULES) <= set(rules.BACKWARD_OPS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    ("architecture", "norm", "activation"),
    [
        ("encoder-decoder", "post", "relu"),
        ("encoder-decoder", "pre", "gelu"),
        ("encoder", "pre", "relu"),
        ("decoder", "post", "gelu"),
    ],
)
def test_every_backward_stage_agrees_with_its_sympy_rule(
    architecture, norm, activation, dtype
):
    cfg = ModelConfig(
        architecture=architecture, norm=norm, activation=activation, dtype=dtype
    )
    trace = trace_sentence(cfg, SENTENCE, backward=True)
    rows = sympy_rows(trace)
    assert all(r.ok for r in rows), [r for r in rows if not r.ok]
    assert all(r.check == CHECK for r in rows)
    want = {s.name for s in trace.stages if is_backward(s) and s.op not in NO_RULE}
    in_order = [s.name for s in trace.stages if s.name in want]
    assert [r.where for r in rows] == in_order  # one row each, in the pass's order
    # every rule is exercised, not only the easy ones
    ops = {trace.stage(r.where).op for r in rows}
    assert {Op.SOFTMAX_BACKWARD, Op.LAYER_NORM_BACKWARD_X, Op.EMBEDDING_BACKWARD} <= ops


def test_verify_lists_the_sympy_rows_beside_the_numpy_and_finite_difference_ones():
    from explainer.verify import verify

    trace = trace_sentence(ModelConfig(n_layers=1), "you win", backward=True)
    results = verify(trace, derivations=False, precision=False)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    kinds = {r.check for r in results}
    assert {"gradient", CHECK, "finite differences"} <= kinds
    named = {r.formula for r in results if r.check == CHECK}
    assert "backward_linear.weight_grad: dW = Xᵀ dY" in named


@pytest.mark.parametrize(
    "name",
    [
        "backward.decoder.0.self_attn.masked",  # softmax VJP
        "backward.encoder.1.norm2.gamma",  # a parameter's gradient
        "backward.output.logits",  # p − y
        "backward.decoder.0.cross_attn.heads",  # concat's gradient, split
    ],
)
def test_a_tampered_gradient_fails_its_sympy_row_and_is_named(name):
    trace = trace_sentence(ModelConfig(), SENTENCE, backward=True)
    assert all(r.ok for r in sympy_rows(trace))
    rows = sympy_rows(tampered(trace, name))
    failed = [r for r in rows if not r.ok]
    assert failed and failed[0].where == name
    assert failed[0].cell and failed[0].expected is not None
    assert failed[0].actual == pytest.approx(failed[0].expected * 1.01, rel=1e-6)
    assert all(f"reads {name}" in r.detail for r in failed[1:])


def _transposed_weight_grad(arrays, ctx):
    """A planted slip: dW = dYᵀ X, the transpose of Xᵀ dY (same shape when W is
    square)."""
    x, dy = (a.reshape(-1, a.shape[-1]) for a in arrays)
    return dy.T @ x


def _softmax_without_inner(arrays, ctx):
    """A planted slip: dx = p ⊙ dy, the VJP without its ⟨dy, p⟩ term."""
    p, dy = arrays
    return p * dy


@pytest.mark.parametrize(
    ("op", "wrong", "rule"),
    [
        (Op.LINEAR_BACKWARD_W, _transposed_weight_grad, "weight_grad"),
        (Op.SOFTMAX_BACKWARD, _softmax_without_inner, "scores_grad"),
    ],
)
def test_a_planted_wrong_numpy_rule_is_caught_by_the_sympy_rows(
    monkeypatch, op, wrong, rule
):
    import dataclasses

    from explainer.ops import OPS  # the NumPy rule is the entry's ``numeric``

    monkeypatch.setitem(OPS, op, dataclasses.replace(OPS[op], numeric=wrong))
    cfg = ModelConfig(n_layers=1, d_model=8, d_ff=8)  # every W square
    trace = trace_sentence(cfg, SENTENCE, backward=True)
    rows = check_backward(trace)
    # The NumPy rule agrees with itself: its re-evaluation cannot see the slip.
    assert all(r.ok for r in rows if r.check == "gradient")
    failed = [r for r in rows if r.check == CHECK and not r.ok]
    planted = {s.name for s in trace.stages if s.op == op}
    assert planted and {r.where for r in failed} == planted
    assert all(rule in r.formula and r.cell for r in failed)
