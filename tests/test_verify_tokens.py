"""The words behind the numbers: verify re-tokenizes the text, looks every id up
in the vocabulary and compares the vocabulary with its tokenizer's.

Each broken trace is made the way a careless edit would make it (through the
trace's JSON form, as in test_verify_breaks.py); the one whose tokens and ids
were changed has its stages recomputed from them, so that every formula holds
and only the token checks can see it.
"""

from __future__ import annotations

import importlib.util
import json

import pytest
from cli_run import run

from explainer import trace_json
from explainer.config import ModelConfig
from explainer.run import trace_sentence
from explainer.tokenizer import Tokenizer
from explainer.trace import Trace
from explainer.verify import CheckResult, verify
from explainer.verify.tokens import check_tokens

SENTENCE = "you win or you die"
ENC_DEC = ModelConfig(n_layers=1)


def token_failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.check == "tokens" and not r.ok]


def through_json(trace: Trace, edit) -> Trace:
    data = trace_json.to_dict(trace)
    edit(data)
    return trace_json.from_dict(json.loads(json.dumps(data)))


@pytest.fixture(scope="module")
def correct() -> Trace:
    return trace_sentence(ENC_DEC, SENTENCE)


@pytest.mark.parametrize(
    "cfg",
    [ENC_DEC, ModelConfig(architecture="decoder"), ModelConfig(architecture="encoder")],
    ids=["encoder-decoder", "decoder", "encoder"],
)
def test_the_tokens_of_a_correct_trace_pass(cfg):
    rows = list(check_tokens(trace_sentence(cfg, "When you play game of thrones")))
    assert rows and all(r.ok for r in rows)
    kinds = {r.formula for r in rows}
    assert {"text → tokens", "ids ↔ vocabulary"} <= kinds
    assert any(k.startswith("vocabulary") for k in kinds)


def test_a_vocabulary_from_another_corpus_passes():
    tokenizer = Tokenizer.from_corpus(["the cat sat", "you win or you die"])
    trace = trace_sentence(ENC_DEC, SENTENCE, tokenizer=tokenizer)
    assert all(r.ok for r in check_tokens(trace))


def test_an_edited_text_fails_naming_the_token(correct):
    def edit(data):
        data["tokens"]["source"]["text"] = "you lose or you die"

    results = verify(through_json(correct, edit), derivations=False, precision=False)
    (bad,) = token_failures(results)
    assert (bad.formula, bad.where) == ("text → tokens", "tokens.source")
    assert "'win'" in bad.detail and "position 1" in bad.detail
    assert "<unk>" in bad.detail  # what the text gives: 'lose' is not in the vocabulary
    assert all(r.ok for r in results if r.check == "formula")  # the numbers are right


def test_edited_tokens_and_ids_with_stages_recomputed_fail(correct):
    """The stages are those of 'you die or you win' (recomputed by the forward
    pass), the text says 'you win or you die': every formula holds, the words in
    a report would be wrong."""
    other = trace_sentence(ENC_DEC, "you die or you win", params=dict(correct.params))

    def edit(data):
        for part in ("source", "target"):
            data["tokens"][part]["text"] = SENTENCE

    results = verify(through_json(other, edit), derivations=False, precision=False)
    assert all(r.ok for r in results if r.check == "formula")
    bad = token_failures(results)
    assert {r.where for r in bad} == {"tokens.source", "tokens.target"}
    source = next(r for r in bad if r.where == "tokens.source")
    assert source.formula == "text → tokens"
    assert "the text gives 'win'" in source.detail and "'die'" in source.detail
    assert source.differ == 2 and source.entries == 5  # positions 1 and 4


def test_two_swapped_vocabulary_entries_fail(correct):
    vocab = list(correct.vocab)
    a, b = vocab.index("win"), vocab.index("or")

    def edit(data):
        data["vocab"][a], data["vocab"][b] = data["vocab"][b], data["vocab"][a]

    results = verify(through_json(correct, edit), derivations=False, precision=False)
    bad = token_failures(results)
    vocabulary = next(r for r in bad if r.formula.startswith("vocabulary"))
    assert vocabulary.differ == 2
    assert f"entry {a} is 'or'" in vocabulary.detail and "'win'" in vocabulary.detail
    ids = next(r for r in bad if r.formula == "ids ↔ vocabulary")
    assert "'win'" in ids.detail and f"id {a}" in ids.detail


def test_the_command_names_the_token(correct, tmp_path, capsys):
    def edit(data):
        data["tokens"]["source"]["text"] = "you lose or you die"

    path = tmp_path / "edited.json"
    path.write_text(trace_json.dumps(through_json(correct, edit)))
    code, out, _ = run(["verify", "--trace", str(path)], capsys)
    assert code == 1
    assert "FAIL tokens text → tokens: tokens.source" in out
    assert "the trace records 'win' (id 10)" in out


# --- the pretrained models: their own tokenizers ------------------------------------


def installed(model: str) -> bool:
    from explainer.models import minilm, smollm2

    module = {"minilm": minilm.MODULE, "smollm2": smollm2.MODULE}[model]
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("model", ["minilm", "smollm2"])
def test_a_pretrained_vocabulary_agrees_with_its_tokenizer(model):
    if not installed(model):
        pytest.skip(f"{model}'s weights are not installed")
    from tokenizers import Tokenizer as HFTokenizer

    from explainer.models import get_model, load_model, trace_model

    trace = trace_model(model, get_model(model).example)
    rows = list(check_tokens(trace))
    assert all(r.ok for r in rows), rows
    # The reference, read here straight from the tokenizer file's own library.
    hf = load_model(model).tokenizer.tokenizer
    assert isinstance(hf, HFTokenizer)
    assert [hf.id_to_token(i) for i in trace.source.ids] == list(trace.source.tokens)

    vocab = list(trace.vocab)
    a, b = trace.source.ids[1], trace.source.ids[2]
    vocab[a], vocab[b] = vocab[b], vocab[a]
    swapped = Trace(
        trace.config, tuple(vocab), trace.source, None, trace.params, trace.stages
    )
    bad = [r for r in check_tokens(swapped) if not r.ok]
    vocabulary = next(r for r in bad if r.formula.startswith("vocabulary"))
    assert vocabulary.differ == 2 and f"{model}'s tokenizer" in vocabulary.formula
    assert repr(trace.vocab[a]) in vocabulary.detail
    assert any(r.formula == "ids ↔ vocabulary" for r in bad)


def test_a_trace_without_vocabulary_or_text_skips_those_checks(correct):
    """Both are optional in the trace format: nothing to compare is a skip, not a
    pass and not a failure."""

    def edit(data):
        del data["vocab"]
        for part in ("source", "target"):
            del data["tokens"][part]["text"]

    rows = list(check_tokens(through_json(correct, edit)))
    skipped = {(r.formula, r.where) for r in rows if r.skipped}
    assert skipped == {
        ("vocabulary", "vocab"),
        ("ids ↔ vocabulary", "tokens.source"),
        ("text → tokens", "tokens.source"),
        ("ids ↔ vocabulary", "tokens.target"),
        ("text → tokens", "tokens.target"),
    }
    assert all(r.ok for r in rows)
