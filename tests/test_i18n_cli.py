"""The command line in Chinese beyond its own messages: the library's errors
(config, presets, tokenizer, models, weights files) reach the user as one
Chinese line with exit code 2, under ``--lang zh`` as under ``EXPLAINER_LANG=zh``,
and the English ones are unchanged."""

from __future__ import annotations

import json
import re

import click
import pytest
from cli_run import run

from explainer.cli import COMMANDS, cli
from explainer.cli.lang import in_language
from explainer.i18n import language

CJK = re.compile(r"[\u4e00-\u9fff]")

BAD_INPUT = {  # argv after the command → a value the message must name
    "d_model not divisible": (["trace", "--d-model", "7", "--n-heads", "2"], "7"),
    "unknown preset": (["trace", "--preset", "nope"], "'nope'"),
    "empty sentence": (["trace", "--sentence", " "], "--sentence"),
    "unknown dtype": (["trace", "--dtype", "float16"], "'float16'"),
    "unknown model": (["trace", "--model", "nope"], "'nope'"),
    "missing trace file": (["verify", "--trace", "/no/such.json"], "'/no/such.json'"),
    "missing out folder": (["report", "--out", "/no/such/r.html"], "'/no/such'"),
    "unknown derivation": (["derive", "attention"], "'attention'"),
    "target of a decoder": (
        ["trace", "--preset", "next-word", "--target", "a"],
        "--target",
    ),
    "too long": (["trace", "--sentence", "you " * 80], "--max-len 80"),
    "warm-up": (["train", "--steps", "10", "--warmup", "10"], "10"),
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


def _trace_text(**changes: object) -> str:
    """A trace file's text, as small as the reader takes, with ``changes``."""
    data = {
        "schema": "explainer-trace/1",
        "config": {},
        "tokens": {"source": {"tokens": [], "ids": []}},
        "params": {},
        "stages": [],
    }
    return json.dumps({**data, **changes})


BAD_TRACES = {  # the file's text → the English line, and words the Chinese one holds
    "not base64": (
        _trace_text(params={"embedding": {"shape": [2], "float32": "@@"}}),
        "{path}: param 'embedding': 'float32' is not base64",
        ["参数 'embedding'", "'float32' 不是 base64"],
    ),
    "missing field": (
        _trace_text(stages=[{"name": "x", "op": "add", "value": [1]}]),
        "{path}: stage #0: missing field 'inputs'",
        ["第 0 个阶段", "缺少字段 'inputs'"],
    ),
    "unknown op": (
        _trace_text(stages=[{"name": "x", "op": "zz", "inputs": [], "value": [1]}]),
        "{path}: stage 'x': unknown op 'zz'; valid ops: token_ids, ",
        ["阶段 'x'", "未知的运算 'zz'"],
    ),
    "not a list": (
        _trace_text(stages={}),
        "{path}: 'stages' must be a JSON list",
        ["'stages' 必须是 JSON 列表"],
    ),
    "bytes": (
        _trace_text(params={"embedding": {"shape": [3], "float32": "AAAA"}}),
        "{path}: param 'embedding': 3 bytes of float32 do not fill shape [3] "
        "(12 bytes)",
        ["3 字节的 float32 填不满形状 [3]（需要 12 字节）"],
    ),
    "not JSON": (
        '{"schema": 3',
        "{path} is not valid JSON: Expecting ',' delimiter: line 1 column 13 (char 12)",
        ["不是有效的 JSON", "第 1 行第 13 列，第 12 个字符"],
    ),
}


@pytest.mark.parametrize("command", ["report", "verify"])
@pytest.mark.parametrize("case", BAD_TRACES)
def test_a_bad_trace_file_is_one_chinese_line(case, command, tmp_path, capsys):
    text, english, chinese = BAD_TRACES[case]
    path = tmp_path / "t.json"
    path.write_text(text)
    argv = [command, "--trace", str(path)]
    if command == "report":
        argv += ["--out", str(tmp_path / "r.html")]
    code, out, en = run(["--lang", "en", *argv], capsys)
    assert code == 2 and out == "" and en.count("\n") == 1
    assert en.startswith("error: " + english.format(path=path)), en
    code, _, zh = run(["--lang", "zh", *argv], capsys)
    assert code == 2 and zh.count("\n") == 1 and zh.startswith(f"错误：{path}")
    assert all(words in zh for words in chinese), zh
    if case != "not JSON":  # the JSON parser's own words ("Expecting ',' …") stay
        assert not re.search(r"[a-z]+ [a-z]+ [a-z]+", zh), zh


BAD_DATASETS = {  # a pair's line → the English error, and the Chinese words
    "you win\t你 赢\t0-0 1-2": (
        "line 2: alignment '1-2': Chinese index 2 is out of range 0..1",
        "第 2 行：对齐 '1-2'：中文下标 2 超出范围 0..1",
    ),
    "you win\t你 赢\t0-0": (
        "line 2: English word 1 has no alignment entry; link it or mark it "
        "unaligned with '1-_'",
        "第 2 行：英文第 1 个词没有对齐项；请对齐它，或用 '1-_' 标为不对齐",
    ),
    "You win\t你 赢\t0-0 1-1": (
        "line 2: English 'You win' must be lower-case",
        "第 2 行：英文 'You win' 必须是小写",
    ),
}


@pytest.mark.parametrize("line", BAD_DATASETS)
def test_a_bad_dataset_line_is_named_in_chinese(line, tmp_path, capsys):
    english, chinese = BAD_DATASETS[line]
    path = tmp_path / "pairs.tsv"
    path.write_text(f"english\tchinese\talignment\n{line}\n")
    argv = ["train", "--dataset", str(path), "--out", str(tmp_path / "w.st")]
    code, _, en = run(["--lang", "en", *argv], capsys)
    assert code == 2 and en == f"error: dataset file {str(path)!r} {english}\n"
    code, _, zh = run(["--lang", "zh", *argv], capsys)
    assert code == 2 and zh == f"错误：数据集文件 {str(path)!r} {chinese}\n"
    assert not (tmp_path / "w.st").exists()


# --- --help ---------------------------------------------------------------------

HELPED = ["", *sorted(COMMANDS)]
"""The group (``explainer --help``) and every command."""


def help_texts(name: str, lang: str) -> dict[str, str]:
    """The command's help and each option's, as ``--help`` shows them in ``lang``."""
    command = cli if not name else cli.get_command(click.Context(cli), name)
    with language(lang):
        in_language(command)
        ctx = click.Context(command, info_name=name or "explainer")
        texts = {"": command.help}
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and isinstance(param, click.Option):
                texts[record[0]] = record[1]
    return texts


@pytest.mark.parametrize("name", HELPED)
def test_every_help_text_has_chinese(name):
    en, zh = help_texts(name, "en"), help_texts(name, "zh")
    assert en.keys() == zh.keys() and len(en) > 2  # the option names stay
    same = [option for option in en if en[option] == zh[option]]
    assert not same, same
    plain = [option for option in zh if not CJK.search(zh[option])]
    assert not plain, plain


@pytest.mark.parametrize("name", HELPED)
def test_help_is_chinese_under_lang_and_under_the_environment(
    name, capsys, monkeypatch
):
    argv = [name, "--help"] if name else ["--help"]
    code, zh, _ = run(["--lang", "zh", *argv], capsys)
    assert code == 0 and zh.startswith("用法:") and "选项:" in zh
    for line in zh.splitlines():
        prose = re.sub(r"^\s+(-\S+(,? -\S+)*( \[\S+\]| [A-Z_]+)?)?\s*", "", line)
        if prose.startswith("explainer ") or prose.startswith("--"):
            continue  # an example, a command as it is typed; a long option name
        assert not re.search(r"[A-Za-z]+ [a-z]+ [a-z]+", prose), line
    monkeypatch.setenv("EXPLAINER_LANG", "zh")
    code, env, _ = run(argv, capsys)
    assert code == 0 and env == zh
    monkeypatch.delenv("EXPLAINER_LANG")
    code, en, _ = run(["--lang", "en", *argv], capsys)
    assert (
        code == 0
        and en.startswith("Usage:")
        and not CJK.search(
            en.replace("我 爱 自然 语言", "").replace("我爱自然语言", "")
        )
    )


def test_a_usage_error_is_chinese(capsys):
    code, _, err = run(["--lang", "zh", "trace", "--nope"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("错误：没有选项 '--nope'。")


def test_the_trace_table_is_chinese_and_its_weights_line_too(capsys, monkeypatch):
    monkeypatch.setenv("EXPLAINER_LANG", "zh")
    code, out, _ = run(["trace"], capsys)  # the default: trained weights
    assert code == 0
    assert out.splitlines()[4].split() == ["阶段", "运算", "形状", "前几个值"]
    weights = out.splitlines()[-1]
    assert weights.startswith("权重：训练目标：把英语翻译成中文；")
    assert not re.search(r"[a-z]+ [a-z]+ [a-z]+", weights), weights
    monkeypatch.delenv("EXPLAINER_LANG")
    code, out, _ = run(["--lang", "en", "trace"], capsys)
    assert out.splitlines()[-1].startswith(
        "weights: trained to translate English into Chinese for "
    )


@pytest.mark.parametrize("width", [60, 80])
def test_chinese_help_fits_the_terminals_columns(width, capsys, monkeypatch):
    """A Chinese character takes two columns: --help wraps by columns (click
    counts characters), losing no word; examples stay as written."""
    import unicodedata

    from explainer.cli import help_width

    def columns(line: str) -> int:
        return sum(1 + (unicodedata.east_asian_width(c) in "WF") for c in line)

    monkeypatch.setenv("COLUMNS", str(width))
    for name in HELPED:
        argv = ["--lang", "zh", *([name] if name else []), "--help"]
        code, zh, _ = run(argv, capsys)
        assert code == 0
        wide = [
            line
            for line in zh.splitlines()
            if columns(line) > width - 2 and not line.startswith("    explainer ")
        ]
        assert not wide, wide
        monkeypatch.setattr(
            help_width.WideContext, "formatter_class", click.HelpFormatter
        )
        code, by_click, _ = run(argv, capsys)
        monkeypatch.undo()
        monkeypatch.setenv("COLUMNS", str(width))
        assert re.sub(r"\s", "", zh) == re.sub(r"\s", "", by_click)
