"""Parity of the NumPy forward pass with PyTorch, in float64, on the same weights.

Every parameter (LayerNorm γ and β and all biases included) is drawn here from a
seeded rng, so that the γ = 1, β = 0 of our initialisation cannot hide a bug. torch
is the reference: its weights are ours transposed (``nn.Linear`` stores out × in,
we store ``W`` as d_in × d_out), and ``in_proj_weight`` is [W_qᵀ; W_kᵀ; W_vᵀ].

torch runs in eval mode under ``no_grad``, so its fused encoder-layer fast path is
exercised too (it is taken for an even number of heads). Where d_k ≠ d_model / h,
``nn.MultiheadAttention`` cannot express the model; there the reference is built
from ``F.scaled_dot_product_attention`` and explicit torch matmuls, head by head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from explainer.config import ModelConfig
from explainer.forward import forward
from explainer.params import Params, param_shapes

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

TOL = 1e-10  # max abs error allowed in float64
VOCAB = 11
PAD = 0

CONFIGS = {  # d_k = d_v = d_model / h: nn.MultiheadAttention can express these
    "d8-h2": {"d_model": 8, "n_heads": 2, "d_ff": 16, "n_layers": 2},
    "d5-h1": {"d_model": 5, "n_heads": 1, "d_ff": 7, "n_layers": 2},
    "d9-h3": {"d_model": 9, "n_heads": 3, "d_ff": 10, "n_layers": 2},
}
NARROW = {  # d_k ≠ d_model / h
    "seed003": {"d_model": 5, "n_heads": 1, "d_k": 3, "d_v": 3, "d_ff": 8},
    "d6-h2-dk4-dv5": {"d_model": 6, "n_heads": 2, "d_k": 4, "d_v": 5, "d_ff": 8},
}
ALL_CONFIGS = {**CONFIGS, **NARROW}
INPUTS = ("sentence", "one-token", "padded")
ARCHITECTURES = ("encoder", "decoder", "encoder-decoder")
TORCH_NOISE = pytest.mark.filterwarnings(  # notes on nn.Transformer's fast path
    "ignore:enable_nested_tensor is True:UserWarning",
    "ignore:The PyTorch API of nested tensors:UserWarning",
)


@pytest.fixture(autouse=True)
def float64_torch():
    """torch in float64 and without autograd for these tests only; the old default
    dtype comes back after."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_default_dtype(old)


# --------------------------------------------------------------------------- setup


def make_config(name: str, **changes) -> ModelConfig:
    return ModelConfig(**{**ALL_CONFIGS[name], **changes})


def random_params(cfg: ModelConfig, seed: int = 1) -> Params:
    """Every parameter random, γ and β included (not our init)."""
    rng = np.random.default_rng(seed)
    params: Params = {}
    for name, shape in param_shapes(cfg, VOCAB).items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "gamma":
            params[name] = rng.uniform(0.5, 1.5, shape)
        elif leaf in ("beta", "embedding") or leaf.startswith("b_"):
            params[name] = rng.normal(0.0, 0.5, shape)
        else:
            params[name] = rng.normal(0.0, 1.0 / math.sqrt(shape[0]), shape)
    return params


@dataclass(frozen=True)
class Batch:
    """Token ids of one test input; ``keep`` marks the positions that are not pads."""

    source: np.ndarray  # (T_s,) or (B, T_s)
    target: np.ndarray  # (T_t,) or (B, T_t)
    pad_id: int | None

    @property
    def batched(self) -> bool:
        return self.source.ndim == 2

    def keep(self, which: str) -> np.ndarray:  # (B, T)
        ids = np.atleast_2d(getattr(self, which))
        if self.pad_id is None:
            return np.ones(ids.shape, dtype=bool)
        return ids != self.pad_id


