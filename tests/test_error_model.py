"""The rounding-error bounds of :mod:`explainer.verify.error_model`: they hold where
Higham's analysis says they must (float32 results against exact sums by
math.fsum), a worst case comes within a factor of a few of them (they are not
loose by orders of magnitude), correct float32 traces stay well inside them, and
float64 traces are held no looser than by the former tolerance (1e-10 × the
largest value)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from explainer import numeric
from explainer.config import ACTIVATIONS, ARCHITECTURES, NORMS, ModelConfig
from explainer.run import trace_sentence
from explainer.trace import Op
from explainer.verify import verify
from explainer.verify.error_model import UNIT_ROUNDOFF, bound
from explainer.verify.formulas import Context, evaluate

SENTENCES = ("When you play game of thrones", "you win or you die")
MARGIN = 0.5
"""Correct traces use at most this fraction of their bounds (measured: 0.23 on
the toy variants, 0.24 on MiniLM, 0.27 on SmolLM2)."""


def ratios(results) -> list[float]:
    """error/tolerance of every formula row with a tolerance."""
    return [r.max_abs_err / r.tol for r in results if r.check == "formula" and r.tol]


@pytest.mark.parametrize("inner", [1, 7, 384, 1536])
def test_the_product_bound_holds_against_exact_sums(inner):
    """x W + b in float32, each entry against its exact value: the products of
    float32 numbers are exact in float64 and math.fsum adds them exactly."""
    rng = np.random.default_rng(inner)
    x = rng.normal(size=(5, inner)).astype(np.float32)
    w = rng.normal(size=(inner, 6)).astype(np.float32)
    b = rng.normal(size=6).astype(np.float32)
    got = numeric.linear(x, w, b)
    exact = np.array(
        [
            [math.fsum([*(float(x[r, k]) * float(w[k, c]) for k in range(inner)), b[c]])
             for c in range(6)]
            for r in range(5)
        ]
    )  # fmt: skip
    ctx = Context(1, 1, inner, 1e-5, 0, (5, 6))
    expected = evaluate(Op.LINEAR, [x, w, b], ctx)
    limit = bound(Op.LINEAR, [x, w, b], expected, ctx, "float32")
    assert (np.abs(got - exact) <= limit).all()
    assert (np.abs(expected - exact) <= limit).all()


def test_a_worst_case_sum_reaches_a_good_part_of_its_bound():
    """1 + u + u + … in float32, added one by one (as a loop over tokens would):
    each u is a tie that rounds back to 1 (to even), so the mean of T rows loses
    (T − 1)u/T — the K u of Higham's bound is attained, not an overestimate."""
    u, rows = UNIT_ROUNDOFF["float32"], 64
    x = np.full((rows, 1), u, dtype=np.float32)
    x[0] = 1
    total = np.float32(0)
    for row in x:
        total = np.float32(total + row[0])
    got = [total / np.float32(rows)]  # 64: an exact division
    exact = (1 + (rows - 1) * u) / rows
    ctx = Context(1, 1, 1, 1e-5, 0, (1,))
    expected = evaluate(Op.MEAN_POOL, [x], ctx)
    limit = bound(Op.MEAN_POOL, [x], expected, ctx, "float32")
    error = abs(float(got[0]) - exact)
    assert error == pytest.approx((rows - 1) * u / rows, rel=1e-6)
    assert 0.4 < error / float(limit[0]) <= 1


TOYS = list(itertools.product(ARCHITECTURES, NORMS, ACTIVATIONS))


@pytest.mark.parametrize(("architecture", "norm", "activation"), TOYS)
def test_float32_toy_traces_stay_well_inside_their_bounds(
    architecture, norm, activation
):
    cfg = ModelConfig(
        architecture=architecture, norm=norm, activation=activation, dtype="float32"
    )
    for sentence in SENTENCES:
        results = verify(trace_sentence(cfg, sentence), derivations=False)
        assert [r for r in results if not r.ok] == []
        assert max(ratios(results)) <= MARGIN


@pytest.mark.parametrize(("architecture", "norm", "activation"), TOYS)
def test_float64_bounds_are_no_looser_than_before(architecture, norm, activation):
    """Each row's tolerance ≤ 1e-10 × max(1, largest |value| of its stage)."""
    cfg = ModelConfig(architecture=architecture, norm=norm, activation=activation)
    trace = trace_sentence(cfg, SENTENCES[0])
    results = verify(trace, derivations=False, precision=False)
    assert [r for r in results if not r.ok] == []
    for r in results:
        if r.check == "formula" and r.tol:
            value = trace[r.where.split(" [")[0]]
            scale = np.abs(value[np.isfinite(value)]).max(initial=0.0)
            assert r.tol <= 1e-10 * max(1.0, scale), r


def test_every_inexact_op_has_a_bound():
    from explainer.verify import error_model
    from explainer.verify.formulas import _EVALUATORS, EXACT_OPS

    rules = {
        *error_model._STEPS, *error_model._PRODUCTS, *error_model._SUMS,
        *error_model._SPECIAL,
    }  # fmt: skip
    assert rules == set(_EVALUATORS) - EXACT_OPS
