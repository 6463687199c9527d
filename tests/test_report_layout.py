"""The report fits the screen: a phone (390 px) and a desktop (1400 px), for the toy
model, MiniLM (12 heads) and SmolLM2 (d_k = 64). Measured in Chromium
(tests/browser_page.py): the page never scrolls sideways; wide things scroll in
their own box and nothing is cut; derivation steps stack on a phone; the model
view's thumbnails fit the width; the neuron view keeps its labels and results in
view.
"""

import pytest
from browser_page import DESKTOP, PHONE, Visit, launch, sync_api

sync_api()

NAMES = ["toy", "minilm", "smollm2"]
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}

# Boxes whose content is wider than the box but cannot be scrolled: cut.
CUT = """() => [...document.querySelectorAll("main *")].filter(e => {
    if (e.scrollWidth <= e.clientWidth + 1 || e.clientWidth === 0) return false;
    const s = getComputedStyle(e);
    return s.overflowX === "hidden" || s.overflowX === "clip";
}).map(e => e.tagName + "." + e.className + " in #" + (e.closest("[id]") || {}).id)"""


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@pytest.fixture
def visit(browser, report_page):
    opened = []

    def open_(name: str, viewport: dict) -> Visit:
        opened.append(Visit(browser, report_page(name), viewport))
        return opened[-1]

    yield open_
    for v in opened:
        v.close()


@pytest.mark.parametrize("screen", list(VIEWPORTS))
@pytest.mark.parametrize("name", NAMES)
def test_the_page_never_scrolls_sideways(visit, name, screen):
    viewport = VIEWPORTS[screen]
    v = visit(name, viewport)
    page = v.page
    assert v.errors == [] and v.blocked == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{name} {screen}: page is {width} px wide"
    # Open every closed <details> (checks, weights): still no sideways scroll.
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{name} {screen}, details open: {width} px"
    assert page.evaluate(CUT) == []


def test_derivation_steps_stack_on_a_phone(visit):
    page = visit("toy", PHONE).page
    boxes = page.eval_on_selector_all(
        "details.derivation[open] .step",
        """steps => steps.map(s => [...s.children].map(c => {
            const r = c.getBoundingClientRect();
            return [r.left, r.top, r.right, r.bottom];
        }))""",
    )
    assert len(boxes) > 20
    for lhs, rhs, why in boxes:
        assert rhs[1] >= lhs[3] - 1  # "= right side" under the left side
        assert why[1] >= rhs[3] - 1  # the reason under both
        assert why[2] - why[0] > 300  # the reason gets the full width


def test_steps_stay_in_a_row_on_a_desktop(visit):
    page = visit("toy", DESKTOP).page
    lhs, rhs, why = page.eval_on_selector_all(
        "details.derivation[open] .step",
        """steps => [...steps[0].children].map(c => c.getBoundingClientRect().left)""",
    )
    assert lhs < rhs < why


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_model_view_thumbnails_fit_the_width(visit, screen):
    page = visit("minilm", VIEWPORTS[screen]).page
    layout = page.locator("#model-view .mv-layout").bounding_box()
    cells = page.locator(".mv-cell")
    assert cells.count() == 6 * 12
    sizes = page.eval_on_selector_all(
        ".mv-cell svg", "ss => ss.map(s => s.getBoundingClientRect().width)"
    )
    assert min(sizes) >= 14
    last = page.locator('.mv-cell[data-layer="0"][data-head="11"]').bounding_box()
    if screen == "desktop":  # all 12 heads of a layer in view, at a readable size
        assert last["x"] + last["width"] <= layout["x"] + layout["width"]
        assert min(sizes) >= 40
        heatmap = page.locator("#mv-svg").bounding_box()
        assert heatmap["width"] >= 300  # the large heatmap is not squeezed
    else:  # a phone: as large as fits, else scrolling in the grid's own box
        scroller = page.locator("#model-view .mv-scroll")
        assert scroller.evaluate("e => e.scrollWidth <= e.clientWidth + 1") or (
            scroller.evaluate("e => getComputedStyle(e).overflowX") == "auto"
        )


def _inside(cell: dict, box: dict) -> bool:
    return (
        cell["x"] >= box["x"] - 1
        and cell["x"] + cell["width"] <= box["x"] + box["width"] + 1
    )


def test_neuron_view_keeps_labels_and_results_in_view(visit):
    page = visit("smollm2", DESKTOP).page
    box = page.locator("#nv-table")
    assert box.evaluate("e => e.scrollWidth > 3 * e.clientWidth")  # d_k = 64: wide
    row = page.locator("#nv-table tbody tr[data-key]").last
    cells = [
        row.locator(sel)
        for sel in ("td.key", '[data-role="score"]', '[data-role="scaled"]')
    ] + [row.locator('[data-role="weight"]')]
    for scroll in ("0", "e.scrollWidth / 2", "e.scrollWidth"):
        box.evaluate(f"e => {{ e.scrollLeft = {scroll}; }}")
        frame = box.bounding_box()
        for cell in cells:
            assert _inside(cell.bounding_box(), frame), scroll
    # the columns keep their order: key, vectors …, q·k, ÷√d_k, softmax
    xs = [cell.bounding_box()["x"] for cell in cells]
    assert xs == sorted(xs)
