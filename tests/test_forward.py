"""The forward pass and its trace (explainer/forward.py): stage names in forward
order, shapes, read-only values, masks, determinism, and the seed-003 preset."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explainer import numeric, trace_json
from explainer.config import ModelConfig, from_dict
from explainer.forward import forward
from explainer.params import init_params
from explainer.presets import DEFAULT_SENTENCE, get_preset
from explainer.run import trace_sentence
from explainer.tokenizer import Tokenizer, default_corpus
from explainer.trace import Op, Trace

ARCHITECTURES = ("encoder", "decoder", "encoder-decoder")
NORMS = ("post", "pre")
ATTENTION = ("q", "k", "v", "scores", "scaled", "mask", "masked", "weights")
ATTENTION += ("heads", "concat", "out")
# d_k, d_v and d_model / h all differ, so that a mixed-up axis shows in a shape
SIZES = {"d_model": 6, "n_heads": 2, "d_k": 4, "d_v": 5, "d_ff": 7, "n_layers": 2}


def make_config(architecture: str, norm: str, **changes) -> ModelConfig:
    return ModelConfig(architecture=architecture, norm=norm, **{**SIZES, **changes})


@pytest.fixture(
    scope="module",
    params=[(a, n) for a in ARCHITECTURES for n in NORMS],
    ids=lambda p: "-".join(p),
)
def trace(request) -> Trace:
    return trace_sentence(make_config(*request.param), DEFAULT_SENTENCE)


# --------------------------------------------------------------- seed 003


def test_seed003_preset_is_the_worked_example():
    cfg = from_dict(get_preset("seed003").config)
    assert (cfg.d_model, cfg.n_heads, cfg.d_k, cfg.d_v) == (5, 1, 3, 3)
    assert get_preset("seed003").sentence == "When you play game of thrones"


def test_seed003_positional_encoding_matches_its_formula():
    """PE(pos, 2i) = sin(pos / 10000^(2i/5)), PE(pos, 2i+1) = cos(pos / 10000^(2i/5)):
    the formula of seed 003, for d_model = 5, computed here with math."""
    preset = get_preset("seed003")
    t = trace_sentence(from_dict(preset.config), preset.sentence)
    pe = t["encoder.embed.pe"]
    assert pe.shape == (6, 5)  # six words, odd d_model
    for pos in range(6):
        expected = []
        for col in range(5):
            i = col // 2
            angle = pos / 10000 ** (2 * i / 5)
            expected.append(math.sin(angle) if col % 2 == 0 else math.cos(angle))
        np.testing.assert_allclose(pe[pos], expected, rtol=0, atol=1e-15)
    # no √d_model scaling in this preset: input = lookup + PE
    assert "encoder.embed.scaled" not in t
    np.testing.assert_array_equal(
        t["encoder.embed.input"], t["encoder.embed.lookup"] + pe
    )


# ------------------------------------------------------------ stage names


def expected_names(cfg: ModelConfig) -> list[str]:
    """The stage names of the documented trace format, in forward order."""
    names: list[str] = []

    def embed(stack: str) -> None:
        parts = ["ids", "one_hot", "lookup"]
        parts += ["scaled"] if cfg.scale_embeddings else []
        names.extend(f"{stack}.embed.{x}" for x in [*parts, "pe", "input"])

    def sublayer(prefix: str, n: int, body: list[str]) -> None:
        if cfg.norm == "post":
            names.extend([*body, f"{prefix}.residual{n}", f"{prefix}.norm{n}"])
        else:
            names.extend([f"{prefix}.norm{n}", *body, f"{prefix}.residual{n}"])

    def stack(name: str, cross: bool) -> None:
        embed(name)
        for layer in range(cfg.n_layers):
            p = f"{name}.{layer}"
            sublayer(p, 1, [f"{p}.self_attn.{x}" for x in ATTENTION])
            if cross:
                sublayer(p, 2, [f"{p}.cross_attn.{x}" for x in ATTENTION])
            ffn = [f"{p}.ffn.{x}" for x in ("hidden", "activation", "out")]
            sublayer(p, 3 if cross else 2, ffn)
        if cfg.norm == "pre":
            names.append(f"{name}.norm")

    if cfg.architecture in ("encoder", "encoder-decoder"):
        stack("encoder", cross=False)
    if cfg.architecture == "decoder":
        stack("decoder", cross=False)
    if cfg.architecture == "encoder-decoder":
        stack("decoder", cross=True)
    return [*names, "output.logits", "output.probs", "output.prediction"]


def test_stage_names_in_forward_order(trace):
    assert trace.names() == expected_names(trace.config)


def test_every_stage_and_parameter_is_read_only(trace):
    for stage in trace:
        assert stage.value.flags.writeable is False, stage.name
        with pytest.raises(ValueError):
            stage.value.flat[0] = 0
    for name, value in trace.params.items():
        assert value.flags.writeable is False, name


def test_inputs_name_earlier_stages_or_parameters(trace):
    seen: set[str] = set()
    for stage in trace:
        for name in stage.inputs:
            assert name in seen or name in trace.params, (stage.name, name)
        seen.add(stage.name)
    used = {name for stage in trace for name in stage.inputs}
    assert set(trace.params) <= used  # and every parameter is read by some stage


# ----------------------------------------------------------------- shapes


def stack_lengths(t: Trace) -> dict[str, int]:
    source = len(t.source.ids)
    if t.config.architecture == "encoder-decoder":
        return {"encoder": source, "decoder": len(t.target.ids)}
    return {t.config.architecture: source}


def expected_shape(t: Trace, name: str) -> tuple[int, ...]:
    cfg, vocab = t.config, len(t.vocab)
    h, d_k, d_v, d = cfg.n_heads, cfg.d_k, cfg.d_v, cfg.d_model
    lengths = stack_lengths(t)
    stack, *rest = name.split(".")
    if stack == "output":
        out_len = lengths.get("decoder", lengths.get("encoder"))
        return (out_len,) if rest == ["prediction"] else (out_len, vocab)
    T = lengths[stack]
    leaf = rest[-1]
    if rest[0] == "embed":
        return {"ids": (T,), "one_hot": (T, vocab)}.get(leaf, (T, d))
    if len(rest) == 3 and rest[1].endswith("attn"):
        T_k = lengths["encoder"] if rest[1] == "cross_attn" else T
        return {
            "q": (h, T, d_k),
            "k": (h, T_k, d_k),
            "v": (h, T_k, d_v),
            "mask": (T, T_k),
            "heads": (h, T, d_v),
            "concat": (T, h * d_v),
            "out": (T, d),
        }.get(leaf, (h, T, T_k))  # scores, scaled, masked, weights
    if len(rest) == 3 and rest[1] == "ffn":
        return (T, d) if leaf == "out" else (T, cfg.d_ff)
    return (T, d)  # residual{n}, norm{n}, the stack's final norm


def test_shapes(trace):
    for stage in trace:
        assert stage.shape == expected_shape(trace, stage.name), stage.name


# ------------------------------------------------------------------ values


def test_decoder_self_attention_is_causal_and_the_rest_unmasked(trace):
    for layer in range(trace.config.n_layers):
        for stack in stack_lengths(trace):
            p = f"{stack}.{layer}.self_attn"
            w = trace[f"{p}.weights"]  # (h, T, T)
            above = np.triu(np.ones(w.shape[-2:], dtype=bool), k=1)
            if stack == "decoder":
                assert (w[:, above] == 0.0).all()
                assert np.isneginf(trace[f"{p}.masked"][:, above]).all()
                assert (trace[f"{p}.mask"] == ~above).all()
                assert (w[:, ~above] > 0.0).all()
            else:  # the encoder attends everywhere
                assert trace[f"{p}.mask"].all() and (w > 0.0).all()
        if trace.config.architecture == "encoder-decoder":
            p = f"decoder.{layer}.cross_attn"
            assert trace[f"{p}.mask"].all() and (trace[f"{p}.weights"] > 0.0).all()


def test_probability_rows_sum_to_one(trace):
    softmaxes = trace.find("softmax")  # every attention's weights, then the output
    assert softmaxes[-1].name == "output.probs" and len(softmaxes) > 1
    for stage in softmaxes:
        assert (stage.value >= 0).all()
        np.testing.assert_allclose(stage.value.sum(-1), 1.0, rtol=0, atol=1e-12)
    assert (trace["output.prediction"] == trace["output.probs"].argmax(-1)).all()


def test_the_same_seed_gives_byte_identical_json():
    cfg = make_config("encoder-decoder", "post")
    first = trace_json.dumps(trace_sentence(cfg, DEFAULT_SENTENCE))
    second = trace_json.dumps(trace_sentence(cfg, DEFAULT_SENTENCE))
    assert first == second
    other = trace_sentence(cfg.replace(seed=1), DEFAULT_SENTENCE)
    assert trace_json.dumps(other) != first
    base = trace_sentence(cfg, DEFAULT_SENTENCE)
    for name, value in base.params.items():  # γ and β too: drawn from the seed
        assert not np.array_equal(value, other.params[name]), name


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_record_false_gives_the_same_logits(architecture):
    cfg = make_config(architecture, "pre")
    params = init_params(cfg, 13)
    source, target = np.array([3, 1, 4, 1, 5]), np.array([2, 7, 1, 8])
    if architecture != "encoder-decoder":
        target = None
    recorded = forward(cfg, params, source, target)
    bare = forward(cfg, params, source, target, record=False)
    assert bare.stages == ()
    assert np.array_equal(bare.logits, recorded.logits)
    assert np.array_equal(recorded.stages[-3].value, recorded.logits)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_padded_batch_rows_equal_the_sentences_alone(architecture):
    """With pad_id, each row of a padded batch gives, at its real positions, what
    the unpadded sentence gives alone."""
    cfg = make_config(architecture, "post")
    params = init_params(cfg, 13)
    pad = 0
    sources = [np.array([3, 1, 4, 1, 5]), np.array([9, 2, 6])]
    targets = [np.array([2, 7]), np.array([2, 7, 1, 8])]

    def pad_to(rows: list[np.ndarray]) -> np.ndarray:
        width = max(len(r) for r in rows)
        return np.stack(
            [np.pad(r, (0, width - len(r)), constant_values=pad) for r in rows]
        )

    enc_dec = architecture == "encoder-decoder"
    batch = forward(
        cfg, params, pad_to(sources), pad_to(targets) if enc_dec else None, pad_id=pad
    )
    for b, (src, tgt) in enumerate(zip(sources, targets, strict=True)):
        alone = forward(cfg, params, src, tgt if enc_dec else None, record=False)
        n = len(tgt) if enc_dec else len(src)
        np.testing.assert_allclose(
            batch.logits[b, :n], alone.logits, rtol=1e-12, atol=1e-12
        )


def test_encoder_decoder_needs_target_ids():
    cfg = make_config("encoder-decoder", "post")
    with pytest.raises(ValueError, match="target"):
        forward(cfg, init_params(cfg, 13), np.array([1, 2]))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_float32_config_keeps_every_float_stage_float32(architecture):
    cfg = make_config(architecture, "pre", dtype="float32", activation="gelu")
    t = trace_sentence(cfg, DEFAULT_SENTENCE)
    kinds = {stage.value.dtype.kind for stage in t}
    assert kinds == {"f", "i", "b"}  # floats, ids and predictions, masks
    for stage in t:
        if stage.value.dtype.kind == "f":
            assert stage.value.dtype == np.float32, stage.name
    assert {v.dtype for v in t.params.values()} == {np.dtype(np.float32)}


def test_padded_batch_records_the_padding_mask_it_applies():
    cfg = ModelConfig(architecture="encoder-decoder", d_model=4, n_heads=1, n_layers=1)
    params = init_params(cfg, 6)
    src = np.array([[1, 2, 3], [4, 0, 0]])
    tgt = np.array([[2, 5], [2, 0]])
    before = src.copy()
    stages = {s.name: s for s in forward(cfg, params, src, tgt, pad_id=0).stages}
    assert src.flags.writeable and np.array_equal(src, before)
    for attn in ("encoder.0.self_attn", "decoder.0.self_attn", "decoder.0.cross_attn"):
        masked = stages[f"{attn}.masked"]
        args = [stages[name].value for name in masked.inputs]
        assert masked.inputs[-1].endswith("embed.padding")
        assert stages[masked.inputs[-1]].op == Op.PADDING_MASK
        assert np.array_equal(numeric.apply_mask(*args), masked.value)
    # the second source sentence is padded: its last two keys get weight 0
    assert np.all(stages["encoder.0.self_attn.weights"].value[1, :, :, 1:] == 0)


def test_trace_sentence_leaves_the_callers_params_writable():
    cfg = ModelConfig(architecture="encoder", n_layers=1)
    params = init_params(cfg, len(Tokenizer.from_corpus(default_corpus()).vocab))
    trace_sentence(cfg, "you win", params=params)
    assert all(v.flags.writeable for v in params.values())
