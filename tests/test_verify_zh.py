"""``explainer verify --lang zh``: the names of the checks, where they ran and why
they failed are Chinese in the table and the summary, while the results
(``--json``, ``/api/verify``) are the same in every language; the English table
is unchanged."""

from __future__ import annotations

import copy
import json
import pickle
import re

import numpy as np
import pytest
from cli_run import run

import explainer.verify.derivations as verify_derivations
from explainer import numeric, trace_json
from explainer.config import ModelConfig
from explainer.i18n import language
from explainer.run import trace_sentence
from explainer.verify import verify
from explainer.wording import Words, shown, words

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z][a-z'’-]+(?:[ ,;:]+[A-Za-z][a-z'’-]+){2,}")
"""Three English words in a row: a phrase left untranslated."""


@pytest.fixture(autouse=True)
def proof_cache(monkeypatch, tmp_path_factory):
    """Proved derivations are remembered in this session's temporary folder."""
    folder = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv(verify_derivations.NO_CACHE, raising=False)


def columns(out: str) -> list[list[str]]:
    """The table's rows split into their cells (two spaces or more apart)."""
    rows = out.splitlines()[2:-1]
    return [re.split(r"\s{2,}", row.strip()) for row in rows if row.strip()]


def test_the_chinese_table_names_every_check_in_chinese(capsys):
    argv = ["verify", "--preset", "seed003", "--all"]
    code, zh, _ = run(["--lang", "zh", *argv], capsys)
    assert code == 0
    code, en, _ = run(["--lang", "en", *argv], capsys)
    assert code == 0
    zh_rows, en_rows = columns(zh), columns(en)
    assert len(zh_rows) == len(en_rows) > 50
    # The identities and the tokens' checks: every English name has a Chinese one.
    for zh_row, en_row in zip(zh_rows, en_rows, strict=True):
        kind, name = en_row[0], en_row[1]
        if ENGLISH.search(name):  # a phrase, not an op's code name (scale_embedding)
            assert CJK.search(zh_row[1]), (en_row, zh_row)
            assert not ENGLISH.search(zh_row[1]), zh_row
        assert zh_row[0] != kind or kind == "token", (en_row, zh_row)
    left = [cell for row in zh_rows for cell in row if ENGLISH.search(cell)]
    assert not left, left[:5]
    assert "softmax：每行之和为 1" in zh and "被掩码的键权重恰好为 0" in zh
    assert re.search(r"\[头 \d+\]", zh) and "符号推导" in zh
    # The English run is as it was.
    assert "softmax: each row sums to 1" in en
    assert "masked keys get weight exactly 0" in en
    assert re.search(r"\[head \d+\]", en) and not CJK.search(en)


def test_the_json_is_the_same_in_every_language(capsys):
    argv = ["verify", "--preset", "seed003", "--json"]
    code, en, _ = run(["--lang", "en", *argv], capsys)
    assert code == 0
    code, zh, _ = run(["--lang", "zh", *argv], capsys)
    assert code == 0
    assert zh == en and not CJK.search(zh)
    names = {r["formula"] for r in json.loads(en)["results"]}
    assert "softmax: each row sums to 1" in names


def broken_file(tmp_path) -> str:
    """seed003's trace with the scaled scores of one layer doubled."""
    from explainer.config import from_dict
    from explainer.presets import get_preset

    preset = get_preset("seed003")
    trace = trace_sentence(from_dict(dict(preset.config)), preset.sentence)
    data = json.loads(trace_json.dumps(trace))
    (stage,) = [s for s in data["stages"] if s["name"] == "encoder.0.self_attn.scaled"]
    stage["value"] = [[[v * 2 for v in row] for row in head] for head in stage["value"]]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_a_failure_is_explained_in_chinese(tmp_path, capsys):
    path = broken_file(tmp_path)
    code, zh, _ = run(["verify", "--lang", "zh", "--trace", path], capsys)
    assert code == 1
    failed = [line for line in zh.splitlines() if line.startswith("失败 ")]
    assert failed
    assert failed[0].startswith("失败 公式 scale: encoder.0.self_attn.scaled")
    # The worst cell: its head, row and column with their tokens, in Chinese.
    worst = next(line for line in zh.splitlines() if "最差处" in line)
    assert re.search(r"头 \d+, 第 \d+ 行 '.+', 第 \d+ 列 '.+'", worst), worst
    # Every line of the summary, the hint too, is Chinese.
    assert not any(ENGLISH.search(line) for line in zh.splitlines()), zh


def test_a_known_slip_is_named_in_chinese(monkeypatch):
    """The hint of a √d_model slip, shown in either language."""

    def sqrt_d_model(scores, d_k):
        return np.asarray(scores) / np.sqrt(d_k * 4)

    cfg = ModelConfig(n_layers=1, d_model=16, n_heads=4)
    monkeypatch.setattr(numeric, "scale", sqrt_d_model)
    broken = trace_sentence(cfg, "you win or you die")
    row = next(r for r in verify(broken, derivations=False) if not r.ok)
    assert row.hint == "looks like: √d_model instead of √d_k"
    with language("zh"):
        assert shown(row.hint) == "看起来像：用了 √d_model 而不是 √d_k"
        assert shown(row.cell).startswith("头 ")


def test_words_are_english_text_that_survives_copies():
    text = words("{n} of {m}", n=words("head {h}", h=2), m="x")
    assert text == "head 2 of x" and json.dumps(text) == '"head 2 of x"'
    for again in (copy.deepcopy(text), pickle.loads(pickle.dumps(text))):
        assert again == text and isinstance(again, Words)
        assert again.values["n"].values == {"h": 2}
