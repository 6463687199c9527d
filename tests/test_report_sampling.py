"""The report's sampling panel (explainer/report/sampling.py, templates/sampling.js):
it embeds the trace's own logits, and the probabilities the browser shows after
the temperature, top-k and top-p sliders move are those NumPy computes here from
the trace's logits by the definitions: p = softmax(z / T) (T = 0: all on the
argmax), top-k keeps the k largest (Fan et al. 2018), top-p the fewest most
probable whose sum reaches p (Holtzman et al. 2020), the kept renormalised. At
T = 1 they are the forward pass's own output.probs."""

from __future__ import annotations

import base64
import importlib.util

import numpy as np
import pytest
from browser_page import Visit, launch, sync_api

from explainer import ModelConfig, trace_sentence
from explainer.report import render_report
from explainer.report.sampling import TOP, sampling_view
from explainer.verify import verify

sync_api()


def expected(z: np.ndarray, T: float, k: int, p: float) -> np.ndarray:
    """The next token's distribution (V,), by the definitions (k = 0, p = 1: off)."""
    z = z.astype(np.float64)
    if T == 0:
        return np.eye(z.shape[0])[np.argmax(z)]
    s = z / T
    if k:
        s = np.where(s < np.sort(s)[::-1][k - 1], -np.inf, s)
    q = np.exp(s - s.max())
    q /= q.sum()
    if p < 1:
        order = np.argsort(-q, kind="stable")
        n = int(np.searchsorted(np.cumsum(q[order]), p)) + 1
        kept = np.zeros_like(q)
        kept[order[:n]] = q[order[:n]]
        q = kept / kept.sum()
    return q


def trained_default():
    from explainer.cli.options import _option_keys, build_setup

    return build_setup(dict.fromkeys(_option_keys())).run()


def smollm2():
    from explainer.models import smollm2, trace_model

    if importlib.util.find_spec(smollm2.MODULE) is None:
        pytest.skip(f"model package missing: {smollm2.INSTALL}")
    return trace_model("smollm2", "The capital of France is")


TRACES = {
    "default": trained_default,  # trained weights, float64, <eos> at p ≈ 0.999
    "decoder-float32": lambda: trace_sentence(
        ModelConfig(architecture="decoder", dtype="float32"), "you win or you die"
    ),  # random weights: a flat distribution, so top-p cuts many tokens
    "smollm2": smollm2,  # 49,152 float32 logits, byte-level tokens
}


@pytest.mark.parametrize("name", list(TRACES))
def test_the_panel_embeds_the_last_positions_logits_exactly(name):
    trace = TRACES[name]()
    view = sampling_view(trace)
    z = trace["output.logits"][-1]
    data = base64.b64decode(view["data"]["logits"])
    embedded = np.frombuffer(data, np.dtype(view["data"]["dtype"]).newbyteorder("<"))
    assert embedded.tobytes() == z.astype(z.dtype.newbyteorder("<")).tobytes()
    top = [row["id"] for row in view["rows"]]
    assert top == list(np.argsort(-z, kind="stable")[:TOP])
    probs = trace["output.probs"][-1]
    assert [row["p"] for row in view["rows"]] == [float(probs[t]) for t in top]


def test_an_encoder_without_logits_has_no_panel():
    from explainer.report.context import build_context

    trace = trace_sentence(ModelConfig(architecture="encoder"), "you win")
    pooled = trace.with_stages(s for s in trace.stages if s.name[:7] != "output.")
    assert sampling_view(pooled) is None
    assert build_context(pooled, [])["sampling"] is None


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@pytest.fixture(scope="module", params=list(TRACES))
def report(request, tmp_path_factory):
    trace = TRACES[request.param]()
    path = tmp_path_factory.mktemp("sampling") / "report.html"
    results = verify(trace, derivations=False, precision=False)
    path.write_text(render_report(trace, results), "utf-8")
    return trace, path


def bars(page) -> dict[int, tuple[float, str]]:
    """Each bar's token id → (its probability, the text shown)."""
    rows = page.locator("#sampling-bars li")
    return {
        int(rows.nth(r).get_attribute("data-id")): (
            float(rows.nth(r).get_attribute("data-p")),
            rows.nth(r).locator(".p").inner_text(),
        )
        for r in range(rows.count())
    }


SETTINGS = [  # (T, top-k, top-p)
    (0.5, 0, 1.0),
    (1.75, 0, 1.0),
    (1.0, 3, 1.0),
    (1.2, 0, 0.9),
    (0.8, 5, 0.5),
    (0.05, 0, 1.0),  # near 0: as good as greedy, and no NaN
    (0.0, 0, 1.0),  # greedy
]


def test_moving_the_sliders_recomputes_the_distribution(browser, report):
    trace, path = report
    z = trace["output.logits"][-1]
    visit = Visit(browser, path)
    page = visit.page
    shown = bars(page)
    assert len(shown) == TOP
    probs = trace["output.probs"][-1]  # T = 1: the forward pass's softmax, in
    rel = 1e-9 if probs.dtype == np.float64 else 1e-6  # its dtype (the page: float64)
    for token, (p, _) in shown.items():
        assert p == pytest.approx(probs[token], rel=rel, abs=1e-15)
    for T, k, top_p in SETTINGS:
        page.fill("#sampling-t", str(T))
        page.fill("#sampling-k", str(k))
        page.fill("#sampling-p", str(top_p))
        want = expected(z, T, k, top_p)
        now = bars(page)
        for token, (p, text) in now.items():
            assert p == pytest.approx(want[token], rel=1e-9, abs=1e-15), (T, k, top_p)
            assert ("cut by" in text) == (want[token] == 0 and T > 0)
        summary = page.inner_text("#sampling-summary")
        assert "NaN" not in summary
        assert ("greedy" if T == 0 else f"T = {T:.2f}:") in summary
    visit.close()
    assert visit.errors == [] and visit.blocked == []


def test_the_arrow_keys_move_the_temperature(browser, report):
    trace, path = report
    z = trace["output.logits"][-1]
    visit = Visit(browser, path)
    page = visit.page
    before = bars(page)
    page.focus("#sampling-t")
    for _ in range(6):
        page.keyboard.press("ArrowRight")  # 1.00 → 1.30, step 0.05
    assert page.inner_text("#sampling-t-value") == "1.30"
    after = bars(page)
    want = expected(z, 1.3, 0, 1.0)
    assert after != before
    for token, (p, _) in after.items():
        assert p == pytest.approx(want[token], rel=1e-9, abs=1e-15)
    visit.close()
    assert visit.errors == []