def make_batch(kind: str, seed: int = 2) -> Batch:
    """A sentence (T,), a 1-token input, or a padded batch of two (B = 2)."""
    rng = np.random.default_rng(seed)
    if kind == "sentence":
        return Batch(rng.integers(1, VOCAB, 6), rng.integers(1, VOCAB, 5), None)
    if kind == "one-token":
        return Batch(rng.integers(1, VOCAB, 1), rng.integers(1, VOCAB, 1), None)
    source = rng.integers(1, VOCAB, (2, 6))
    source[0, 4:] = PAD  # lengths 4 and 6
    target = rng.integers(1, VOCAB, (2, 5))
    target[1, 3:] = PAD  # lengths 5 and 3
    return Batch(source, target, PAD)


def run_ours(cfg: ModelConfig, params: Params, batch: Batch):
    target = batch.target if cfg.architecture == "encoder-decoder" else None
    result = forward(cfg, params, batch.source, target, pad_id=batch.pad_id)
    return result, {s.name: s for s in result.stages}


def stack_ids(cfg: ModelConfig, batch: Batch, stack: str) -> str:
    """Which ids feed ``stack``: the decoder of an encoder-decoder reads the target."""
    if stack == "decoder" and cfg.architecture == "encoder-decoder":
        return "target"
    return "source"


class Weights:
    """Our parameters as torch tensors; remembers which were used."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.used: set[str] = set()

    def __call__(self, name: str, *, transpose: bool = False) -> torch.Tensor:
        self.used.add(name)
        value = self.params[name].T if transpose else self.params[name]
        return torch.tensor(np.array(value))

    def all_used(self) -> bool:
        return self.used == set(self.params)


def tensor(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(np.array(a))


def batched(a: np.ndarray, batch: Batch) -> np.ndarray:
    """Our value with a leading batch axis, as torch's batch_first tensors have."""
    return a if batch.batched else a[None]


def check(
    kind: str, ours: np.ndarray, theirs: torch.Tensor, keep: np.ndarray | None = None
) -> None:
    """Max abs error ≤ TOL, over the rows ``keep`` (non-pad positions) if given."""
    theirs = theirs.detach().numpy()
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape)
    if keep is not None:
        ours, theirs = ours[keep], theirs[keep]
    assert ours.size and np.isfinite(ours).all() and np.isfinite(theirs).all()
    err = float(np.max(np.abs(ours - theirs)))
    assert err <= TOL, f"{kind}: max abs error {err:.3g} > {TOL:g}"


# --------------------------------------------------------------- torch modules


def load_linear(lin: nn.Linear, w: Weights, weight: str, bias: str) -> None:
    lin.weight.copy_(w(weight, transpose=True))  # (d_out, d_in)
    lin.bias.copy_(w(bias))


def load_norm(norm: nn.LayerNorm, w: Weights, name: str) -> None:
    norm.weight.copy_(w(f"{name}.gamma"))
    norm.bias.copy_(w(f"{name}.beta"))


def load_mha(mha: nn.MultiheadAttention, w: Weights, p: str) -> None:
    """in_proj_weight is [W_qᵀ; W_kᵀ; W_vᵀ], each (h·d_k) × d_model."""
    mha.in_proj_weight.copy_(
        torch.cat([w(f"{p}.w_{x}", transpose=True) for x in "qkv"])
    )
    mha.in_proj_bias.copy_(torch.cat([w(f"{p}.b_{x}") for x in "qkv"]))
    load_linear(mha.out_proj, w, f"{p}.w_o", f"{p}.b_o")


def load_encoder_layer(layer: nn.TransformerEncoderLayer, w: Weights, p: str) -> None:
    """Self-attention + FFN: an encoder layer, or a decoder-only layer."""
    load_mha(layer.self_attn, w, f"{p}.self_attn")
    load_linear(layer.linear1, w, f"{p}.ffn.w_1", f"{p}.ffn.b_1")
    load_linear(layer.linear2, w, f"{p}.ffn.w_2", f"{p}.ffn.b_2")
    load_norm(layer.norm1, w, f"{p}.norm1")
    load_norm(layer.norm2, w, f"{p}.norm2")


