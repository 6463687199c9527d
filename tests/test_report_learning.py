"""The report's "Watch it learn" and "One gradient, backwards" sections
(explainer/report/learning.py, gradient_flow.py): shown when they apply, and
their numbers are forward passes and backward stages computed here."""

import re
from html import unescape

import numpy as np
import pytest

from explainer.backward import with_backward
from explainer.cli import main
from explainer.config import ModelConfig
from explainer.report import render_report
from explainer.report.gradient_flow import gradient_flow
from explainer.run import trace_sentence
from explainer.tokenizer import Tokenizer
from explainer.train import shipped_weights
from explainer.train.learning import DEMO_ENGLISH, learning_for

CHINESE = "当 你 玩 权力 的 游戏"


@pytest.fixture(scope="module")
def weights():
    return shipped_weights("default.safetensors")


@pytest.fixture(scope="module")
def trained_trace(weights):
    """The default preset's pass, with its backward stages, as `explainer report
    --backward` makes it."""
    trace = trace_sentence(
        weights.config,
        "When you play game of thrones",
        target=CHINESE,
        tokenizer=Tokenizer(weights.vocab),
        params=weights.params,
        weights=weights.describe(),
    )
    return with_backward(trace)


def _run_report(tmp_path, *args: str) -> str:
    out = tmp_path / "page.html"
    with pytest.raises(SystemExit) as done:
        main(["report", *args, "--out", str(out)])
    assert done.value.code == 0
    return out.read_text(encoding="utf-8")


def _figures(html: str, kind: str) -> dict[str, str]:
    """The HTML of each ``<figure class="{kind}" data-step=…>`` by its step."""
    found = re.findall(
        rf'<figure class="{kind}" data-step="(\d+)">(.*?)</figure>\s*<figcaption',
        html,
        flags=re.S,
    )
    return dict(found)


def _cell_values(fragment: str) -> np.ndarray:
    """The exact values (hover titles) of a table's cells, row by row."""
    rows = re.findall(r"<tr><th>.*?</th>(.*?)</tr>", fragment, flags=re.S)
    cells = [re.findall(r'<td[^>]*title="([^"]+)"', r) for r in rows]
    return np.array([[float(unescape(v)) for v in row] for row in cells])


def test_the_default_report_watches_the_demo_pair_learn(report_page, weights):
    html = report_page("toy").read_text(encoding="utf-8")
    assert 'id="watch-it-learn"' in html and 'href="#watch-it-learn"' in html
    assert "<svg" in html and "guided alignment" in html
    figures = _figures(html, "heatmap")
    assert sorted(figures, key=int) == ["0", "10", "50", "200", "500"]
    params = {**weights.checkpoints, 500: weights.params}
    layer = weights.config.n_layers - 1
    for step, fragment in figures.items():
        expected = trace_sentence(
            weights.config,
            DEMO_ENGLISH,
            target=CHINESE,
            tokenizer=Tokenizer(weights.vocab),
            params=params[int(step)],
        )[f"decoder.{layer}.cross_attn.weights"][0]
        np.testing.assert_allclose(_cell_values(fragment), expected, atol=1e-15)
        for word in ("when", "thrones", "当", "游戏"):
            assert word in fragment
    for step in (0, 10, 50, 200):  # the loss under each checkpoint
        assert f"{weights.losses[step]:.3f}" in html
    assert 'id="one-gradient"' not in html  # no backward stages without --backward


def test_seed003_has_neither_section(tmp_path):
    html = _run_report(tmp_path, "--preset", "seed003")
    assert "watch-it-learn" not in html and "one-gradient" not in html


def test_learning_needs_the_traces_own_weights(weights, trained_trace):
    assert learning_for(trained_trace, weights) is not None
    random = trace_sentence(ModelConfig(n_layers=1), "you win")
    assert learning_for(random, weights) is None
    assert learning_for(trained_trace, None) is None


def test_the_gradient_walk_reads_the_traces_backward_stages(trained_trace):
    flow = gradient_flow(trained_trace)
    assert flow is not None and flow.prefix == "decoder.1.cross_attn"
    t, h, prefix = flow.position, flow.head, flow.prefix
    probs = trained_trace["output.probs"]
    labels = trained_trace["backward.labels"]
    losses = -np.log(probs[np.arange(len(labels)), labels])
    assert t == int(np.argmax(losses))
    tables = {tab.name: tab for step in flow.steps for tab in step.tables}

    def shown(name: str) -> np.ndarray:
        tab = tables[name]
        return np.array([[float(c.exact) for c in r.cells] for r in tab.rows])

    g = trained_trace
    dz = g["backward.output.logits"][t]
    np.testing.assert_array_equal(shown("backward.output.logits")[0][0], dz[labels[t]])
    hidden = "backward.decoder.1.norm3"
    np.testing.assert_array_equal(shown(hidden)[0], g[hidden][t])
    for stage in ("heads", "weights", "masked", "q"):
        name = f"backward.{prefix}.{stage}"
        np.testing.assert_array_equal(shown(name)[0], g[name][h, t])
    np.testing.assert_array_equal(
        shown(f"backward.{prefix}.k"), g[f"backward.{prefix}.k"][h]
    )
    # The rules the section states, on its own numbers (computed here).
    p, d_o = g[f"{prefix}.weights"][h, t], shown(f"backward.{prefix}.heads")[0]
    dp = d_o @ g[f"{prefix}.v"][h].T
    np.testing.assert_allclose(shown(f"backward.{prefix}.weights")[0], dp, atol=1e-15)
    ds = p * (dp - dp @ p)
    np.testing.assert_allclose(shown(f"backward.{prefix}.masked")[0], ds, atol=1e-15)
    dq = ds @ g[f"{prefix}.k"][h] / np.sqrt(g.config.d_k)
    np.testing.assert_allclose(shown(f"backward.{prefix}.q")[0], dq, atol=1e-15)
    # (p − y)/T at the label: (p − 1)/T.
    assert dz[labels[t]] == pytest.approx((probs[t, labels[t]] - 1) / len(labels))


def test_the_page_shows_the_walk_only_with_backward_stages(trained_trace):
    html = render_report(trained_trace, [])
    assert 'id="one-gradient"' in html and "p ⊙ (dy − ⟨dy, p⟩)" in html
    assert "<math" in html[html.index('id="one-gradient"') :]
    forward = [s for s in trained_trace.stages if not s.name.startswith("backward.")]
    plain = render_report(trained_trace.with_stages(forward), [])
    assert 'id="one-gradient"' not in plain


def test_report_backward_adds_the_walk_and_refuses_pretrained_models(tmp_path):
    html = _run_report(tmp_path, "--backward")
    assert 'id="one-gradient"' in html and 'id="watch-it-learn"' in html
    with pytest.raises(SystemExit) as done:
        main(
            ["report", "--backward", "--model", "minilm", "--out", str(tmp_path / "x")]
        )
    assert done.value.code == 2
