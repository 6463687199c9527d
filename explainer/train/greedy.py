"""Greedy decoding with a toy model: at each step, run the model and append the
most probable next token, until ``<eos>`` or ``max_len``.

- an encoder-decoder translates: the encoder reads the sentence once, the
  decoder starts from ``<bos>`` (:func:`translate`);
- a decoder-only model continues its input (:func:`continue_ids`).

Each step runs the whole forward pass again (no cache): these models are tiny.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explainer.config import ModelConfig
from explainer.forward import forward
from explainer.params import Params
from explainer.tokenizer import BOS, EOS


def translate_ids(
    cfg: ModelConfig, params: Params, vocab: tuple[str, ...], source_ids: list[int]
) -> Iterator[int]:
    """The ids of the greedy translation, one at a time (``<eos>`` not included)."""
    if cfg.architecture != "encoder-decoder":
        raise ValueError(
            f"an {cfg.architecture} does not translate; it has no decoder input"
        )
    target = [vocab.index(BOS)]
    yield from _greedy(cfg, params, vocab, np.array(source_ids), target)


def continue_ids(
    cfg: ModelConfig, params: Params, vocab: tuple[str, ...], ids: list[int]
) -> Iterator[int]:
    """The ids that continue ``ids``, greedily, one at a time (without ``<eos>``)."""
    if cfg.architecture != "decoder":
        raise ValueError(f"an {cfg.architecture} does not continue text; use a decoder")
    yield from _greedy(cfg, params, vocab, None, list(ids))


def _greedy(
    cfg: ModelConfig,
    params: Params,
    vocab: tuple[str, ...],
    source: np.ndarray | None,
    ids: list[int],
) -> Iterator[int]:
    eos = vocab.index(EOS)
    while len(ids) < cfg.max_len:
        if source is None:
            logits = forward(cfg, params, np.array(ids), record=False).logits
        else:
            logits = forward(cfg, params, source, np.array(ids), record=False).logits
        best = int(np.argmax(logits[-1]))
        if best == eos:
            return
        ids.append(best)
        yield best