def load_decoder_layer(layer: nn.TransformerDecoderLayer, w: Weights, p: str) -> None:
    load_mha(layer.self_attn, w, f"{p}.self_attn")
    load_mha(layer.multihead_attn, w, f"{p}.cross_attn")
    load_linear(layer.linear1, w, f"{p}.ffn.w_1", f"{p}.ffn.b_1")
    load_linear(layer.linear2, w, f"{p}.ffn.w_2", f"{p}.ffn.b_2")
    for n in (1, 2, 3):
        load_norm(getattr(layer, f"norm{n}"), w, f"{p}.norm{n}")


def layer_kwargs(cfg: ModelConfig) -> dict:
    return {
        "d_model": cfg.d_model,
        "nhead": cfg.n_heads,
        "dim_feedforward": cfg.d_ff,
        "dropout": 0.0,
        "activation": cfg.activation,
        "layer_norm_eps": cfg.eps,
        "batch_first": True,
        "norm_first": cfg.norm == "pre",
    }


def causal(seq_len: int) -> torch.Tensor:
    """torch's bool attn_mask convention: True = may NOT attend."""
    return torch.triu(torch.ones(seq_len, seq_len, dtype=torch.bool), diagonal=1)


def key_padding(batch: Batch, which: str) -> torch.Tensor | None:
    """torch's key_padding_mask: True = pad, ignored."""
    return None if batch.pad_id is None else torch.tensor(~batch.keep(which))


def allowed(batch: Batch, keys: str, len_q: int, is_causal: bool) -> torch.Tensor:
    """F.scaled_dot_product_attention's bool mask: True = MAY attend."""
    ok = torch.tensor(batch.keep(keys))[:, None, :]  # (B, 1, T_k)
    if is_causal:
        ok = ok & ~causal(len_q)
    return ok.expand(-1, len_q, -1)  # (B, T_q, T_k)


