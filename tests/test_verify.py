"""explainer.verify and ``explainer verify``: every check passes on the traces the
forward pass makes, results name their layer and head, the JSON output's shape,
the derivation-proof cache, and the exit codes (0 all pass, 1 a failure, 2 bad
input, with one-line errors)."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from cli_run import run

import explainer.verify.derivations as verify_derivations
from explainer import trace_json
from explainer.config import ACTIVATIONS, ARCHITECTURES, DTYPES, NORMS, ModelConfig
from explainer.config import from_dict as config_from_dict
from explainer.presets import get_preset
from explainer.run import trace_sentence
from explainer.symbolic import derivation as symbolic_derivation
from explainer.symbolic import list_derivations
from explainer.trace import Op
from explainer.verify import TOLERANCE, CheckResult, summary_line, verify
from explainer.verify.formulas import FORMULAS

SENTENCE = "When you play game of thrones"
RESULT_KEYS = {
    "check", "formula", "where", "max_abs_err", "tol", "ok", "skipped", "detail",
    "cell", "expected", "actual", "hint", "differ", "entries", "status",
}  # fmt: skip


@pytest.fixture(autouse=True)
def proof_cache(monkeypatch, tmp_path_factory):
    """Proved derivations are remembered in this session's temporary folder, not
    in the user's ~/.cache."""
    folder = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    monkeypatch.delenv(verify_derivations.NO_CACHE, raising=False)
    return folder


def seed003():
    preset = get_preset("seed003")
    return trace_sentence(config_from_dict(dict(preset.config)), preset.sentence)


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok]


# --- every check passes on correct traces ------------------------------------------

VARIANTS = list(itertools.product(ARCHITECTURES, NORMS, ACTIVATIONS, DTYPES))


@pytest.mark.parametrize(
    ("architecture", "norm", "activation", "dtype"),
    VARIANTS,
    ids=["-".join(v) for v in VARIANTS],
)
def test_all_checks_pass(architecture, norm, activation, dtype):
    cfg = ModelConfig(
        architecture=architecture, norm=norm, activation=activation, dtype=dtype
    )
    trace = trace_sentence(cfg, SENTENCE)
    results = verify(trace, derivations=False)
    assert failures(results) == []
    skipped = [r for r in results if r.skipped]
    assert {r.check for r in skipped} == {"derivation"}  # counted, not proved
    assert {r.check for r in results} == {
        "structure", "tokens", "formula", "identity", "precision", "derivation",
    }  # fmt: skip
    # each row within its rounding-error bound (tests/test_error_model.py)
    formulas = [r for r in results if r.check == "formula" and r.tol]
    assert all(r.max_abs_err <= r.tol < TOLERANCE[dtype] for r in formulas)
    checked = {r.where.split(" [")[0] for r in results if r.check != "identity"}
    assert set(trace.names()) <= checked  # every stage has its formula row


def test_all_checks_pass_on_seed003_including_the_derivations():
    results = verify(seed003())
    assert failures(results) == []
    assert summary_line(results) == f"{len(results)} passed, 0 failed"
    proofs = [r for r in results if r.check == "derivation"]
    assert [r.formula for r in proofs] == list_derivations()
    held = r"(\d+) steps hold: (\d+) proved, (\d+) checked on instances, .*"
    assert all(re.fullmatch(held, r.detail) for r in proofs)


def test_identities_on_the_traces_own_numbers():
    trace = trace_sentence(ModelConfig(architecture="decoder"), SENTENCE)
    names = {r.formula for r in verify(trace, derivations=False, precision=False)}
    for identity in (
        "softmax: each row sums to 1",
        "softmax(x + c) = softmax(x)",
        "masked keys get weight exactly 0",
        "|PE| ≤ 1",
        "PE(pos + k) = R(k)·PE(pos)",
        "PE(p)·PE(q) depends only on p − q",
        "LayerNorm: mean 0, variance σ²/(σ²+ε) before γ, β",
        "one-hot × E = row lookup E[id]",
        "Concat(heads)·W_O = Σ headᵢ·W_O⁽ⁱ⁾",
        "∂L/∂logits = p − y (cross-entropy)",
    ):
        assert identity in names


