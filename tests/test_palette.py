"""The one colour language: explainer/palette.py is read by the report's CSS and
by the scenes, and text on every coloured cell keeps WCAG AA contrast."""

import re
from pathlib import Path

import pytest

from explainer import palette
from explainer.config import ModelConfig
from explainer.report import render_report
from explainer.run import trace_sentence

ROOT = Path(__file__).resolve().parents[1]


def wcag(a: str, b: str) -> float:
    """Contrast ratio, written out here from WCAG 2.1 §1.4.3 (not palette's)."""

    def lum(hexa: str) -> float:
        rgb = [int(hexa[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("colour", palette.WEIGHTS + palette.DIVERGING)
def test_text_on_every_cell_colour_reaches_aa(colour):
    assert wcag(colour, palette.ink_on(colour)) >= 4.5


def test_report_paints_cells_with_the_palettes_custom_properties():
    page = render_report(trace_sentence(ModelConfig(), "you win"), [])
    root = re.search(r":root \{(.*?)\}", page, re.S).group(1)
    declared = dict(re.findall(r"--([\w-]+): (#[0-9a-f]{6});", root))
    assert declared["q"] == palette.Q and declared["v"] == palette.V
    assert [declared[f"w-{k}"] for k in range(9)] == list(palette.WEIGHTS)
    assert [declared[f"d-{k}"] for k in range(9)] == list(palette.DIVERGING)
    for k in range(9):  # the cell classes name the properties, no colour of their own
        assert f".s{k} {{ background: var(--w-{k}); color: var(--w-{k}-ink); }}" in page
        assert f".d{k} {{ background: var(--d-{k}); color: var(--d-{k}-ink); }}" in page


def test_report_css_defines_no_second_copy_of_the_ramps():
    css = (ROOT / "templates" / "report.css").read_text(encoding="utf-8")
    for colour in palette.WEIGHTS[1:] + palette.DIVERGING + (palette.Q, palette.K):
        assert colour not in css.lower(), colour


def test_the_attention_views_read_their_colours_from_the_palettes_css():
    """report.js names no colour of its own: heads and both colour maps come from
    the page's CSS custom properties (the browser test checks the drawn colours)."""
    js = (ROOT / "templates" / "report.js").read_text(encoding="utf-8")
    assert re.findall(r'"#[0-9a-fA-F]{6}"', js) == ['"#57606a"']  # a 9th head's grey
    assert 'ramp("head-", 8)' in js and 'ramp("w-", 9)' in js and 'ramp("d-", 9)' in js


def test_scenes_draw_with_the_palette():
    common = pytest.importorskip("explainer.scenes.common")
    assert common.Q_COLOR.to_hex().lower() == palette.Q
    assert common.K_COLOR.to_hex().lower() == palette.K
    assert common.V_COLOR.to_hex().lower() == palette.V
    assert [c.to_hex().lower() for c in common.HEAD_COLORS] == list(palette.HEADS)
    assert common.WEIGHT_COLOR.to_hex().lower() == palette.WEIGHT
