"""The report's JavaScript views draw with the palette (explainer/palette.py):
attention weights on the weights' map, signed numbers on the diverging map, in
Debian's Chromium (tests/browser_page.py)."""

from __future__ import annotations

import numpy as np
import pytest
from browser_page import Visit, launch, sync_api

from explainer import ModelConfig, palette, trace_sentence
from explainer.report import render_report
from explainer.verify import verify

sync_api()


def rgb(colour: str) -> tuple[int, ...]:
    """'rgb(1, 2, 3)' or '#010203' as (1, 2, 3)."""
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(x) for x in colour[colour.index("(") + 1 : -1].split(","))


def expected(ramp: tuple[str, ...], t: float) -> np.ndarray:
    """The colour t of the way along ramp, interpolated here in NumPy per channel
    (not by palette.along, which the doctests check on their own)."""
    steps = np.array([rgb(c) for c in ramp], dtype=float)
    x = np.linspace(0, 1, len(ramp))
    return np.array([np.interp(t, x, steps[:, n]) for n in range(3)])


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    trace = trace_sentence(ModelConfig(), "When you play game of thrones")
    path = tmp_path_factory.mktemp("palette") / "report.html"
    path.write_text(render_report(trace, verify(trace, derivations=False)), "utf-8")
    for browser in launch():
        visit = Visit(browser, path)
        yield trace, visit.page
        assert visit.errors == []
        visit.close()


def test_heatmap_and_model_view_cells_use_the_weights_map(page):
    trace, p = page
    cells = p.eval_on_selector_all(
        ".hm-cell", "cs => cs.map(c => [c.dataset.w, c.getAttribute('fill')])"
    )
    assert cells
    for w, fill in cells:
        if fill != "rgb(236,239,241)":  # a masked key's grey
            np.testing.assert_allclose(
                rgb(fill), expected(palette.WEIGHTS, float(w)), atol=0.51
            )
    weights = trace["encoder.0.self_attn.weights"][0]  # layer 0, head 0
    fills = p.eval_on_selector_all(
        '.mv-cell[data-layer="0"][data-head="0"] rect',
        "rs => rs.map(r => r.getAttribute('fill'))",
    )
    assert len(fills) == weights.size
    for fill, w in zip(fills, weights.reshape(-1), strict=True):
        np.testing.assert_allclose(rgb(fill), expected(palette.WEIGHTS, w), atol=0.51)


def test_neuron_view_paints_signed_numbers_on_the_diverging_map(page):
    _, p = page
    cells = p.eval_on_selector_all(
        '#nv-table td[data-role="q"], #nv-table td[data-role="k"]',
        "cs => cs.map(c => [+c.title, getComputedStyle(c).backgroundColor])",
    )
    assert cells
    products = p.eval_on_selector_all(
        '#nv-table td[data-role="product"]', "cs => cs.map(c => Math.abs(+c.title))"
    )
    largest = max(max(abs(x) for x, _ in cells), max(products))
    for x, background in cells:
        t = (x / largest + 1) / 2
        np.testing.assert_allclose(
            rgb(background), expected(palette.DIVERGING, t), atol=0.51
        )
