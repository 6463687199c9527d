"""Accessibility of the report, checked in Chromium (tests/browser_page.py).

axe-core (Deque's rule engine, from npm; scripts/setup.sh installs it into the
venv) runs on the toy, MiniLM and SmolLM2 reports: no "serious" or "critical"
violation. Besides: text on coloured cells has WCAG AA contrast (computed here
from the colours the browser paints), arrow keys move between heads in the model
view, a skip link leads past the diagram, Chinese tokens say lang="zh", heading
levels do not jump, and the diagram's links reach screen readers.
"""

import itertools
import re
import sys
from pathlib import Path

import pytest
from browser_page import DESKTOP, Visit, launch, sync_api

from explainer import ModelConfig, trace_sentence
from explainer.report import render_report
from explainer.verify import verify

sync_api()

AXE = Path(sys.prefix) / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@pytest.fixture
def visit(browser, report_page):
    opened = []

    def open_(name: str) -> Visit:
        opened.append(Visit(browser, report_page(name), DESKTOP))
        return opened[-1]

    yield open_
    for v in opened:
        v.close()


@pytest.fixture(scope="module")
def chinese(tmp_path_factory):
    trace = trace_sentence(ModelConfig(architecture="decoder"), "我爱自然语言处理")
    path = tmp_path_factory.mktemp("zh") / "chinese.html"
    path.write_text(render_report(trace, verify(trace, derivations=False)), "utf-8")
    return path


@pytest.mark.parametrize("name", ["toy", "minilm", "smollm2"])
def test_axe_finds_no_serious_or_critical_violation(visit, name):
    if not AXE.exists():
        pytest.skip(
            f"axe-core is not installed at {AXE} (scripts/setup.sh installs it)"
        )
    page = visit(name).page
    page.add_script_tag(path=str(AXE))
    # Colour contrast is checked below on every cell, exactly; axe samples text
    # over backgrounds it cannot always resolve (SVG, gradients) as "incomplete".
    result = page.evaluate(
        """async () => {
            const r = await axe.run(document, { resultTypes: ["violations"] });
            return r.violations.map(v => ({ id: v.id, impact: v.impact,
                n: v.nodes.length, first: v.nodes[0].target.join(" "),
                why: v.nodes[0].failureSummary }));
        }"""
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{name}: {bad}"


# WCAG 2.1 relative luminance and contrast ratio, from the painted RGB values.
CONTRAST = """cells => {
    const lum = rgb => {
        const c = rgb.map(v => { v /= 255;
            return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const rgb = s => s.match(/[0-9.]+/g).slice(0, 3).map(Number);
    return cells.filter(c => c.textContent.trim()).map(c => {
        const s = getComputedStyle(c);
        const fg = lum(rgb(c.tagName === "text" ? s.fill : s.color));
        const bg = lum(rgb(c.tagName === "text" ? c.dataset.bg : s.backgroundColor));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        return [c.textContent, ratio];
    });
}"""


def _low(pairs: list) -> list:
    return [(text, round(ratio, 2)) for text, ratio in pairs if ratio < 4.5]


@pytest.mark.parametrize("name", ["toy", "smollm2"])
def test_text_on_heatmap_cells_has_aa_contrast(visit, name):
    page = visit(name).page
    tables = page.eval_on_selector_all(
        "table.m td[class^=d], table.m td[class^=s], td.yes, td.no, td.ninf", CONTRAST
    )
    assert len(tables) > 100 and _low(tables) == []
    page.select_option("#nv-query", "1")  # the neuron view's coloured cells
    neuron = page.eval_on_selector_all("#nv-table td[style]", CONTRAST)
    assert len(neuron) > 20 and _low(neuron) == []


def test_text_on_the_large_heatmap_has_aa_contrast(visit):
    page = visit("toy").page  # 5 tokens: the heatmap's cells show their weights
    labels = page.evaluate(
        """() => [...document.querySelectorAll("#mv-svg text.w")].map(t => {
            t.dataset.bg = t.previousElementSibling.getAttribute("fill");
            return t;
        }).length"""
    )
    assert labels > 10
    pairs = page.eval_on_selector_all("#mv-svg text.w", CONTRAST)
    assert _low(pairs) == []


def test_arrow_keys_move_between_heads_in_the_model_view(visit):
    page = visit("minilm").page
    cell = page.locator('.mv-cell[data-layer="0"][data-head="0"]')
    cell.focus()
    # one Tab stop for the whole grid: only the chosen cell is in the Tab order
    assert page.locator('.mv-cell[tabindex="0"]').count() == 1
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    assert page.input_value("#v-layer") == "1" and page.input_value("#v-head") == "2"
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "layer 1, head 2"
    assert page.get_attribute("#head-view", "data-showing") == (
        "encoder.1.self_attn head 2"
    )
    page.keyboard.press("End")
    assert page.input_value("#v-head") == "11"
    page.keyboard.press("ArrowRight")  # stays on the last head
    assert page.input_value("#v-head") == "11"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Home")
    assert page.input_value("#v-layer") == "0" and page.input_value("#v-head") == "0"


def test_a_skip_link_leads_past_the_diagram(visit):
    page = visit("toy").page
    page.keyboard.press("Tab")
    first = page.evaluate("[document.activeElement.textContent, window.scrollY]")
    assert first[0] == "Skip to the contents"
    assert page.locator("a:focus").bounding_box()["y"] >= 0  # visible when focused
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == (
        "Skip to the attention views"
    )
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the next stop is inside the attention views
    inside = page.evaluate("!!document.activeElement.closest('#view-controls, .views')")
    assert inside


def test_chinese_tokens_say_lang_zh(browser, chinese):
    v = Visit(browser, chinese, DESKTOP)
    try:
        page = v.page
        assert page.get_attribute("#the-sentence .said", "lang") == "zh"
        zh = page.eval_on_selector_all("[lang=zh]", "ns => ns.map(n => n.textContent)")
        assert "我" in zh and "爱" in "".join(zh)
        # every token label in the tables and views that holds CJK text says so
        unmarked = page.eval_on_selector_all(
            ".tok, table.m th, #hv-svg text.tok, #nv-table td.key",
            """ns => ns.filter(n => /[\\u4e00-\\u9fff]/.test(n.textContent)
                               && !n.closest("[lang=zh]")).map(n => n.textContent)""",
        )
        assert unmarked == []
        english = page.eval_on_selector_all(
            "[lang=zh]",
            "ns => ns.filter(n => !/[\\u4e00-\\u9fff]/.test(n.textContent))",
        )
        assert english == []
    finally:
        v.close()


@pytest.mark.parametrize("name", ["toy", "smollm2"])
def test_heading_levels_do_not_jump(visit, name):
    levels = visit(name).page.eval_on_selector_all(
        "h1, h2, h3, h4, h5, h6", "hs => hs.map(h => +h.tagName[1])"
    )
    assert levels[0] == 1
    jumps = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
    assert jumps == []


def test_the_diagrams_links_reach_screen_readers(visit):
    page = visit("toy").page
    svg = page.locator(".diagram svg")
    assert svg.get_attribute("role") != "img"  # role=img would hide its links
    tree = svg.aria_snapshot()  # what the accessibility tree exposes
    links = [line for line in tree.splitlines() if re.match(r"\s*- '?link ", line)]
    boxes = page.locator(".diagram a").count()
    assert boxes > 10 and len(links) == boxes, tree
    assert any("Embedding" in line for line in links)