def test_results_name_the_layer_and_the_head():
    trace = trace_sentence(ModelConfig(), SENTENCE)  # 2 layers, 2 heads
    wheres = {r.where for r in verify(trace, derivations=False, precision=False)}
    for stack, attn in (
        ("encoder", "self_attn"),
        ("decoder", "self_attn"),
        ("decoder", "cross_attn"),
    ):
        for layer, head, stage in itertools.product(
            range(2), range(2), ("q", "k", "v", "scores", "scaled", "weights", "heads")
        ):
            assert f"{stack}.{layer}.{attn}.{stage} [head {head}]" in wheres
        for layer in range(2):
            assert f"{stack}.{layer}.{attn}.concat" in wheres  # not per head
    assert "encoder.1.ffn.activation" in wheres and "decoder.1.norm3" in wheres


def test_the_precision_row_names_a_stage():
    (row,) = [r for r in verify(seed003(), derivations=False) if r.check == "precision"]
    assert row.ok and row.formula == "whole pass at 50 digits"
    assert row.where in seed003().names()
    assert 0.0 < row.max_abs_err <= row.tol


def test_an_incomplete_trace_is_a_value_error():
    trace = seed003()
    data = trace_json.to_dict(trace)
    data["stages"] = [s for s in data["stages"] if s["name"] != "encoder.0.norm1"]
    with pytest.raises(ValueError, match=r"stage 'encoder.0.norm1' is missing"):
        verify(trace_json.from_dict(data))


def test_a_stage_that_reads_the_wrong_input_fails_and_is_named():
    """Keys projected with W_Q, a real slip: every formula holds on the inputs the
    stage names and the 50-digit pass follows them too, so only the check of the
    input lists can catch it."""
    right = seed003()
    attn = "encoder.0.self_attn"
    slipped = {
        **right.params,
        f"{attn}.w_k": right.params[f"{attn}.w_q"],
        f"{attn}.b_k": right.params[f"{attn}.b_q"],
    }
    cfg, sentence = right.config, right.source.text
    data = trace_json.to_dict(trace_sentence(cfg, sentence, params=slipped))
    data["params"] = trace_json.to_dict(right)["params"]  # the true W_K is there
    (keys,) = [s for s in data["stages"] if s["name"] == f"{attn}.k"]
    keys["inputs"] = ["encoder.embed.input", f"{attn}.w_q", f"{attn}.b_q"]
    results = verify(trace_json.from_dict(data), derivations=False)
    (bad,) = failures(results)
    assert (bad.check, bad.where) == ("structure", f"{attn}.k")
    assert f"'{attn}.w_q'" in bad.detail and f"'{attn}.w_k'" in bad.detail


def test_a_stage_with_too_few_inputs_is_named_not_a_crash(tmp_path, capsys):
    data = trace_json.to_dict(seed003())
    (norm,) = [s for s in data["stages"] if s["name"] == "encoder.0.norm1"]
    norm["inputs"] = norm["inputs"][:1]  # forgot γ and β
    path = tmp_path / "short.json"
    path.write_text(json.dumps(data))
    code, out, err = run(["verify", "--trace", str(path), "--failures"], capsys)
    assert code == 1 and err == ""
    assert out.splitlines()[2].split()[:2] == ["structure", "inputs"]
    assert "encoder.0.norm1" in out.splitlines()[2]


def test_the_two_terms_of_an_add_may_come_in_either_order():
    data = trace_json.to_dict(seed003())
    for stage in data["stages"]:
        if stage["op"] == "add":
            stage["inputs"].reverse()
    assert failures(verify(trace_json.from_dict(data), derivations=False)) == []


# --- the derivation proofs and their cache -----------------------------------------


def test_proved_derivations_are_remembered(proof_cache, monkeypatch):
    first = list(verify_derivations.check_derivations())
    assert all(r.ok for r in first)
    assert (proof_cache / "explainer" / "proofs.json").is_file()

    def must_not_prove(self):
        raise AssertionError("proved again although the source did not change")

    monkeypatch.setattr(symbolic_derivation.Derivation, "check", must_not_prove)
    again = list(verify_derivations.check_derivations())
    assert [r.formula for r in again] == [r.formula for r in first]
    assert all(r.ok and "cached" in r.detail for r in again)


def test_another_source_or_no_cache_proves_again(proof_cache, monkeypatch):
    list(verify_derivations.check_derivations())  # fills the cache
    proved = []
    real = symbolic_derivation.Derivation.check

    def counting(self):
        proved.append(self.name)
        return real(self)

    monkeypatch.setattr(symbolic_derivation.Derivation, "check", counting)
    monkeypatch.setattr(verify_derivations, "source_key", lambda: "edited")
    results = list(verify_derivations.check_derivations())
    assert proved == list_derivations() and all(r.ok for r in results)
    assert "cached" not in results[0].detail
    proved.clear()
    monkeypatch.setenv(verify_derivations.NO_CACHE, "1")
    list(verify_derivations.check_derivations())
    assert proved == list_derivations()