def sinusoids(seq_len: int, d_model: int) -> torch.Tensor:
    """PE of §3.5 written again in torch: column 2i sin, 2i + 1 cos."""
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (⌈d/2⌉,)
    angle = pos / 10000.0 ** (two_i / d_model)  # (T, ⌈d/2⌉)
    pe = torch.zeros(seq_len, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)[:, : d_model // 2]
    return pe  # (T, d_model)


def torch_embed(cfg: ModelConfig, w: Weights, ids: np.ndarray) -> torch.Tensor:
    ids = torch.tensor(np.atleast_2d(ids))  # (B, T)
    x = F.embedding(ids, w("embedding"))  # (B, T, d_model)
    if cfg.scale_embeddings:
        x = x * math.sqrt(cfg.d_model)
    return x + sinusoids(ids.shape[-1], cfg.d_model)


# ------------------------------------------------ attention: F.sdpa and nn.MHA


def attention_prefixes(stages: dict) -> list[str]:
    return [name[: -len(".q")] for name in stages if name.endswith("attn.q")]


def attention_masks(cfg: ModelConfig, batch: Batch, prefix: str) -> tuple[str, bool]:
    """(ids the keys come from, causal?) of an attention sub-layer."""
    stack = prefix.split(".")[0]
    if prefix.endswith("cross_attn"):
        return "source", False
    return stack_ids(cfg, batch, stack), stack == "decoder"


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_sdpa_per_head_matches_weights_times_v(config, kind):
    """F.scaled_dot_product_attention on our q, k, v, one head at a time, equals
    our weights·V: no mask/padding (encoder), causal (decoder self), cross."""
    cfg = make_config(config, architecture="encoder-decoder")
    batch = make_batch(kind)
    _, stages = run_ours(cfg, random_params(cfg), batch)
    for p in attention_prefixes(stages):
        keys, is_causal = attention_masks(cfg, batch, p)
        # (B, h, T_q, d_k), (B, h, T_k, d_k), (B, h, T_k, d_v)
        q, k, v = (tensor(batched(stages[f"{p}.{x}"].value, batch)) for x in "qkv")
        heads = batched(stages[f"{p}.heads"].value, batch)  # (B, h, T_q, d_v)
        mask = allowed(batch, keys, q.shape[-2], is_causal)  # (B, T_q, T_k)
        queries = stack_ids(cfg, batch, p.split(".")[0])
        for i in range(cfg.n_heads):
            theirs = F.scaled_dot_product_attention(
                q[:, i], k[:, i], v[:, i], attn_mask=mask
            )  # (B, T_q, d_v)
            check("sdpa", heads[:, i], theirs, batch.keep(queries))


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("config", CONFIGS)
def test_multihead_attention_matches_sublayer(config, norm, kind):
    """nn.MultiheadAttention on the sub-layer's input gives our ``…attn.out`` and,
    head by head, our attention weights."""
    cfg = make_config(config, architecture="encoder-decoder", norm=norm)
    batch = make_batch(kind)
    params = random_params(cfg)
    _, stages = run_ours(cfg, params, batch)
    for p in attention_prefixes(stages):
        keys, is_causal = attention_masks(cfg, batch, p)
        queries = stack_ids(cfg, batch, p.split(".")[0])
        x = tensor(batched(stages[stages[f"{p}.q"].inputs[0]].value, batch))
        m = tensor(batched(stages[stages[f"{p}.k"].inputs[0]].value, batch))
        mha = nn.MultiheadAttention(cfg.d_model, cfg.n_heads, batch_first=True).eval()
        load_mha(mha, Weights(params), p)
        out, weights = mha(
            x,
            m,
            m,
            key_padding_mask=key_padding(batch, keys),
            attn_mask=causal(x.shape[1]) if is_causal else None,
            average_attn_weights=False,
        )
        keep = batch.keep(queries)
        check(
            "MultiheadAttention out",
            batched(stages[f"{p}.out"].value, batch),
            out,
            keep,
        )
        ours_w = batched(stages[f"{p}.weights"].value, batch).swapaxes(1, 2)
        check("MultiheadAttention weights", ours_w, weights.transpose(1, 2), keep)


def torch_attention(
    w: Weights, p: str, cfg: ModelConfig, x, m, mask: torch.Tensor
) -> torch.Tensor:
    """Multi-head attention from explicit per-head matmuls and F.sdpa: head i uses
    columns i·d_k … (i+1)·d_k − 1 of W_q, W_k (d_v for W_v)."""
    wq, wk, wv = (w(f"{p}.w_{x}") for x in "qkv")  # (d_model, h·d)
    bq, bk, bv = (w(f"{p}.b_{x}") for x in "qkv")
    dk, dv = cfg.d_k, cfg.d_v
    heads = []
    for i in range(cfg.n_heads):
        k_cols, v_cols = slice(i * dk, (i + 1) * dk), slice(i * dv, (i + 1) * dv)
        q_i = x @ wq[:, k_cols] + bq[k_cols]  # (B, T_q, d_k)
        k_i = m @ wk[:, k_cols] + bk[k_cols]  # (B, T_k, d_k)
        v_i = m @ wv[:, v_cols] + bv[v_cols]  # (B, T_k, d_v)
        heads.append(F.scaled_dot_product_attention(q_i, k_i, v_i, attn_mask=mask))
    concat = torch.cat(heads, dim=-1)  # (B, T_q, h·d_v)
    return concat @ w(f"{p}.w_o") + w(f"{p}.b_o")  # (B, T_q, d_model)


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("config", NARROW)
def test_per_head_torch_attention_matches_sublayer_when_dk_differs(config, kind):
    """d_k ≠ d_model / h: explicit torch matmuls + F.sdpa give our ``…attn.out``."""
    cfg = make_config(config, architecture="encoder-decoder")
    batch = make_batch(kind)
    params = random_params(cfg)
    _, stages = run_ours(cfg, params, batch)
    for p in attention_prefixes(stages):
        keys, is_causal = attention_masks(cfg, batch, p)
        queries = stack_ids(cfg, batch, p.split(".")[0])
        x = tensor(batched(stages[stages[f"{p}.q"].inputs[0]].value, batch))
        m = tensor(batched(stages[stages[f"{p}.k"].inputs[0]].value, batch))
        mask = allowed(batch, keys, x.shape[1], is_causal)
        out = torch_attention(Weights(params), p, cfg, x, m, mask)
        check(
            "per-head sdpa out",
            batched(stages[f"{p}.out"].value, batch),
            out,
            batch.keep(queries),
        )


# ---------------------------------------------------------------- LayerNorm


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_layer_norm_stages(config, norm, kind):
    """nn.LayerNorm with our γ, β on each norm stage's input gives the stage."""
    cfg = make_config(config, architecture="encoder-decoder", norm=norm)
    batch = make_batch(kind)
    params = random_params(cfg)
    _, stages = run_ours(cfg, params, batch)
    names = [n for n, s in stages.items() if s.op == "layer_norm"]
    assert len(names) == cfg.n_layers * 5 + (2 if norm == "pre" else 0)
    for name in names:
        ln = nn.LayerNorm(cfg.d_model, eps=cfg.eps)
        load_norm(ln, Weights(params), name)
        x = tensor(stages[stages[name].inputs[0]].value)
        check("LayerNorm", stages[name].value, ln(x))


# ------------------------------------------------------------------- layers


def layer_io(stages: dict, prefix: str) -> tuple[str, str]:
    """Names of a layer's input (read by its first stage) and its output (its last
    stage)."""
    inside = [n for n in stages if n.startswith(prefix + ".")]
    return stages[inside[0]].inputs[0], inside[-1]


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("architecture", ["encoder", "decoder"])
@pytest.mark.parametrize("config", CONFIGS)
def test_encoder_layer(config, architecture, norm, activation, kind):
    """nn.TransformerEncoderLayer vs each encoder layer; with a causal src_mask it
    is a decoder-only layer (masked self-attention + FFN)."""
    cfg = make_config(
        config, architecture=architecture, norm=norm, activation=activation
    )
    batch = make_batch(kind)
    params = random_params(cfg)
    _, stages = run_ours(cfg, params, batch)
    is_causal = architecture == "decoder"
    for layer in range(cfg.n_layers):
        p = f"{architecture}.{layer}"
        x_name, out_name = layer_io(stages, p)
        x = tensor(batched(stages[x_name].value, batch))
        torch_layer = nn.TransformerEncoderLayer(**layer_kwargs(cfg)).eval()
        load_encoder_layer(torch_layer, Weights(params), p)
        out = torch_layer(
            x,
            src_mask=causal(x.shape[1]) if is_causal else None,
            src_key_padding_mask=key_padding(batch, "source"),
            is_causal=is_causal,
        )
        ours = batched(stages[out_name].value, batch)
        check("TransformerEncoderLayer", ours, out, batch.keep("source"))


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("config", CONFIGS)
def test_decoder_layer(config, norm, activation, kind):
    """nn.TransformerDecoderLayer vs each decoder layer of an encoder-decoder, with
    our encoder output as memory."""
    cfg = make_config(
        config, architecture="encoder-decoder", norm=norm, activation=activation
    )
    batch = make_batch(kind)
    params = random_params(cfg)
    _, stages = run_ours(cfg, params, batch)
    for layer in range(cfg.n_layers):
        p = f"decoder.{layer}"
        x_name, out_name = layer_io(stages, p)
        x = tensor(batched(stages[x_name].value, batch))
        memory_name = stages[f"{p}.cross_attn.k"].inputs[0]
        memory = tensor(batched(stages[memory_name].value, batch))
        torch_layer = nn.TransformerDecoderLayer(**layer_kwargs(cfg)).eval()
        load_decoder_layer(torch_layer, Weights(params), p)
        out = torch_layer(
            x,
            memory,
            tgt_mask=causal(x.shape[1]),
            tgt_key_padding_mask=key_padding(batch, "target"),
            memory_key_padding_mask=key_padding(batch, "source"),
            tgt_is_causal=True,
        )
        ours = batched(stages[out_name].value, batch)
        check("TransformerDecoderLayer", ours, out, batch.keep("target"))


# ------------------------------------------------------------- whole models


def output_head(w: Weights, h: torch.Tensor) -> torch.Tensor:
    return h @ w("embedding").T  # (B, T, V), tied embedding


def torch_model(cfg: ModelConfig, w: Weights, batch: Batch) -> torch.Tensor:
    """Embedding + PE written in torch, then nn.Transformer / nn.TransformerEncoder,
    then h Eᵀ. Returns logits (B, T, V)."""
    pre = cfg.norm == "pre"
    src = torch_embed(cfg, w, batch.source)
    if cfg.architecture == "encoder-decoder":
        model = nn.Transformer(
            d_model=cfg.d_model,
            nhead=cfg.n_heads,
            num_encoder_layers=cfg.n_layers,
            num_decoder_layers=cfg.n_layers,
            dim_feedforward=cfg.d_ff,
            dropout=0.0,
            activation=cfg.activation,
            layer_norm_eps=cfg.eps,
            batch_first=True,
            norm_first=pre,
        ).eval()
        for layer in range(cfg.n_layers):
            load_encoder_layer(model.encoder.layers[layer], w, f"encoder.{layer}")
            load_decoder_layer(model.decoder.layers[layer], w, f"decoder.{layer}")
        if pre:
            load_norm(model.encoder.norm, w, "encoder.norm")
            load_norm(model.decoder.norm, w, "decoder.norm")
        else:  # post-LN: no final norm after either stack
            model.encoder.norm = None
            model.decoder.norm = None
        tgt = torch_embed(cfg, w, batch.target)
        h = model(
            src,
            tgt,
            tgt_mask=causal(tgt.shape[1]),
            src_key_padding_mask=key_padding(batch, "source"),
            tgt_key_padding_mask=key_padding(batch, "target"),
            memory_key_padding_mask=key_padding(batch, "source"),
            tgt_is_causal=True,
        )
        return output_head(w, h)
    stack = cfg.architecture  # decoder-only: an encoder stack with a causal mask
    is_causal = stack == "decoder"
    model = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(**layer_kwargs(cfg)),
        cfg.n_layers,
        norm=nn.LayerNorm(cfg.d_model, eps=cfg.eps) if pre else None,
        enable_nested_tensor=False,
    ).eval()
    for layer in range(cfg.n_layers):
        load_encoder_layer(model.layers[layer], w, f"{stack}.{layer}")
    if pre:
        load_norm(model.norm, w, f"{stack}.norm")
    h = model(
        src,
        mask=causal(src.shape[1]) if is_causal else None,
        src_key_padding_mask=key_padding(batch, "source"),
        is_causal=is_causal,
    )
    return output_head(w, h)


