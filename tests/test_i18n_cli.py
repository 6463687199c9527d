"""The command line in Chinese beyond its own messages: the library's errors
(config, presets, tokenizer, models, weights files) reach the user as one
Chinese line with exit code 2, under ``--lang zh`` as under ``EXPLAINER_LANG=zh``,
and the English ones are unchanged."""

from __future__ import annotations

import re

import pytest
from cli_run import run

CJK = re.compile(r"[\u4e00-\u9fff]")

BAD_INPUT = {  # argv after the command → a value the message must name
    "d_model not divisible": (["trace", "--d-model", "7", "--n-heads", "2"], "7"),
    "unknown preset": (["trace", "--preset", "nope"], "'nope'"),
    "empty sentence": (["trace", "--sentence", " "], "--sentence"),
    "unknown dtype": (["trace", "--dtype", "float16"], "'float16'"),
    "unknown model": (["trace", "--model", "nope"], "'nope'"),
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_a_bad_input_is_one_chinese_line_with_exit_2(case, capsys, monkeypatch):
    argv, value = BAD_INPUT[case]
    code, out, en = run(["--lang", "en", *argv], capsys)
    assert code == 2 and out == ""
    assert en.startswith("error: ") and not CJK.search(en)
    code, _, zh = run(["--lang", "zh", *argv], capsys)
    assert code == 2
    assert zh.count("\n") == 1 and zh.startswith("错误：") and "Traceback" not in zh
    assert value in zh and CJK.search(zh.removeprefix("错误："))
    # Not a word of the English message is left, apart from the value and names.
    assert not re.search(r"[a-z]+ [a-z]+ [a-z]+", zh), zh
    monkeypatch.setenv("EXPLAINER_LANG", "zh")
    code, _, env = run(argv, capsys)
    assert code == 2 and env == zh


def test_a_file_that_is_not_weights_is_named_in_chinese(tmp_path, capsys):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"not weights at all")
    code, _, err = run(["--lang", "zh", "trace", "--weights", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert str(path) in err and "不是 safetensors 文件" in err


def test_a_bad_config_file_is_named_in_chinese(tmp_path, capsys):
    path = tmp_path / "c.toml"
    path.write_text("d_modle = 8\n")
    code, _, err = run(["--lang", "zh", "trace", "--config", str(path)], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "未知的配置键 'd_modle'" in err
