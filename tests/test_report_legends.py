"""Colour legends with numbers, and one colour scale for matrices side by side
(explainer/report/tables.py), checked against the trace's own arrays."""

import itertools
import re

import numpy as np
import pytest

from explainer import ModelConfig, trace_sentence
from explainer.report import render_report
from explainer.report.tables import number, share_scale, table
from explainer.verify import verify


@pytest.fixture(scope="module")
def default():
    trace = trace_sentence(ModelConfig(), "When you play game of thrones")
    return trace, render_report(trace, verify(trace, derivations=False))


def section(html: str, sid: str) -> str:
    start = html.index(f'<section class="stage" id="{sid}"')
    return html[start : html.index("</section>", start)]


def ticks(html: str) -> list[list[str]]:
    """The numbers under each legend's colour bar, in page order."""
    bars = re.findall(r'<span class="bar"[^>]*>(.*?)</span>\n', html, re.S)
    return [re.findall(r'<span class="tick t\d">([^<]*)</span>', b) for b in bars]


def test_side_by_side_matrices_share_one_scale():
    a = table("a", np.array([[1.0, -0.5]]), rows=["r"], cols=["0", "1"])
    b = table("b", np.array([[-2.0, 1.0]]), rows=["r"], cols=["0", "1"])
    shared = share_scale([a, b])
    tones = [[c.tone for c in t.rows[0].cells] for t in shared]
    # L = 2: the class is round(4 + 4 v / L), so 1.0 → d6 in both tables
    assert tones == [["d6", "d3"], ["d0", "d6"]]
    assert [t.largest for t in shared] == [2.0, 2.0]
    # alone, a's 1.0 would be the darkest red
    assert a.rows[0].cells[0].tone == "d8"


def test_qkv_legend_shows_the_shared_scales_numbers(default):
    trace, html = default
    p = "encoder.0.self_attn"
    largest = max(float(np.abs(trace[f"{p}.{x}"]).max()) for x in "qkv")
    qkv = section(html, "encoder-0-self_attn-qkv")
    low, zero, high = ticks(qkv)[0]
    assert (low, zero, high) == (number(-largest), "0", number(largest))
    assert "one scale for these 6 matrices" in qkv
    # the cell holding the largest |value| has the darkest colour of the scale
    cells = re.findall(r'<td class="(d\d)" title="([^"]+)"', qkv)
    darkest = max(cells, key=lambda c: abs(float(c[1])))
    assert darkest[0] in ("d0", "d8")
    assert abs(float(darkest[1])) == pytest.approx(largest)


def test_every_matrix_group_has_a_legend_with_numbers(default):
    _, html = default
    chunks = html.split('<div class="tables">')
    assert len(chunks) > 20
    for before, group in itertools.pairwise(chunks):
        group = "" if group.startswith("</div>") else group.split("</figure></div>")[0]
        scales = [s for s in ("diverging", "probability") if f'class="m {s}' in group]
        # just before the group: one legend per colour scale in it, with numbers
        end = re.search(
            r'(<div class="legend">(?:(?!<div class="tables">).)*)$', before, re.S
        )
        found = ticks(end.group(1)) if end else []
        assert len(found) == len(scales), group[:200]
    legends = ticks(html)
    for low, zero, high in legends:
        assert low and high and low != high
        assert zero in ("0", "0.500")  # diverging: white at 0; weights: 0 … 1
    assert ["0", "0.500", "1.000"] in legends  # probabilities and weights
