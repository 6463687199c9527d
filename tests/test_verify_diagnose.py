"""What a failing row tells a learner: the worst cell with its tokens, the
formula's value and the trace's there, the slip it looks like; mask rows count
their entries; every structural problem listed; ``--json`` always JSON; a closed
pipe is not a failed check.

Each slip is planted in the toy model's own NumPy ops (as in
test_verify_breaks.py); the expected values are read from a *correct* trace of the
same sentence (the first failing stage reads the same inputs in both), the
worst cell is found here with NumPy, independently of explainer.verify.diagnose.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
from cli_run import run

from explainer import numeric, trace_json
from explainer.config import ModelConfig
from explainer.run import trace_sentence
from explainer.verify import CheckResult, verify
from explainer.verify.structure import StructureError

SENTENCE = "When you play game of thrones"
DEFAULT = ModelConfig(n_layers=1)
_linear, _softmax, _layer_norm = numeric.linear, numeric.softmax, numeric.layer_norm


def minus_1e9(scores: np.ndarray, *allowed: np.ndarray) -> np.ndarray:
    ok = np.logical_and.reduce(np.broadcast_arrays(*allowed))
    return np.where(ok, scores, -1e9)  # the −1e9 of many tutorials


def unbiased_layer_norm(x, gamma, beta, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True, ddof=1)  # torch.var's default
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def sqrt_d_model(scores: np.ndarray, d_k: int) -> np.ndarray:
    return scores / math.sqrt(DEFAULT.d_model)


def transposed_square(x, w, b):
    """x Wᵀ + b where W is square (W_O): a weight stored as (out, in)."""
    return _linear(x, w.T if w.shape[0] == w.shape[1] else w, b)


def softmax_over_queries(x, axis=-1):
    return _softmax(x, axis=-2)


SLIPS: dict[str, tuple[str, Callable, str, str]] = {
    # name: (numeric op replaced, replacement, first stage it breaks, the hint)
    "−1e9 mask": (
        "apply_mask", minus_1e9, "decoder.0.self_attn.masked", "−1e9 instead of −∞",
    ),
    "n − 1 variance": (
        "layer_norm", unbiased_layer_norm, "encoder.0.norm1", "n − 1 in the variance",
    ),
    "√d_model": ("scale", sqrt_d_model, "encoder.0.self_attn.scaled", "√d_model"),
    "transposed W_O": (
        "linear", transposed_square, "encoder.0.self_attn.out", "weights transposed",
    ),
    "softmax over the queries": (
        "softmax", softmax_over_queries, "encoder.0.self_attn.weights", "wrong axis",
    ),
}  # fmt: skip


def first_failure(results: list[CheckResult]) -> CheckResult:
    return next(r for r in results if not r.ok and r.check == "formula")


@pytest.fixture(scope="module")
def correct():
    return trace_sentence(DEFAULT, SENTENCE)


@pytest.mark.parametrize("name", SLIPS)
def test_a_known_slip_is_named_at_its_worst_cell(name, correct, monkeypatch):
    op, replacement, stage, hint = SLIPS[name]
    monkeypatch.setattr(numeric, op, replacement)
    broken = trace_sentence(DEFAULT, SENTENCE)
    row = first_failure(verify(broken, derivations=False, precision=False))
    assert row.where.split(" [")[0] == stage
    assert row.hint.startswith("looks like: ") and hint in row.hint, row
    # The worst cell, found here: the largest |correct − broken| of the row's slice.
    want, got = np.asarray(correct[stage]), np.asarray(broken[stage])
    head = int(row.where.split("[head ")[1][:-1]) if "[head" in row.where else None
    if head is not None:
        want, got = want[head], got[head]
    diff = np.where(want == got, 0.0, np.abs(want - got))
    r, c = np.unravel_index(np.argmax(diff), diff.shape)
    tokens = (broken.target or broken.source).tokens
    if stage.startswith("encoder"):
        tokens = broken.source.tokens
    assert f"row {r} {tokens[r]!r}" in row.cell, row.cell
    assert row.cell.startswith(f"head {head}, ") == (head is not None)
    assert row.expected == pytest.approx(float(want[r, c]), rel=1e-12)
    assert row.actual == pytest.approx(float(got[r, c]), rel=1e-12)


def test_attention_columns_are_named_by_their_key_tokens(monkeypatch):
    monkeypatch.setattr(numeric, "softmax", softmax_over_queries)
    broken = trace_sentence(DEFAULT, SENTENCE)
    row = first_failure(verify(broken, derivations=False, precision=False))
    column = int(row.cell.split("column ")[1].split()[0])
    assert f"column {column} {broken.source.tokens[column]!r}" in row.cell


def test_an_unknown_slip_gets_a_cell_but_no_hint(correct):
    stage = "encoder.0.self_attn.scaled"
    data = trace_json.to_dict(correct)
    (entry,) = [s for s in data["stages"] if s["name"] == stage]
    entry["value"] = (np.asarray(correct[stage]) * 1.5).tolist()  # no known slip
    row = first_failure(verify(trace_json.from_dict(data), derivations=False))
    assert row.where.startswith(stage) and row.cell and row.hint == ""


def test_a_mask_row_counts_the_entries_that_differ(monkeypatch):
    monkeypatch.setattr(numeric, "causal_mask", lambda n: np.tri(n, n, 1, dtype=bool))
    broken = trace_sentence(DEFAULT, SENTENCE)
    row = first_failure(verify(broken, derivations=False, precision=False))
    n = len(broken.target.tokens)
    assert row.where == "decoder.0.self_attn.mask"
    assert (row.differ, row.entries) == (n - 1, n * n)  # the first superdiagonal
    assert row.max_abs_err == 1.0  # a mask entry is 0 or 1: not a count
    assert row.expected == 0.0 and row.actual == 1.0
    assert "one key ahead" in row.hint
    data = row.to_dict()
    assert (data["differ"], data["entries"]) == (n - 1, n * n)


def test_every_structural_problem_is_listed(correct, tmp_path, capsys):
    data = trace_json.to_dict(correct)
    gone = {"encoder.0.norm1", "decoder.0.ffn.out"}
    data["stages"] = [s for s in data["stages"] if s["name"] not in gone]
    with pytest.raises(StructureError) as raised:
        verify(trace_json.from_dict(data))
    missing = [p for p in raised.value.problems if "is missing" in p]
    assert len(missing) == 2 and all(any(g in p for p in missing) for g in gone)
    path = tmp_path / "holes.json"
    path.write_text(json.dumps(data))
    code, out, err = run(["verify", "--trace", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and all(f"'{g}' is missing" in err for g in gone)
    assert "Traceback" not in err
    code, out, _ = run(["verify", "--trace", str(path), "--json"], capsys)
    payload = json.loads(out)
    assert code == 2 and payload["ok"] is False and payload["error"]
    assert len(payload["problems"]) == len(raised.value.problems)


@pytest.mark.parametrize(
    "argv",
    [
        ["verify", "--json", "--trace", "/no/such/trace.json"],
        ["verify", "--json", "--d-model", "0"],
        ["verify", "--json", "--bogus"],
    ],
)
def test_json_is_printed_on_exit_2(argv, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    payload = json.loads(out)
    assert payload["ok"] is False
    assert err.startswith(f"error: {payload['error']}")  # the same, on stderr


def test_verify_into_a_closed_pipe_is_a_broken_pipe_not_a_failed_check():
    """``explainer verify | head``: the reader is gone before verify writes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "explainer", "verify", "--all", "--n-layers", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # like head after its lines: every write now fails
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141  # 128 + SIGPIPE, as a shell reports it
    assert "Traceback" not in err and err == ""


def tanh_gelu(x):
    """Hendrycks & Gimpel's tanh approximation, written out here."""
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_tanh_approximation_of_gelu_is_recognised(dtype, monkeypatch):
    monkeypatch.setattr(numeric, "gelu", lambda x: tanh_gelu(x).astype(x.dtype))
    cfg = DEFAULT.replace(activation="gelu", dtype=dtype)
    row = first_failure(verify(trace_sentence(cfg, SENTENCE), derivations=False))
    assert row.where == "encoder.0.ffn.activation"
    assert row.hint == "looks like: GELU's tanh approximation instead of x Φ(x)"


def test_the_report_shows_the_diagnosis_in_the_failing_section(monkeypatch):
    from explainer.report import render_report

    monkeypatch.setattr(numeric, "layer_norm", unbiased_layer_norm)
    broken = trace_sentence(DEFAULT, SENTENCE)
    row = first_failure(verify(broken, derivations=False, precision=False))
    html = render_report(broken, verify(broken, derivations=False, precision=False))
    assert f"worst at {row.cell}".replace("'", "&#39;") in html
    assert "looks like: n − 1 in the variance" in html