@TORCH_NOISE
@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("config", CONFIGS)
def test_whole_model(config, architecture, norm, activation, kind):
    """Token ids → logits and probabilities, against nn.Transformer (encoder-
    decoder) or nn.TransformerEncoder (encoder-only; causal: decoder-only)."""
    cfg = make_config(
        config, architecture=architecture, norm=norm, activation=activation
    )
    batch = make_batch(kind)
    params = random_params(cfg)
    result, stages = run_ours(cfg, params, batch)
    w = Weights(params)
    logits = torch_model(cfg, w, batch)
    assert w.all_used(), set(params) - w.used
    out_ids = "target" if architecture == "encoder-decoder" else "source"
    keep = batch.keep(out_ids)
    check(f"whole {architecture}", batched(result.logits, batch), logits, keep)
    probs = batched(stages["output.probs"].value, batch)
    check("whole model probs", probs, torch.softmax(logits, dim=-1), keep)


def torch_sublayer(cfg: ModelConfig, w: Weights, p: str, n: int, x, body):
    """post: LayerNorm(x + body(x)); pre: x + body(LayerNorm(x)) — with nn.LayerNorm."""
    ln = nn.LayerNorm(cfg.d_model, eps=cfg.eps)
    load_norm(ln, w, f"{p}.norm{n}")
    return ln(x + body(x)) if cfg.norm == "post" else x + body(ln(x))