def test_a_failed_proof_is_reported_and_never_remembered(proof_cache, monkeypatch):
    real = symbolic_derivation.Derivation.check

    def softmax_fails(self):
        results = real(self)
        if self.name != "softmax":
            return results
        wrong = symbolic_derivation.Step(1, 2, "one is two", by=("expand",))
        return (*results, wrong.check())

    monkeypatch.setattr(symbolic_derivation.Derivation, "check", softmax_fails)
    monkeypatch.setattr(verify_derivations, "source_key", lambda: "broken softmax")
    for _ in range(2):  # the second run proves again: nothing was remembered
        (bad,) = [r for r in verify_derivations.check_derivations() if not r.ok]
        assert bad.formula == "softmax" and "one is two" in bad.detail
    cached = json.loads((proof_cache / "explainer" / "proofs.json").read_text())
    assert cached["key"] != "broken softmax"


def test_an_unreadable_cache_is_ignored(proof_cache):
    path = proof_cache / "explainer" / "proofs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    for junk in ("not json", "[1, 2]", '{"key": 3}'):
        path.write_text(junk)
        assert all(r.ok for r in verify_derivations.check_derivations())


# --- the command ------------------------------------------------------------------


def test_verify_prints_a_summary_and_exits_0(capsys):
    code, out, err = run(["verify", "--preset", "seed003"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["check", "checks", "passed", "failed", "skipped"]
    table = lines[2 : lines.index("")]  # then the steps by label, the summary
    counted = {line.split()[0]: line.split()[1:] for line in table}
    steps = lines[lines.index("") + 1]
    assert re.fullmatch(r"Derivation steps \(\d+\): \d+ proved, \d+ checked .*", steps)
    proofs = str(len(list_derivations()))
    assert counted["derivation"] == [proofs, proofs, "0", "0"]
    total = int(re.fullmatch(r"(\d+) passed, 0 failed", lines[-1]).group(1))
    assert counted["total"] == [str(total), str(total), "0", "0"]
    kinds = [k for k in counted if k != "total"]
    assert sum(int(counted[k][0]) for k in kinds) == total
    assert "FAIL" not in out


def test_verify_all_prints_every_check(capsys):
    code, out, err = run(["verify", "--preset", "seed003", "--all"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "check", "formula", "where", "max", "abs", "err", "tolerance", "differ",
        "status",
    ]  # fmt: skip
    assert re.fullmatch(r"\d+ passed, 0 failed", lines[-1])
    assert len(lines) - 3 == int(lines[-1].split()[0])  # one row a check
    assert any(
        re.match(r"formula\s+scale\s+encoder\.0\.self_attn\.scaled \[head 0\]", line)
        for line in lines
    )
    assert any(line.startswith("precision") for line in lines)
    assert sum(line.startswith("derivation") for line in lines) == len(
        list_derivations()
    )  # every one
    (ids,) = [line for line in lines if line.split()[:2] == ["tokens", "token_ids"]]
    assert re.search(r" 0/6 ", ids)  # exact checks: entries that differ, in a column


def test_verify_json_shape(capsys):
    code, out, _ = run(["verify", "--preset", "seed003", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"summary", "ok", "total", "counts", "results"}
    assert data["ok"] is True
    assert re.fullmatch(r"\d+ passed, 0 failed", data["summary"])
    assert all(set(r) == RESULT_KEYS for r in data["results"])
    assert all(r["status"] == "ok" for r in data["results"])
    assert {r["check"] for r in data["results"]} == {
        "structure", "tokens", "formula", "identity", "precision", "derivation",
    }  # fmt: skip
    assert int(data["summary"].split()[0]) == len(data["results"]) == data["total"]
    assert sum(c["checks"] for c in data["counts"].values()) == data["total"]


def broken_file(tmp_path, stage_name="encoder.0.self_attn.scaled", factor=2.0):
    """The seed003 trace with one stage's numbers multiplied by ``factor``."""
    data = json.loads(trace_json.dumps(seed003()))
    (stage,) = [s for s in data["stages"] if s["name"] == stage_name]
    stage["value"] = [
        [[v * factor for v in row] for row in head] for head in stage["value"]
    ]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path


def test_a_failure_exits_1_and_failures_lists_only_it(tmp_path, capsys):
    path = broken_file(tmp_path)
    code, out, err = run(["verify", "--trace", str(path)], capsys)
    assert code == 1 and err == ""
    summary = out.splitlines()[-1]
    assert re.fullmatch(r"\d+ passed, [1-9]\d* failed", summary)
    assert "FAIL formula scale: encoder.0.self_attn.scaled [head " in out
    code, out, _ = run(["verify", "--trace", str(path), "--failures"], capsys)
    assert code == 1
    rows = out.splitlines()[2:-1]
    assert rows and all(" FAIL" in row for row in rows)
    assert rows[0].split()[:3] == ["formula", "scale", "encoder.0.self_attn.scaled"]


def test_a_failure_in_json_is_strict_json(tmp_path, capsys):
    """An infinite error (−∞ where a score was expected) is written as "inf",
    since JSON has no infinity."""
    data = json.loads(trace_json.dumps(trace_sentence(ModelConfig(), SENTENCE)))
    (stage,) = [s for s in data["stages"] if s["name"] == "decoder.0.self_attn.mask"]
    stage["value"][0][1] = True  # the first token may see the second
    path = tmp_path / "peek.json"
    path.write_text(json.dumps(data))
    code, out, _ = run(["verify", "--trace", str(path), "--json"], capsys)
    assert code == 1

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    payload = json.loads(out, parse_constant=no_constants)
    assert payload["ok"] is False
    bad = [r for r in payload["results"] if r["status"] == "FAIL"]
    assert bad[0]["where"] == "decoder.0.self_attn.mask"
    assert "inf" in {r["max_abs_err"] for r in bad}


def test_a_trace_written_by_explainer_trace_verifies(tmp_path, capsys):
    path = tmp_path / "trace.json"
    code, _, _ = run(["trace", "--architecture", "decoder", "--out", str(path)], capsys)
    assert code == 0
    code, out, _ = run(["verify", "--trace", str(path)], capsys)
    assert code == 0 and out.splitlines()[-1].endswith(" 0 failed")


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["verify", "--trace", "/no/such/trace.json"], "'/no/such/trace.json'"),
        (["verify", "--d-model", "0"], "d_model (0) must be > 0"),
        (["verify", "--preset", "huge"], "unknown preset 'huge'"),
        (["verify", "-s", ""], "empty"),
        (["verify", "--dtype", "float16"], "dtype 'float16' is not one of"),
        (["verify", "--bogus"], "No such option '--bogus'"),
        (["derive", "attention"], "unknown derivation 'attention'"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv, needle, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2
    assert needle in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert out == ""


def test_bad_trace_file_is_one_line_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    code, out, err = run(["verify", "--trace", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path} is not valid JSON") and err.count("\n") == 1


def test_derive_prints_steps_and_latex(capsys):
    code, out, err = run(["derive", "softmax"], capsys)
    assert code == 0
    assert "Jacobian" in out and "6 of 6 steps hold: 6 proved, 0 checked" in err
    code, out, _ = run(["derive", "softmax", "--latex", "--no-check"], capsys)
    assert code == 0 and r"\begin{align*}" in out
    code, out, _ = run(["derive", "--list"], capsys)
    assert [line.split()[0] for line in out.splitlines()] == list_derivations()


def test_every_op_of_a_trace_has_a_formula():
    ops = {s.op for s in trace_sentence(ModelConfig(), SENTENCE)}
    assert ops - {Op.TOKEN_IDS, Op.ARGMAX} <= set(FORMULAS)


def test_one_count_of_checks_on_the_page_in_verify_and_in_its_json(tmp_path, capsys):
    """The report runs without the proofs and the 50-digit pass (for speed) but
    counts them as not run: its total is verify's, printed and in JSON."""
    page = tmp_path / "report.html"
    code, _, _ = run(["report", "--preset", "seed003", "--out", str(page)], capsys)
    assert code == 0
    html = page.read_text(encoding="utf-8")
    found = re.search(
        r'id="verify-summary">\s*✓ <b>(\d+) of (\d+) checks passed</b>, (\d+) not run',
        html,
    )
    assert found, html[html.index('id="verify-summary"') :][:300]
    passed, on_page, not_run = (int(v) for v in found.groups())
    assert passed + not_run == on_page
    assert not_run == len(list_derivations()) + 1  # the proofs, the 50-digit pass
    code, out, _ = run(["verify", "--preset", "seed003"], capsys)
    printed = int(re.fullmatch(r"(\d+) passed, 0 failed", out.splitlines()[-1])[1])
    code, out, _ = run(["verify", "--preset", "seed003", "--json"], capsys)
    data = json.loads(out)
    assert on_page == printed == data["total"] == len(data["results"])
