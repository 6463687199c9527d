"""The words report.js writes into the attention views, in Chromium: Chinese on a
``--lang zh`` page (menus, labels, captions, the neuron view's table, the
legends' aria-labels), English on an English one; and the page's other
figures (the loss curve, the colour legends) follow the page's language."""

from __future__ import annotations

import re

import pytest
from browser_page import Visit, launch, sync_api

from explainer.cli import main

sync_api()

CJK = re.compile(r"[\u4e00-\u9fff]")

DRAWN = {  # what report.js draws → a CSS selector and what to read of it
    "layer menu": ("#v-layer option", "text"),
    "head menu": ("#v-head option", "text"),
    "head view labels": ("#hv-svg text.note", "text"),
    "model view labels": (".mv-label", "text"),
    "model view cells": (".mv-cell", "aria-label"),
    "model view cell titles": (".mv-cell", "title"),
    "heatmap caption": ("#mv-caption", "text"),
    "neuron view note": ("#nv-table p.note", "text"),
    "neuron view headings": ("#nv-table th", "text"),
    "neuron view legend": ("#nv-table .legend .bar", "aria-label"),
    "neuron view scale": ("#nv-table .legend .what", "text"),
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zh-browser")
    out = {}
    for lang in ("en", "zh"):
        path = folder / f"{lang}.html"
        argv = ["--lang", lang, "report", "--out", str(path)]
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
        out[lang] = path
    return out


@pytest.fixture(scope="module")
def browser():
    yield from launch()


def drawn(browser, path) -> dict[str, list[str]]:
    """Every text of :data:`DRAWN` on the page, after choosing all heads once
    (the captions of "all") and then head 1, query 1."""
    visit = Visit(browser, path)
    page = visit.page
    try:
        texts: dict[str, list[str]] = {}

        def read() -> None:
            for name, (selector, what) in DRAWN.items():
                for node in page.query_selector_all(selector):
                    value = (
                        node.text_content()
                        if what == "text"
                        else node.get_attribute(what)
                    ) or ""
                    texts.setdefault(name, []).append(value.strip())

        page.select_option("#v-head", "-1")
        read()
        page.select_option("#v-head", "1")
        page.select_option("#nv-query", "1")
        read()
        texts["errors"] = visit.errors
        return texts
    finally:
        visit.close()


def test_the_attention_views_script_writes_chinese(browser, pages):
    en, zh = drawn(browser, pages["en"]), drawn(browser, pages["zh"])
    assert zh.pop("errors") == [] and en.pop("errors") == []
    for name in DRAWN:
        assert zh[name] and len(zh[name]) == len(en[name]), name
        words = [w for w in en[name] if re.search(r"[A-Za-z]{3,}", w)]
        assert words, name  # English words on the English page
        for en_text, zh_text in zip(en[name], zh[name], strict=True):
            if re.search(r"[a-z]{3,} ", en_text):  # a phrase, not a symbol
                assert zh_text != en_text and CJK.search(zh_text), (name, zh_text)
    assert "第 0 层" in zh["layer menu"] and "全部" in zh["head menu"]
    assert any("注意力权重" in c for c in zh["heatmap caption"])
    assert any("均值" in c for c in zh["heatmap caption"])  # the glossary's mean
    assert any(c.startswith("颜色刻度：") for c in zh["neuron view legend"])
    assert "layer 0" in en["layer menu"] and "all" in en["head menu"]


def test_the_figures_follow_the_page(browser, pages):
    visit = Visit(browser, pages["zh"])
    try:
        page = visit.page
        bars = page.query_selector_all(".legend .bar[role=img]")
        labels = [b.get_attribute("aria-label") or "" for b in bars]
        assert labels and all(CJK.search(label) for label in labels), labels[:3]
        assert not any("colour scale" in label for label in labels)
        menu = page.inner_text("#v-kind")
        assert "编码器自注意力" in menu and "self-attention" not in menu
    finally:
        visit.close()


def sampling_words(browser, path) -> dict[str, str]:
    """What sampling.js writes: the summary at T = 0.5 with top-k 2, a bar cut by
    top-k, the top-p output left off, then the summary at T = 0 (greedy)."""
    visit = Visit(browser, path)
    page = visit.page
    try:

        def move(slider: str, value: str) -> None:
            page.eval_on_selector(
                slider,
                "(e, v) => { e.value = v; e.dispatchEvent(new Event('input')); }",
                value,
            )

        move("#sampling-t", "0.5")
        move("#sampling-k", "2")
        words = {
            "some": page.inner_text("#sampling-summary"),
            "cut": page.inner_text("#sampling-bars li:nth-child(3) .p"),
            "off": page.inner_text("#sampling-p-value"),
        }
        move("#sampling-t", "0")
        words["greedy"] = page.inner_text("#sampling-summary")
        assert visit.errors == []
        return words
    finally:
        visit.close()


def test_the_sampling_panels_script_writes_chinese(browser, pages):
    en, zh = sampling_words(browser, pages["en"]), sampling_words(browser, pages["zh"])
    assert en["some"].startswith("T = 0.50: 2 of ") and "tokens kept" in en["some"]
    assert en["cut"] == "0 (cut by top-k)" and en["off"] == "off"
    assert en["greedy"].startswith("T = 0: greedy.")
    assert zh["some"].startswith("T = 0.50：") and "个 token 中保留 2 个" in zh["some"]
    assert zh["cut"] == "0（被 top-k 去掉）" and zh["off"] == "关"
    assert zh["greedy"].startswith("T = 0：贪心。")
    for text in zh.values():
        assert not re.search(r"[a-z]{3,} [a-z]{3,}", text), text
