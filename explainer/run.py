"""From a sentence to a :class:`~explainer.trace.Trace`: tokenize, initialise the
weights from the seed, run :func:`~explainer.forward.forward`."""

from __future__ import annotations

import numpy as np

from explainer.config import ModelConfig
from explainer.forward import forward
from explainer.params import Params, init_params
from explainer.tokenizer import Encoding, Tokenizer, default_corpus
from explainer.trace import Tokens, Trace


def trace_sentence(
    cfg: ModelConfig,
    sentence: str,
    *,
    target: str | None = None,
    tokenizer: Tokenizer | None = None,
    params: Params | None = None,
) -> Trace:
    """Run the toy model on ``sentence`` and return the full trace.

    For an encoder-decoder the decoder reads ``<bos>`` followed by ``target`` (by
    default the sentence itself, as when a model is taught to copy). The other
    architectures ignore ``target``.

    >>> t = trace_sentence(ModelConfig(architecture="decoder"), "you win or you die")
    >>> t["output.probs"].shape[0], len(t.source.tokens)
    (5, 5)
    """
    tokenizer = tokenizer or Tokenizer.from_corpus(default_corpus())
    source = tokenizer.encode(sentence)
    _check_length("sentence", source, cfg)
    target_enc: Encoding | None = None
    if cfg.architecture == "encoder-decoder":
        target_enc = tokenizer.encode(sentence if target is None else target, bos=True)
        _check_length("target", target_enc, cfg)
    elif target is not None:
        raise ValueError(
            f"a target is only read by an encoder-decoder, not by an {cfg.architecture}"
            "; drop --target or use --architecture encoder-decoder"
        )
    if params is None:
        params = init_params(cfg, len(tokenizer.vocab))
    else:  # the trace freezes its arrays: keep the caller's own ones writable
        params = {name: np.array(value) for name, value in params.items()}
    result = forward(
        cfg,
        params,
        np.array(source.ids),
        None if target_enc is None else np.array(target_enc.ids),
    )
    return Trace(
        config=cfg,
        vocab=tokenizer.vocab,
        source=_tokens(source),
        target=None if target_enc is None else _tokens(target_enc),
        params=params,
        stages=result.stages,
    )


def _check_length(what: str, enc: Encoding, cfg: ModelConfig) -> None:
    if len(enc.ids) > cfg.max_len:
        raise ValueError(
            f"the {what} has {len(enc.ids)} tokens but max_len is {cfg.max_len}; "
            f"shorten it or raise max_len (--max-len {len(enc.ids)})"
        )


def _tokens(enc: Encoding) -> Tokens:
    return Tokens(enc.text, enc.tokens, enc.ids, enc.unknown)
