"""explain()'s notebook output in a real browser (Debian's Chromium, Playwright):
the HTML a notebook shows, twice, inside a tall host page as a notebook would
have it. The frame fits its page, and an in-page link scrolls the host to its
target without loading anything into the frame.
"""

from pathlib import Path

import pytest

from explainer import explain

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "Debian's chromium is not installed at /usr/bin/chromium "
        "(scripts/setup.sh installs it)",
        allow_module_level=True,
    )

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
FILLER = "<p style='height: 700px'>an earlier cell</p>"


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    report = explain("you win or you die", n_layers=1)
    cells = [report._repr_html_(), report._repr_html_()]  # the same report twice
    page = "".join(
        f"<div class='cell'>{FILLER}{out}</div>" for out in cells
    )  # a notebook's outputs, one after the other
    path = tmp_path_factory.mktemp("notebook") / "host.html"
    path.write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>host</title></head>"
        f"<body>{page}{FILLER}</body></html>",
        "utf-8",
    )
    return path


@pytest.fixture(scope="module")
def page(host):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "console",
            lambda m: errors.append(m.text) if m.type in ("error", "warning") else None,
        )
        page.goto(host.as_uri())
        page.wait_for_load_state("load")
        page.errors = errors
        yield page
        browser.close()


def frames(page) -> list:
    handles = page.locator("iframe").element_handles()
    return [(h, h.content_frame()) for h in handles]


def content_height(frame) -> float:
    return frame.evaluate("document.documentElement.scrollHeight")


def fits(page) -> bool:
    """Every frame as tall as its page (to a pixel), with nothing to scroll inside."""
    for handle, frame in frames(page):
        inner = handle.evaluate("f => f.clientHeight")
        if abs(inner - content_height(frame)) > 1:
            return False
        if frame.evaluate("document.scrollingElement.scrollTop") != 0:
            return False
    return True


def wait_until(page, check, timeout_s: float = 10.0) -> bool:
    for _ in range(int(timeout_s / 0.1)):
        if check():
            return True
        page.wait_for_timeout(100)
    return check()


def test_each_frame_fits_its_page(page):
    assert len(frames(page)) == 2
    assert wait_until(page, lambda: fits(page))
    for handle, frame in frames(page):
        assert content_height(frame) > 2000  # the whole report, not the 900 px default
        assert abs(handle.evaluate("f => f.clientHeight") - content_height(frame)) <= 1
    # opening a closed derivation makes the page taller: the frame follows
    handle, frame = frames(page)[1]
    before = content_height(frame)
    opened = frame.evaluate(
        """() => { const d = document.querySelector('details:not([open])');
                   if (!d) return false; d.open = true; return true; }"""
    )
    assert opened
    grew = wait_until(page, lambda: content_height(frame) > before and fits(page))
    assert grew, (
        before,
        [
            (h.evaluate("f => f.clientHeight"), content_height(f))
            for h, f in frames(page)
        ],
    )
    assert page.errors == []


@pytest.mark.parametrize("link", ['nav.toc a[href="#part-output"]', "svg a"])
def test_an_in_page_link_scrolls_the_host_to_its_target(page, link):
    url = page.url
    handle, frame = frames(page)[1]  # the second output: ids must not clash
    wait_until(page, lambda: fits(page))
    anchor = frame.locator(link).first
    target_id = anchor.evaluate(
        "a => (a.getAttribute('href') || a.getAttribute('xlink:href')).slice(1)"
    )
    page.evaluate("window.scrollTo(0, 0)")
    anchor.click()

    def target_top() -> float:
        """The target's top edge in the host's viewport, in px."""
        inside = frame.evaluate(
            "id => document.getElementById(id).getBoundingClientRect().top", target_id
        )
        return handle.bounding_box()["y"] + 1 + inside  # 1: the frame's border

    assert wait_until(page, lambda: abs(target_top()) <= 2), target_top()
    assert page.url == url  # the host did not navigate
    assert frame.url == "about:srcdoc"  # nor did the frame
    assert frame.evaluate("document.title").startswith("Transformer, step by step")
    assert frame.evaluate("document.scrollingElement.scrollTop") == 0
    assert page.errors == []
