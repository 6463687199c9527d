"""The arithmetic the scenes write out is the trace's: each term recomputed here
from the trace's own rows and columns and rounded on its own, each sum written
"=" when the rounded terms add up to the rounded result and "≈" when they miss
it by a last place."""

import numpy as np
import pytest

pytest.importorskip("manim")


def _at(trace, source):
    stage, index = source
    return np.asarray(trace[stage], dtype=float)[index]


def check_dot(trace, dot):
    """a · b (+ bias) as written: factors and result are the trace's numbers as
    shown, each product a_i b_i rounded on its own; "=" if the shown products (and
    bias) add up to the shown result, else "≈" and they miss it by a little."""
    a, b = _at(trace, dot.sources["a"]), _at(trace, dot.sources["b"])
    result = float(_at(trace, dot.sources["result"]))
    bias = float(_at(trace, dot.sources["bias"])) if "bias" in dot.sources else 0.0
    # the trace's result is this row times this column (+ bias): sources are right
    np.testing.assert_allclose(a @ b + bias, result, rtol=1e-4, atol=1e-5)
    picked = [i for i in dot.shown if i is not None]
    assert len(picked) == len(dot.factors) == len(dot.products)
    for i, (fa, fb), p in zip(picked, dot.factors, dot.products, strict=True):
        assert fa.number == round(a[i], 2) + 0.0
        assert fb.number == round(b[i], 2) + 0.0
        assert p == round(a[i] * b[i], 2) + 0.0
    assert dot.total.number == round(result, 2) + 0.0
    if None not in dot.shown:  # every term shown: = exactly when they add up
        shown_sum = round(sum(dot.products) + (dot.bias or 0.0), 2) + 0.0
        assert dot.relation == ("=" if shown_sum == dot.total.number else r"\approx")
        assert abs(shown_sum - dot.total.number) <= len(picked) * 0.005 + 0.01


def check_weighted(trace, rows):
    """Σ_j w_j v_j: every scaled entry w_j v_jc rounded on its own, the totals the
    trace's output row as shown; Σ, or Σ ≈ when a column's entries miss it."""
    w = _at(trace, rows.sources["weights"])
    v = _at(trace, rows.sources["values"])
    out = _at(trace, rows.sources["result"])
    np.testing.assert_allclose(w @ v, out, rtol=1e-4, atol=1e-5)
    sums_match = True
    for c in (c for c in rows.cols if c is not None):
        keys = [j for j in rows.rows if j is not None]
        for j in keys:
            assert rows.scaled[(j, c)] == round(w[j] * v[j, c], 2) + 0.0
        assert rows.total_mobs[c].number == round(out[c], 2) + 0.0
        if None not in rows.rows:
            total = round(sum(rows.scaled[(j, c)] for j in keys), 2) + 0.0
            sums_match &= total == rows.total_mobs[c].number
    assert rows.equal == (None in rows.rows or sums_match)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "dots", "weighted"),
    [
        ("attention", 1, 1),
        ("projections", 1, 0),
        ("multi-head", 1, 0),
        ("feed-forward", 2, 0),
        ("output", 1, 0),
    ],
)
def test_scene_writes_out_the_traces_arithmetic(name, dots, weighted, last_scene):
    scene = last_scene(name)
    assert len(getattr(scene, "dots", [])) >= dots
    for dot in scene.dots:
        check_dot(scene.trace, dot)
    assert len(getattr(scene, "weighted", [])) >= weighted
    for rows in getattr(scene, "weighted", []):
        check_weighted(scene.trace, rows)


@pytest.mark.slow
def test_scaling_demo_is_one_hot_unscaled_and_spread_scaled(last_scene):
    from scipy.special import softmax

    demo = last_scene("scaling").demo
    scores = demo["scores"]
    np.testing.assert_allclose(demo["scaled"], scores / 8)  # √64
    np.testing.assert_allclose(demo["weights"], softmax(scores))
    np.testing.assert_allclose(demo["scaled_weights"], softmax(scores / 8))
    assert demo["weights"].max() > 0.95  # one-hot
    assert demo["scaled_weights"].max() < 0.6  # spread over several keys
    assert np.sort(demo["scaled_weights"])[-2] > 0.15


def test_rope_relative_scores_are_the_closed_form_and_depend_on_n_minus_m():
    from explainer.scenes.rope import relative_places, relative_scores

    rng = np.random.default_rng(3)
    q, k = rng.normal(size=2), rng.normal(size=2)
    omega = 0.7
    theta = omega * np.arange(6)  # θ_m = m ω, as the trace's angles
    places = relative_places(6)
    scores = relative_scores(q, k, theta, places)
    for (m, n), score in zip(places, scores, strict=True):
        # qᵀ R((n − m) ω) k, written out: cos·(q·k) − sin·(q × k)
        a = (n - m) * omega
        closed = np.cos(a) * (q @ k) - np.sin(a) * (q[0] * k[1] - q[1] * k[0])
        assert score == pytest.approx(closed, abs=1e-12)
    ones = [s for (m, n), s in zip(places, scores, strict=True) if n - m == 1]
    assert len(ones) == 3 and np.ptp(ones) < 1e-12
    assert abs(scores[-1] - ones[0]) > 1e-3  # n − m = 2 differs
