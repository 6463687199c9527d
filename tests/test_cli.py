"""The command line: output, exit codes and one-line errors."""

import json
import os
import subprocess
import sys

import pytest
from cli_run import run

from explainer import trace_json


def test_trace_json_to_stdout_loads_back(capsys):
    code, out, _ = run(
        ["trace", "--sentence", "When you play game of thrones", "--json"], capsys
    )
    assert code == 0
    trace = trace_json.loads(out)
    assert trace.source.tokens[0] == "when"
    assert trace.config.architecture == "encoder-decoder"


def test_trace_summary_names_stages_and_prediction(capsys):
    code, out, _ = run(
        ["trace", "--architecture", "decoder", "-s", "我 爱 自然 语言"], capsys
    )
    assert code == 0
    assert "decoder.0.self_attn.weights" in out
    assert "predicted next token" in out
    assert "我(" in out


def test_trace_out_file_is_written(tmp_path, capsys):
    target = tmp_path / "trace.json"
    code, _, err = run(["trace", "--preset", "seed003", "--out", str(target)], capsys)
    assert code == 0 and "wrote" in err
    assert trace_json.loads(target.read_text()).config.d_model == 5


def test_flags_override_config_file_which_overrides_preset(tmp_path, capsys):
    cfg = tmp_path / "model.toml"
    cfg.write_text("d_model = 6\nn_heads = 3\nn_layers = 1\n")
    code, out, _ = run(
        [
            "trace",
            "--preset",
            "seed003",
            "--config",
            str(cfg),
            "--n-heads",
            "2",
            "--json",
        ],
        capsys,
    )
    assert code == 0
    conf = json.loads(out)["config"]
    assert (conf["d_model"], conf["n_heads"], conf["n_layers"]) == (6, 2, 1)
    assert conf["architecture"] == "encoder"  # from the preset
    assert conf["d_k"] == 3


def test_unknown_words_are_reported(capsys):
    code, _, err = run(["trace", "-s", "you play chess", "--json"], capsys)
    assert code == 0
    assert "'chess'" in err and "<unk>" in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["trace", "-s", ""], "empty"),
        (["trace", "-s", "   "], "empty"),
        (["trace", "-s", "you " * 70], "has 70 tokens but max_len is 64"),
        (
            ["trace", "--d-model", "7", "--n-heads", "2"],
            "n_heads (2) must divide d_model (7)",
        ),
        (["trace", "--d-model", "0"], "d_model (0) must be > 0"),
        (["trace", "--n-layers", "-2"], "n_layers (-2) must be > 0"),
        (["trace", "--architecture", "rnn"], "architecture 'rnn' is not one of"),
        (["trace", "--preset", "huge"], "unknown preset 'huge'"),
        (["trace", "--d-model", "abc"], "'abc' is not a valid integer"),
        (["trace", "--out", "/no/such/folder/t.json"], "folder '/no/such/folder'"),
        (["trace", "--config", "/no/such.toml"], "/no/such.toml"),
        (["trace", "--corpus", "/no/such.txt"], "/no/such.txt"),
        (
            ["trace", "--architecture", "encoder", "--target", "x"],
            "only read by an encoder-decoder",
        ),
        (["nonsense"], "No such command"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err and out == ""


def test_bad_toml_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("d_model = [")
    code, _, err = run(["trace", "--config", str(bad)], capsys)
    assert code == 2 and "not valid TOML" in err and err.count("\n") == 1


def test_failed_write_keeps_the_old_file(tmp_path, capsys):
    target = tmp_path / "trace.json"
    target.write_text("previous good content")
    code, _, _ = run(["trace", "-s", "", "--out", str(target)], capsys)
    assert code == 2
    assert target.read_text() == "previous good content"
    assert [p.name for p in tmp_path.iterdir()] == ["trace.json"]


def test_python_dash_m_and_console_script_help():
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [sys.executable, "-m", "explainer", "--help"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0 and "trace" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "explainer", "trace", "--d-model", "0"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "error: d_model (0) must be > 0"
