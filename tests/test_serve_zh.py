"""The live page (``explainer serve --lang zh``) in Chinese: its form, its model
picker and the words its script writes are Chinese, its ``lang`` is zh, and the
English page keeps its English words."""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from explainer import i18n
from explainer.serve.page import render_page

ROOT = Path(__file__).resolve().parents[1]
HAN = re.compile(r"[\u4e00-\u9fff]")
GLOSSARY = {
    t["en"][0]: t["zh"]
    for t in tomllib.loads(
        (ROOT / "explainer" / "locale" / "glossary.toml").read_text(encoding="utf-8")
    )["term"]
}


class Page(HTMLParser):
    """The words a learner reads on the live page: the text of each element of
    the form (by tag), its attributes, and the <html> element's."""

    WORDS = ("title", "label", "legend", "button", "option")

    def __init__(self, html: str) -> None:
        super().__init__()
        self.attrs: dict[str, dict[str, str]] = {}
        self.text: dict[str, list[str]] = {tag: [] for tag in self.WORDS}
        self._open: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        key = attrs.get("id", tag)
        self.attrs[key] = attrs
        if tag in self.WORDS:
            self._open.append(tag)
            self.text[tag].append("")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        if self._open:
            tag = self._open[-1]
            self.text[tag][-1] += data


KEPT = ("top-k", "top-p")
"""Labels that are the sampling rules' names, the same in every language."""


def rendered(lang: str) -> Page:
    with i18n.language(lang):
        return Page(render_page("you win", "<p>the report</p>"))


def test_zh_page_is_marked_chinese_and_styled_for_it():
    zh, en = rendered("zh"), rendered("en")
    assert zh.attrs["html"]["lang"] == "zh"
    assert en.attrs["html"]["lang"] == "en"
    with i18n.language("zh"):
        html = render_page("you win", "")
    assert ":lang(zh) body" in html  # CJK line breaking and fonts (zh.css)
    with i18n.language("en"):
        assert ":lang(zh)" not in render_page("you win", "")


def test_zh_form_labels_are_chinese():
    page = rendered("zh")
    labels = [" ".join(t.split()) for t in page.text["label"]]
    # the glossary's word for the sentence box, and no English words besides
    # the names kept as they are (top-k, top-p, T, token)
    assert labels[0] == GLOSSARY["sentence"]
    for words in (
        labels + page.text["legend"] + page.text["button"] + page.text["title"]
    ):
        if words in KEPT:
            continue
        assert HAN.search(words), words
        rest = re.sub(r"top-[kp]|token|SmolLM2|Transformer|\bT\b", "", words)
        assert not re.search(r"[A-Za-z]{3,}", rest), words
    assert all(HAN.search(o) for o in page.text["option"])
    assert HAN.search(page.attrs["live-report"]["title"])
    assert HAN.search(page.attrs["live-top-k"]["placeholder"])


def test_script_words_are_chinese_with_the_same_placeholders():
    zh, en = rendered("zh").attrs["live-form"], rendered("en").attrs["live-form"]
    words = {k: v for k, v in en.items() if k.startswith("data-")}
    assert words
    for name, english in words.items():
        assert HAN.search(zh[name]), name
        assert sorted(re.findall(r"\{\w+\}", zh[name])) == sorted(
            re.findall(r"\{\w+\}", english)
        ), name


def test_script_reads_only_words_the_page_has():
    script = (ROOT / "templates" / "live.js").read_text(encoding="utf-8")
    used = set(re.findall(r'words\("(\w+)"', script))
    given = {
        re.sub(r"-(\w)", lambda m: m.group(1).upper(), k.removeprefix("data-"))
        for k in rendered("en").attrs["live-form"]
        if k.startswith("data-")
    }
    assert used == given


@pytest.mark.parametrize(
    "tag, english",
    [
        ("title", ["Transformer explainer · live"]),
        (
            "label",
            [
                "Sentence",
                "Model",
                "new tokens",
                "temperature T",
                "top-k",
                "top-p",
                "seed",
            ],
        ),
        ("button", ["Trace", "Generate"]),
        (
            "legend",
            [
                "how generate picks each token (SmolLM2; the toy presets "
                "always pick the most probable)"
            ],
        ),
        (
            "option",
            [
                "default (toy encoder-decoder, trained: translates English → Chinese)",
                "next-word (toy decoder, trained: predicts the next word)",
                "seed003 (toy encoder, random weights)",
                "MiniLM (pretrained encoder)",
                "SmolLM2 (pretrained)",
            ],
        ),
    ],
)
def test_english_page_keeps_its_words(tag, english):
    assert [" ".join(t.split()) for t in rendered("en").text[tag]] == english


def test_english_script_words():
    form = rendered("en").attrs["live-form"]
    assert form["data-tracing"] == "tracing…"
    assert form["data-traced"] == "traced: {sentence}"
    assert form["data-generated"] == "generated {n} tokens"
    assert form["data-step"] == (
        "Step {step}: the {n} most probable tokens, p = softmax(z / T) before "
        "top-k and top-p (T = 1 when greedy). It took {token}."
    )


def test_errors_the_page_shows_are_chinese():
    from explainer.serve.errors import ApiError
    from explainer.serve.inputs import text

    for lang, expected in (("zh", HAN), ("en", re.compile("^the sentence is empty"))):
        with i18n.language(lang), pytest.raises(ApiError) as caught:
            text({"sentence": "   "}, "sentence")
        assert expected.search(caught.value.message), caught.value.message
