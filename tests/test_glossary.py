"""The glossary of the Chinese text: its words are the seeds' own, and every
translation uses them."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = ROOT / "explainer" / "locale" / "glossary.toml"
PO = ROOT / "explainer" / "locale" / "zh" / "LC_MESSAGES" / "explainer.po"
SEEDS = ROOT.parent / "shared" / "seeds"

TERMS = tomllib.loads(GLOSSARY.read_text(encoding="utf-8"))["term"]


def test_each_english_term_has_one_chinese_word():
    seen: dict[str, str] = {}
    for term in TERMS:
        assert term["zh"] and term["en"], term
        for en in term["en"]:
            assert en.lower() not in seen, f"{en!r} twice in the glossary"
            seen[en.lower()] = term["zh"]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the seed tutorials are not here")
def test_the_chinese_words_are_the_seeds_own():
    seeds = "".join(p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt")))
    absent = [
        t["zh"] for t in TERMS if t["zh"] not in seeds and "not_in_seeds" not in t
    ]
    assert not absent, f"not in the seeds, and no not_in_seeds reason: {absent}"
    found = [t["zh"] for t in TERMS if t["zh"] in seeds and "not_in_seeds" in t]
    assert not found, f"in the seeds after all: drop not_in_seeds of {found}"


def _prose(msgid: str) -> str:
    """The words of a message a reader translates: no code, no placeholders,
    no markup."""
    text = re.sub(r"<code>.*?</code>|<i>.*?</i>|`[^`]*`", " ", msgid)  # code, titles
    text = re.sub(r"\{[^}]*\}|%\(\w+\)s|<[^>]+>", " ", text)
    # d_model, commands, options, and the functions of formulas: Sublayer(x)
    return re.sub(r"\b[\w.]+_\w+\b|\bexplainer \w+|\b\w+\(|--[\w-]+", " ", text)


def test_translations_use_the_glossary_words():
    from babel.messages.pofile import read_po

    with PO.open("rb") as f:
        catalog = read_po(f, locale="zh")
    wrong = []
    for m in catalog:
        if not m.id or not m.string:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strs = [m.string] if isinstance(m.string, str) else list(m.string)
        text = _prose(ids[-1])
        # the longest terms first: "rotary position embedding" is not checked
        # again as "position embedding", nor "self-attention" as "attention"
        for term in sorted(TERMS, key=lambda t: -max(map(len, t["en"]))):
            pattern = r"\b(" + "|".join(re.escape(e) for e in term["en"]) + r")\b"
            if re.search(pattern, text, re.IGNORECASE):
                wrong += [
                    f"{ids[-1]!r}: {s!r} lacks {term['zh']}"
                    for s in strs
                    if term["zh"] not in s
                ]
                text = re.sub(pattern, " ", text, flags=re.IGNORECASE)
    assert not wrong, "\n".join(wrong)
