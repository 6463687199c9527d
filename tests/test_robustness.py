"""Hostile input: each case exits 2 with one line naming the value and the fix,
prints no traceback and leaves the user's files as they were (issue 12, point 6)."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
from cli_run import run

from explainer import config as config_mod
from explainer import trace_json
from explainer.config import ModelConfig, check_param_bytes


def one_line_error(code: int, err: str, *needles: str) -> None:
    """Exit 2, a single ``error:`` line holding every needle, no traceback."""
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# --- sizes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "needle"),
    [
        ("--d-model", "100000", "d_model (100000)"),
        ("--n-layers", "99999999999999999999999", "n_layers (99999999999999999999999)"),
        ("--d-ff", "10000000", "d_ff (10000000)"),
        ("--max-len", "10000000000", "max_len (10000000000)"),
        ("--d-k", "100000", "d_k (100000)"),
    ],
)
def test_sizes_have_upper_bounds(flag, value, needle, capsys):
    code, out, err = run(["trace", flag, value, "--n-heads", "1"], capsys)
    one_line_error(code, err, needle, f"({config_mod.MAX_SIZES[needle.split()[0]]})")
    assert out == ""


def test_weights_too_large_are_named_before_allocating(capsys):
    # 16384 wide, 16 heads, 2 + 2 layers: each layer holds at least 4 d_model²
    # float64 numbers (8 GiB), far above the 2 GiB limit; nothing is allocated.
    code, _, err = run(["trace", "--d-model", "16384", "--n-heads", "16"], capsys)
    one_line_error(code, err, "GiB", "limit is 2 GiB", "d_model")


def test_param_bytes_match_a_hand_count():
    # d_model 8, d_ff 32, vocab 100, 2 + 2 layers, post-norm (no final norm):
    # embedding 800; encoder layer 4·(64+8) + (256+32+256+8) + 2·16 = 872;
    # decoder layer 2·288 + 552 + 3·16 = 1176; total 800 + 2·872 + 2·1176 = 4896.
    assert check_param_bytes(ModelConfig(), 100) == 4896 * 8
    assert check_param_bytes(ModelConfig(dtype="float32"), 100) == 4896 * 4


# --- non-finite floats -------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_eps_must_be_finite(value, tmp_path, capsys):
    out_file = tmp_path / "t.json"
    code, out, err = run(["trace", "--eps", value, "--out", str(out_file)], capsys)
    one_line_error(code, err, "eps (", "> 0 and finite")
    assert out == "" and not out_file.exists()


def test_eps_inf_in_a_config_file_or_trace_is_rejected(tmp_path, capsys):
    toml = tmp_path / "m.toml"
    toml.write_text("eps = inf\n")
    code, _, err = run(["trace", "--config", str(toml)], capsys)
    one_line_error(code, err, "eps (inf)")
    data = trace_json.to_dict(_toy_trace())
    data["config"]["eps"] = float("inf")
    with pytest.raises(ValueError, match=r"eps \(inf\)"):
        trace_json.loads(json.dumps(data))  # Python writes it as Infinity


def _toy_trace():
    from explainer.run import trace_sentence

    return trace_sentence(ModelConfig(architecture="encoder"), "you win or you die")


# --- text -------------------------------------------------------------------------


def test_empty_target_names_target(capsys):
    code, _, err = run(["trace", "--target", ""], capsys)
    one_line_error(code, err, "target is empty", "--target")


BAD = b"caf\xc3 ok".decode("utf-8", "surrogateescape")  # as sys.argv holds it


@pytest.mark.parametrize("option", ["--sentence", "--target"])
def test_invalid_utf8_is_one_error_for_out_and_json(option, tmp_path, capsys):
    out_file = tmp_path / "t.json"
    out_file.write_text("old")
    for tail in (["--out", str(out_file)], ["--json"]):
        code, out, err = run(["trace", option, BAD, *tail], capsys)
        one_line_error(code, err, "not valid UTF-8", "byte 0xc3", option[2:])
        assert out == ""
    assert out_file.read_text() == "old"


def test_invalid_utf8_with_a_pretrained_model(capsys):
    # Checked before the model loads: its tokenizer never sees the text.
    code, _, err = run(["trace", "--model", "minilm", "--sentence", BAD], capsys)
    one_line_error(code, err, "not valid UTF-8")


def test_max_len_hint_counts_the_target_bos(capsys):
    # The sentence has 6 words; the encoder-decoder's target is <bos> + the same
    # 6 words = 7 tokens, so the hint must be 7 and following it must work.
    sentence = "you win or you die now"
    code, _, err = run(["trace", "--max-len", "5", "--sentence", sentence], capsys)
    one_line_error(code, err, "--max-len 7")
    code, _, err = run(["trace", "--max-len", "7", "--sentence", sentence], capsys)
    assert code == 0, err


# --- generate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--seed", "-1"], ["--seed", "-1"]),
        (["--temperature", "1e-320"], ["--temperature (1e-320)", "give 0"]),
        (["--temperature", "nan"], ["--temperature (nan)", "finite"]),
        (["--temperature", "inf"], ["--temperature (inf)", "finite"]),
        (["--temperature", "-1"], ["--temperature", "-1"]),
        (["--max-new-tokens", "-3"], ["--max-new-tokens", "-3"]),
        (["--top-p", "2"], ["--top-p", "2.0"]),
        (["--top-k", "0"], ["--top-k", "0"]),
        (["--prompt", BAD], ["prompt is not valid UTF-8"]),
    ],
)
def test_generate_checks_every_option_before_printing(argv, needles, recwarn, capsys):
    code, out, err = run(["generate", "--prompt", "Once upon a time", *argv], capsys)
    one_line_error(code, err, *needles)
    assert out == ""  # not even the prompt
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_tiny_temperature_is_rejected_by_the_library_too():
    from explainer.models.generate import MIN_TEMPERATURE, Sampling

    with pytest.raises(ValueError, match=r"temperature \(1e-320\)"):
        Sampling(temperature=1e-320)
    with pytest.raises(ValueError, match=r"seed \(-1\)"):
        Sampling(seed=-1)
    Sampling(temperature=MIN_TEMPERATURE)  # the smallest accepted


# --- files ------------------------------------------------------------------------


def test_report_out_equal_to_trace_is_refused(tmp_path, capsys, monkeypatch):
    trace_file = tmp_path / "t.json"
    trace_file.write_text(trace_json.dumps(_toy_trace()))
    before = trace_file.read_bytes()
    monkeypatch.chdir(tmp_path)
    for out in (str(trace_file), "t.json", "./t.json"):
        code, _, err = run(
            ["report", "--trace", "t.json", "--out", out, "--no-prove"], capsys
        )
        one_line_error(code, err, "is the --trace file", "give another --out")
    os.link(trace_file, tmp_path / "hard.json")  # the same file by another name
    code, _, err = run(["report", "--trace", "t.json", "--out", "hard.json"], capsys)
    one_line_error(code, err, "--trace file")
    assert trace_file.read_bytes() == before


def test_trace_out_equal_to_config_or_corpus_is_refused(tmp_path, capsys):
    toml = tmp_path / "m.toml"
    toml.write_text("d_model = 8\n")
    corpus = tmp_path / "c.txt"
    corpus.write_text("you win or you die\n")
    for flag, path in (("--config", toml), ("--corpus", corpus)):
        before = path.read_bytes()
        code, _, err = run(["trace", flag, str(path), "--out", str(path)], capsys)
        one_line_error(code, err, f"is the {flag} file")
        assert path.read_bytes() == before


def test_report_unwritable_out_is_found_before_the_work(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    code, _, err = run(["report", "--out", str(tmp_path / "f" / "r.html")], capsys)
    one_line_error(code, err, "is a file, not a folder")


def test_deeply_nested_json_is_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 200_000)
    for argv in (["verify"], ["report", "--out", str(tmp_path / "r.html")]):
        code, _, err = run([*argv, "--trace", str(deep)], capsys)
        one_line_error(code, err, "nested too deeply", "deep.json")
    assert not (tmp_path / "r.html").exists()


def test_deeply_nested_toml_is_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 200_000)
    code, _, err = run(["trace", "--config", str(deep)], capsys)
    one_line_error(code, err, "nested too deeply", "deep.toml")


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_derive_on_a_terminal_without_unicode(encoding):
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    done = subprocess.run(
        [sys.executable, "-m", "explainer", "derive", "softmax", "--no-check"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    text = done.stdout.decode("utf-8" if encoding == "ascii" else encoding)
    assert "/__," in text  # the Σ of the softmax's denominator, drawn in ASCII
    assert "─" not in text and "Σ" not in text


# --- the SmolLM2 cache -----------------------------------------------------------


def _poison(path, name: str) -> None:
    """Overwrite the first 16 numbers of tensor ``name`` in a safetensors file with
    NaN, in place (the file stays well-formed: only the numbers change)."""
    import struct

    import numpy as np

    with open(path, "r+b") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        start = json.loads(handle.read(size))[name]["data_offsets"][0]
        handle.seek(8 + size + start)
        handle.write(np.full(16, np.nan, np.float32).tobytes())


def test_nan_in_the_smollm2_cache_is_found_and_the_cache_rebuilt(
    tmp_path, monkeypatch, capsys
):
    import shutil

    import numpy as np
    from safetensors.numpy import load_file

    from explainer.models import load_model, smollm2

    if importlib.util.find_spec(smollm2.MODULE) is None:
        pytest.skip(f"model package missing: {smollm2.INSTALL}")
    good_weights, good_tokens, _ = smollm2._cached()
    good = load_file(str(good_weights))["decoder.3.ffn.w_up"]
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    for file in (good_weights, good_tokens):
        shutil.copy(file, tmp_path / file.name)
    _poison(tmp_path / good_weights.name, "decoder.3.ffn.w_up")
    smollm2._cached_in.cache_clear()
    load_model.cache_clear()
    try:
        code, out, err = run(
            ["generate", "-p", "The capital of France is", "--max-new-tokens", "2"],
            capsys,
        )
        assert code == 0, err
        assert out.startswith("The capital of France is") and out.strip() != (
            "The capital of France is"
        )  # the continuation, not nothing
        rebuilt = load_file(str(tmp_path / good_weights.name))["decoder.3.ffn.w_up"]
        np.testing.assert_array_equal(rebuilt, good)  # the cache was rebuilt
    finally:
        smollm2._cached_in.cache_clear()
        load_model.cache_clear()
        for file in tmp_path.iterdir():  # half a gigabyte: not kept by pytest
            file.unlink()


# --- a trace that names a pretrained model -----------------------------------------


def _minilm_config() -> dict:
    """MiniLM's config, written from its model card (all-MiniLM-L6-v2), not from
    the loader: 6 layers, 12 heads of 32, d_model 384, d_ff 1536, GELU."""
    return {
        "architecture": "encoder",
        "d_model": 384,
        "n_heads": 12,
        "d_k": 32,
        "d_v": 32,
        "d_ff": 1536,
        "n_layers": 6,
        "max_len": 512,
        "norm": "post",
        "activation": "gelu",
        "scale_embeddings": False,
        "eps": 1e-12,
        "seed": 0,
        "dtype": "float32",
        "model": "minilm",
    }


def _relabelled(tmp_path, **changes) -> str:
    """A toy trace whose config says MiniLM; ``changes`` edit the JSON after."""
    data = trace_json.to_dict(_toy_trace())
    data["config"] = _minilm_config()
    for key, value in changes.items():
        data[key] = value
    path = tmp_path / "relabelled.json"
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        ({}, ["carries weights of its own", "not minilm's"]),
        ({"params": {}}, ["is 8 wide, not minilm's d_model 384"]),
    ],
)
def test_a_toy_trace_labelled_minilm_is_named(changes, needles, tmp_path, capsys):
    from explainer.models import minilm

    if changes and importlib.util.find_spec(minilm.MODULE) is None:
        pytest.skip(f"model package missing: {minilm.INSTALL}")
    path = _relabelled(tmp_path, **changes)
    for argv in (["verify"], ["report", "--out", str(tmp_path / "r.html")]):
        code, _, err = run([*argv, "--trace", path], capsys)
        one_line_error(code, err, "config.model is 'minilm'", *needles)


def test_a_config_that_is_not_the_models_is_named(tmp_path, capsys):
    from explainer.models import minilm

    if importlib.util.find_spec(minilm.MODULE) is None:
        pytest.skip(f"model package missing: {minilm.INSTALL}")
    data = trace_json.to_dict(_toy_trace())
    data["config"] = {**_minilm_config(), "d_ff": 1000}
    data["params"] = {}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    code, _, err = run(["verify", "--trace", str(path)], capsys)
    one_line_error(code, err, "not minilm's", "d_ff 1000 (minilm: 1536)")


def test_trace_unwritable_out_is_found_before_the_pass(tmp_path, capsys, monkeypatch):
    from explainer.cli.options import Setup

    def never(self):
        raise AssertionError("the pass ran before the --out check")

    monkeypatch.setattr(Setup, "run", never)
    (tmp_path / "f").write_text("x")
    code, _, err = run(["trace", "--out", str(tmp_path / "f" / "t.json")], capsys)
    one_line_error(code, err, "is a file, not a folder")
    code, _, err = run(["trace", "--out", str(tmp_path)], capsys)
    one_line_error(code, err, "--out", "is a directory")  # Click checks this one


@pytest.mark.parametrize(
    ("flag", "what"), [("--config", "config"), ("--corpus", "corpus")]
)
def test_an_endless_or_binary_input_file_is_one_line(flag, what, tmp_path, capsys):
    code, _, err = run(["trace", flag, "/dev/zero"], capsys)  # never ends
    one_line_error(code, err, f"{what} file '/dev/zero' is larger than")
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"d_model = 8\n\xff\xfe")
    code, _, err = run(["trace", flag, str(binary)], capsys)
    one_line_error(code, err, "is not UTF-8 text (byte 13)")
    code, _, err = run(["trace", flag, str(tmp_path)], capsys)
    assert code == 2 and "Traceback" not in err  # a folder: Click or we name it


@pytest.mark.parametrize(
    "command", [["verify"], ["report"], ["render", "tokens", "--out-dir", "{tmp}"]]
)
def test_an_endless_trace_file_is_one_line(command, monkeypatch, tmp_path, capsys):
    from explainer.cli import verify_cmd

    monkeypatch.setattr(verify_cmd, "TRACE_LIMIT", 1 << 20)  # 1 GiB is slow to read
    command = [arg.format(tmp=tmp_path / "videos") for arg in command]
    code, _, err = run([*command, "--trace", "/dev/zero"], capsys)
    one_line_error(code, err, "trace file '/dev/zero' is larger than 1 MiB")
    binary = tmp_path / "t.json"
    binary.write_bytes(b'{"format": "\xff"}')
    code, _, err = run([*command, "--trace", str(binary)], capsys)
    one_line_error(code, err, "is not UTF-8 text (byte 13)")
