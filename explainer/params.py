"""Deterministic weights of the toy model, named by dotted paths.

Names (row-vector convention, ``W`` is d_in × d_out):

- ``embedding`` (V, d_model): shared by source, target and the output projection (§3.4)
- ``{stack}.{l}.{attn}.w_q`` (d_model, h·d_k), ``b_q`` (h·d_k,); likewise
  ``w_k``/``b_k`` and ``w_v``/``b_v`` (h·d_v); ``w_o`` (h·d_v, d_model), ``b_o``
  (d_model,), where ``stack`` is ``encoder`` or ``decoder`` and ``attn`` is
  ``self_attn`` or ``cross_attn``
- ``{stack}.{l}.norm{n}.gamma`` / ``.beta`` (d_model,)
- ``{stack}.{l}.ffn.w_1`` (d_model, d_ff), ``b_1``, ``w_2`` (d_ff, d_model), ``b_2``
- ``{stack}.norm.gamma`` / ``.beta``: the final LayerNorm of a pre-LN stack
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from explainer.config import ModelConfig

Params = dict[str, np.ndarray]

NORM_SPREAD = 0.1
"""Standard deviation of LayerNorm's γ around 1 and β around 0."""

NORM_STREAM = 1
"""γ and β are drawn from ``default_rng([seed, NORM_STREAM])``."""


def param_shapes(cfg: ModelConfig, vocab_size: int) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in a fixed order.

    >>> cfg = ModelConfig(architecture="encoder", d_model=4, n_heads=2, n_layers=1)
    >>> list(param_shapes(cfg, 10).items())[:3]
    [('embedding', (10, 4)), ('encoder.0.self_attn.w_q', (4, 4)), \
('encoder.0.self_attn.b_q', (4,))]
    """
    shapes: dict[str, tuple[int, ...]] = {"embedding": (vocab_size, cfg.d_model)}
    for stack, attns, n_norms in _stacks(cfg):
        for layer in range(cfg.n_layers):
            prefix = f"{stack}.{layer}"
            for attn in attns:
                shapes.update(_attention_shapes(cfg, f"{prefix}.{attn}"))
            shapes.update(
                {
                    f"{prefix}.ffn.w_1": (cfg.d_model, cfg.d_ff),
                    f"{prefix}.ffn.b_1": (cfg.d_ff,),
                    f"{prefix}.ffn.w_2": (cfg.d_ff, cfg.d_model),
                    f"{prefix}.ffn.b_2": (cfg.d_model,),
                }
            )
            for n in range(1, n_norms + 1):
                shapes.update(_norm_shapes(cfg, f"{prefix}.norm{n}"))
        if cfg.norm == "pre":
            shapes.update(_norm_shapes(cfg, f"{stack}.norm"))
    return shapes


def _stacks(cfg: ModelConfig) -> Iterator[tuple[str, tuple[str, ...], int]]:
    if cfg.has_encoder:
        yield "encoder", ("self_attn",), 2
    if cfg.architecture == "encoder-decoder":
        yield "decoder", ("self_attn", "cross_attn"), 3
    elif cfg.architecture == "decoder":
        yield "decoder", ("self_attn",), 2


def _attention_shapes(cfg: ModelConfig, prefix: str) -> dict[str, tuple[int, ...]]:
    hk, hv = cfg.n_heads * cfg.d_k, cfg.n_heads * cfg.d_v
    return {
        f"{prefix}.w_q": (cfg.d_model, hk),
        f"{prefix}.b_q": (hk,),
        f"{prefix}.w_k": (cfg.d_model, hk),
        f"{prefix}.b_k": (hk,),
        f"{prefix}.w_v": (cfg.d_model, hv),
        f"{prefix}.b_v": (hv,),
        f"{prefix}.w_o": (hv, cfg.d_model),
        f"{prefix}.b_o": (cfg.d_model,),
    }


def _norm_shapes(cfg: ModelConfig, prefix: str) -> dict[str, tuple[int, ...]]:
    return {f"{prefix}.gamma": (cfg.d_model,), f"{prefix}.beta": (cfg.d_model,)}


def init_params(cfg: ModelConfig, vocab_size: int) -> Params:
    """Weights drawn from ``cfg.seed``: the same config gives the same numbers.

    Matrices are Xavier-uniform (Glorot & Bengio 2010), the embedding is normal with
    standard deviation d_model^-½ (so that ×√d_model gives unit scale), biases are
    small normal values. LayerNorm's γ and β start at 1 and 0 in training (Ba et
    al. 2016); here they are 1 + N(0, ``NORM_SPREAD``²) and N(0, ``NORM_SPREAD``²),
    as after some training, so that a pass that mixes them up shows. They come
    from a second stream of the same seed: the other weights are those of
    γ = 1, β = 0.

    >>> cfg = ModelConfig(architecture="encoder", d_model=4, n_heads=2, n_layers=1)
    >>> p = init_params(cfg, 10)
    >>> gamma, beta = p["encoder.0.norm1.gamma"], p["encoder.0.norm1.beta"]
    >>> bool((gamma != 1).all() and (beta != 0).all() and (abs(gamma - 1) < 0.5).all())
    True
    """
    rng = np.random.default_rng(cfg.seed)
    norm_rng = np.random.default_rng([cfg.seed, NORM_STREAM])
    params: Params = {}
    for name, shape in param_shapes(cfg, vocab_size).items():
        leaf = name.rsplit(".", 1)[-1]
        if name == "embedding":
            value = rng.normal(0.0, cfg.d_model**-0.5, shape)
        elif leaf == "gamma":
            value = norm_rng.normal(1.0, NORM_SPREAD, shape)
        elif leaf == "beta":
            value = norm_rng.normal(0.0, NORM_SPREAD, shape)
        elif leaf.startswith("b_"):
            value = rng.normal(0.0, 0.02, shape)
        else:
            bound = math.sqrt(6.0 / (shape[0] + shape[1]))
            value = rng.uniform(-bound, bound, shape)
        params[name] = value.astype(cfg.dtype)
    return params