def torch_ffn(cfg: ModelConfig, w: Weights, p: str):
    act = F.relu if cfg.activation == "relu" else F.gelu  # F.gelu: exact erf form

    def body(x):
        hidden = F.linear(x, w(f"{p}.w_1", transpose=True), w(f"{p}.b_1"))
        return F.linear(act(hidden), w(f"{p}.w_2", transpose=True), w(f"{p}.b_2"))

    return body


def torch_attn_body(cfg, w, p, mask, memory=None):
    """Self-attention (``memory`` None) or cross-attention, as a sub-layer body."""
    return lambda y: torch_attention(
        w, p, cfg, y, y if memory is None else memory, mask
    )


def torch_stack(cfg, w, batch, stack, x, memory=None):
    """A stack of layers built from F.sdpa per head, F.linear and nn.LayerNorm."""
    ids = stack_ids(cfg, batch, stack)
    self_mask = allowed(batch, ids, x.shape[1], stack == "decoder")
    cross_mask = allowed(batch, "source", x.shape[1], False)
    for layer in range(cfg.n_layers):
        p = f"{stack}.{layer}"
        body = torch_attn_body(cfg, w, f"{p}.self_attn", self_mask)
        x = torch_sublayer(cfg, w, p, 1, x, body)
        n = 2
        if memory is not None:
            body = torch_attn_body(cfg, w, f"{p}.cross_attn", cross_mask, memory)
            x = torch_sublayer(cfg, w, p, n, x, body)
            n += 1
        x = torch_sublayer(cfg, w, p, n, x, torch_ffn(cfg, w, f"{p}.ffn"))
    if cfg.norm == "pre":
        ln = nn.LayerNorm(cfg.d_model, eps=cfg.eps)
        load_norm(ln, w, f"{stack}.norm")
        x = ln(x)
    return x


@pytest.mark.parametrize("kind", INPUTS)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("config", NARROW)
def test_whole_model_when_dk_differs(config, architecture, norm, activation, kind):
    """d_k ≠ d_model / h (seed 003: d_model 5, one head of width 3): the whole
    model against a torch model built from per-head F.sdpa and nn.LayerNorm."""
    cfg = make_config(
        config, architecture=architecture, norm=norm, activation=activation
    )
    batch = make_batch(kind)
    params = random_params(cfg)
    result, _ = run_ours(cfg, params, batch)
    w = Weights(params)
    src = torch_embed(cfg, w, batch.source)
    if architecture == "encoder-decoder":
        memory = torch_stack(cfg, w, batch, "encoder", src)
        tgt = torch_embed(cfg, w, batch.target)
        h = torch_stack(cfg, w, batch, "decoder", tgt, memory)
    else:
        h = torch_stack(cfg, w, batch, architecture, src)
    logits = output_head(w, h)
    assert w.all_used(), set(params) - w.used
    out_ids = "target" if architecture == "encoder-decoder" else "source"
    check(
        "whole model, per-head sdpa",
        batched(result.logits, batch),
        logits,
        batch.keep(out_ids),
    )
