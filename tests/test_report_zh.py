"""The Chinese report: <html lang="zh">, Chinese prose in every section, no
English sentence left in the prose (formulas, tokens and code aside), and each
glossary term with its English in parentheses at its first use."""

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_run import run

ROOT = Path(__file__).resolve().parents[1]
TERMS = tomllib.loads(
    (ROOT / "explainer" / "locale" / "glossary.toml").read_text(encoding="utf-8")
)["term"]
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z][a-z'’-]+(?:[ ,;:]+[A-Za-z][a-z'’-]+){3,}")
"""An English sentence, or a piece of one: four words or more in a row."""

NOT_PROSE = {"code", "math", "script", "style", "title"}
NOT_PROSE_CLASSES = {"tok", "said", "target", "stages", "n", "source", "shape"}
# Words this session leaves in English, each with its reason.
STILL_ENGLISH: dict[str, str] = {}  # sections left in English: name → reason
STILL_ENGLISH_TEXT = [
    # the paper's title and the sentence
    r"Attention Is All You Need",
    r"When you play game of thrones",
]


class _Page(HTMLParser):
    """The text of the page by section (a stage's id, or the heading before it)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, bool]] = []
        self.section = "header"
        self.text: dict[str, list[str]] = {}
        self.lang = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag in ("section", "h2") and a.get("id"):
            self.section = a["id"]
        hidden = tag in NOT_PROSE or bool(
            NOT_PROSE_CLASSES & set((a.get("class") or "").split())
        )
        if tag not in ("br", "meta", "input", "rect", "line", "circle", "path"):
            self.open.append((tag, hidden))

    def handle_endtag(self, tag):
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not any(hidden for _, hidden in self.open):
            self.text.setdefault(self.section, []).append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    out = tmp_path_factory.mktemp("zh") / "report.html"
    from explainer.cli import main

    with pytest.raises(SystemExit) as done:
        main(["report", "--lang", "zh", "--backward", "--out", str(out)])
    assert done.value.code == 0
    return out.read_text(encoding="utf-8")


def _parsed(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


def test_the_page_says_it_is_chinese(page):
    assert _parsed(page).lang == "zh"
    assert ":lang(zh) body" in page  # templates/zh.css: CJK line breaking


def test_every_section_has_chinese_prose(page):
    sections = _parsed(page).text
    assert len(sections) > 20
    silent = [s for s, text in sections.items() if not CJK.search("".join(text))]
    assert not silent, f"sections without Chinese: {silent}"


def test_no_english_sentence_is_left_in_the_prose(page):
    left = []
    for section, texts in _parsed(page).text.items():
        if section in STILL_ENGLISH:
            continue
        for text in texts:
            for run_ in ENGLISH.findall(text):
                if not any(known in text for known in STILL_ENGLISH_TEXT):
                    left.append(f"{section}: {run_}")
    assert not left, "untranslated:\n" + "\n".join(sorted(set(left)))


def test_a_derivations_source_keeps_its_authors_and_sections(page):
    """The words of a citation are Chinese; authors, years, § and numbers stay."""
    assert "Vaswani et al. 2017，§3.2.1，式 1 和脚注 4；§3.2.3（掩码）" in page
    assert "Eq. 1 and footnote 4" not in page


def test_each_term_has_its_english_once_at_its_first_use(page):
    """In the paragraphs (<p>), a glossary term is first seen with its English in
    parentheses, or after it was given once before (in a list or a summary)."""
    text = re.sub(r"<(script|style|title)\b.*?</\1>", "", page, flags=re.S)
    # a derivation named again ("推导：多头注意力 — …: 见上文") is a title, not prose
    text = re.sub(r'<p class="note">推导：.*?</p>', "", text)
    text = re.sub(r'<p class="diagram-hint">.*?</p>', "", text)  # a column's name
    text = re.sub(r'<p class="source">.*?</p>', "", text)  # a citation
    text = re.sub(r"<p\b[^>]*>", "\x01", text).replace("</p>", "\x02")
    text = re.sub(r"<[^>]+>", "", text)
    in_p = [False] * len(text)
    inside = False
    for i, ch in enumerate(text):
        inside = (inside or ch == "\x01") and ch != "\x02"
        in_p[i] = inside
    used = []
    for term in TERMS:
        zh = term["zh"]
        if not term.get("annotate", True):
            continue  # an everyday word
        longer = [t["zh"] for t in TERMS if zh in t["zh"] and t["zh"] != zh]
        covered = [
            (m.start(), m.end())
            for other in longer
            for m in re.finditer(re.escape(other), text)
        ]
        free = [  # a use of the term itself, not inside a longer one
            m.start()
            for m in re.finditer(re.escape(zh), text)
            if not any(a <= m.start() < b for a, b in covered)
        ]
        in_prose = [at for at in free if in_p[at]]
        if not in_prose:
            continue  # only in headings and labels
        used.append(zh)
        noted = [
            m.start()
            for en in term["en"]
            for m in re.finditer(re.escape(f"{zh}（{en}）"), text)
        ]
        assert len(noted) == 1, f"{zh}: its English {len(noted)} times"
        assert noted[0] <= in_prose[0], (
            f"{zh} is used without its English before: "
            + text[max(0, in_prose[0] - 30) : in_prose[0] + 30]
        )
    assert len(used) > 20


def test_the_english_page_has_no_chinese_words(tmp_path, capsys):
    out = tmp_path / "en.html"
    argv = ["report", "--lang", "en", "--preset", "seed003", "--out", str(out)]
    code, _, _ = run(argv, capsys)  # seed003: no Chinese sentence nor target
    assert code == 0
    html = out.read_text(encoding="utf-8")
    assert '<html lang="en">' in html and ":lang(zh)" not in html
    assert "§3.2.1, Eq. 1 and footnote 4; §3.2.3 (masking)" in html
    from babel.messages.pofile import read_po

    po = ROOT / "explainer" / "locale" / "zh" / "LC_MESSAGES" / "explainer.po"
    with po.open("rb") as f:
        chinese = [
            m.string
            for m in read_po(f, locale="zh")
            if m.id and isinstance(m.string, str) and len(m.string) >= 8
        ]
    pieces = [
        piece
        for text in chinese
        for piece in re.split(r"%\(\w+\)s|\{\w*\}|<[^>]+>", text)
    ]
    found = [p for p in pieces if len(p) >= 8 and CJK.search(p) and p in html]
    assert not found, found[:5]
