"""The live page in a real browser (Debian's Chromium, driven by Playwright; no
browser download) against ``explainer serve`` started by the test: a new
sentence swaps its report in without a reload, the head view follows, generate
shows the tokens as they arrive, an error shows in place, and the page asks
nothing of any other server."""

from __future__ import annotations

import re

import pytest
from browser_page import ARGS, CHROMIUM, sync_api
from serve_process import serve

api = sync_api()

TIMEOUT = 120_000  # ms: a report on a shared 2-core machine


@pytest.fixture(scope="module")
def server():
    yield from serve()


@pytest.fixture(scope="module")
def browser():
    with api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def visit(browser, server):
    """The live page; every request not to the server is refused and recorded."""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    elsewhere: list[str] = []
    problems: list[str] = []

    def route(r) -> None:
        url = r.request.url
        if url.startswith((server, "about:", "data:")):
            r.continue_()
        else:
            elsewhere.append(url)
            r.abort()

    page.route("**/*", route)
    # A 4xx is an answer the page shows in place; Chromium logs it all the same.
    expected = "the server responded with a status of 4"
    page.on(
        "console",
        lambda m: (
            m.type == "error" and expected not in m.text and problems.append(m.text)
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(server)
    yield page
    page.close()
    assert elsewhere == []
    assert problems == []  # no script error, no CSP violation


def frame_text(page, selector: str) -> str:
    element = page.frame_locator("#live-report").locator(selector).first
    return element.text_content() or ""


def test_a_new_sentence_swaps_its_report_in_without_a_reload(visit):
    page = visit
    page.evaluate("window.stayed = true")  # lost if the page reloaded
    assert "game" in frame_text(page, "table.tokens")
    heads_before = frame_text(page, "#hv-svg")
    page.fill("#live-sentence", "you win or you die")
    page.click("#live-trace")
    api.expect(page.locator("#live-status")).to_have_text(
        re.compile("^traced"), timeout=TIMEOUT
    )
    tokens = frame_text(page, "table.tokens")
    assert "win" in tokens and "die" in tokens and "game" not in tokens
    assert frame_text(page, "#hv-svg") != heads_before  # the head view's tokens
    assert "你 赢 或者 你 死" in frame_text(page, "#the-sentence")
    assert page.evaluate("window.stayed") is True


def test_generate_shows_the_tokens_as_they_arrive(visit):
    page = visit
    page.fill("#live-sentence", "When you play game of thrones")
    page.evaluate(  # every text the tokens line shows, one after another
        """window.seen = [];
        new MutationObserver(function (records) {
          records.forEach(function (r) {
            r.addedNodes.forEach(function (n) { window.seen.push(n.textContent); });
          });
        }).observe(document.getElementById("live-tokens"), {childList: true});"""
    )
    page.click("#live-generate")
    api.expect(page.locator("#live-status")).to_have_text(
        re.compile("^generated"), timeout=TIMEOUT
    )
    shown = page.inner_text("#live-tokens")
    assert shown == "when you play game of thrones → 当 你 玩 权力 的 游戏"
    words = ["当", "你", "玩", "权力", "的", "游戏"]
    arrived = [s for s in page.evaluate("window.seen") if s]
    assert arrived == [
        " ".join(["when you play game of thrones →", *words[:n]])
        for n in range(len(words) + 1)
    ]  # one token at a time
    assert page.inner_text("#live-top-caption").startswith(
        "Step 6: the 5 most probable tokens"
    )
    page.fill("#live-new-tokens", "2")  # read for the toy presets too
    page.click("#live-generate")
    api.expect(page.locator("#live-status")).to_have_text(
        "generated 2 tokens", timeout=TIMEOUT
    )
    assert page.inner_text("#live-tokens") == "when you play game of thrones → 当 你"
    rows = page.locator("#live-top li")  # the last step's distribution
    assert rows.count() == 5
    assert rows.first.inner_text().startswith('"你"')
    assert page.inner_text("#live-top-caption").endswith('It took "你".')


def test_an_error_shows_in_place(visit):
    page = visit
    page.select_option("#live-model", "model:minilm")
    page.fill("#live-sentence", "The quick brown fox")
    page.click("#live-generate")
    status = page.locator("#live-status.error")
    status.wait_for(timeout=TIMEOUT)
    assert "minilm is an encoder: it does not generate text" in status.inner_text()


def test_sampling_controls_reach_smollm2(visit):
    """The same text as ``explainer generate -p "Once upon a time"
    --max-new-tokens 4 --temperature 0.8 --top-p 0.9 --seed 1`` (see
    test_serve_api.py, which compares the two)."""
    page = visit
    assert page.locator("#live-temperature").is_disabled()  # a toy preset is chosen
    page.select_option("#live-model", "model:smollm2")
    assert not page.locator("#live-temperature").is_disabled()
    page.fill("#live-sentence", "Once upon a time")
    page.fill("#live-temperature", "0.8")
    page.fill("#live-top-p", "0.9")
    page.fill("#live-seed", "1")
    page.fill("#live-new-tokens", "4")
    page.click("#live-generate")
    api.expect(page.locator("#live-status")).to_have_text(
        "generated 4 tokens", timeout=TIMEOUT
    )
    assert page.inner_text("#live-tokens") == "Once upon a time, there was a"


def test_the_sampling_panel_follows_the_temperature_and_each_new_trace(visit, server):
    """The report's sampling panel works in the frame (its script runs under the
    page's policy); a new sentence brings its own logits, whose probabilities
    are those of the trace /api/trace gives for it."""
    page = visit
    frame = page.frame_locator("#live-report")
    winner = frame.locator("#sampling-bars li").first
    before = float(winner.get_attribute("data-p"))
    frame.locator("#sampling-t").fill("1.8")  # flatter: the winner loses some
    assert float(winner.get_attribute("data-p")) < before
    assert frame.locator("#sampling-summary").inner_text().startswith("T = 1.80:")
    page.select_option("#live-model", "preset:next-word")
    page.fill("#live-sentence", "when you")
    page.click("#live-trace")
    api.expect(page.locator("#live-status")).to_have_text(
        re.compile("^traced"), timeout=TIMEOUT
    )
    assert "(“you”)" in frame.locator("#sampling .explain").first.inner_text()
    assert frame.locator("#sampling-t").input_value() == "1"  # a fresh panel
    body = {"sentence": "when you", "preset": "next-word"}
    trace = page.request.post(server + "api/trace", data=body).json()
    probs = next(s for s in trace["stages"] if s["name"] == "output.probs")["value"]
    rows = frame.locator("#sampling-bars li")
    for r in range(rows.count()):
        token = int(rows.nth(r).get_attribute("data-id"))
        shown = float(rows.nth(r).get_attribute("data-p"))
        assert shown == pytest.approx(probs[-1][token], rel=1e-9, abs=1e-15)


def test_on_a_phone_the_page_scrolls_not_sideways_and_the_form_scrolls_away(visit):
    page = visit
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    position = "getComputedStyle(document.querySelector('.live')).position"
    assert page.evaluate(position) == "static"  # it would cover the report
