"""From a sentence to a :class:`~explainer.trace.Trace`: tokenize, initialise the
weights from the seed, run :func:`~explainer.forward.forward`."""

from __future__ import annotations

import numpy as np

from explainer.config import ModelConfig, check_param_bytes
from explainer.forward import forward
from explainer.i18n import _
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
    backward: bool = False,
    weights: str = "",
) -> Trace:
    """Run the toy model on ``sentence`` and return the full trace.

    For an encoder-decoder the decoder reads ``<bos>`` followed by ``target`` (by
    default the sentence itself, as when a model is taught to copy). The other
    architectures ignore ``target``. With ``backward``, the trace also holds the
    loss and every gradient (:mod:`explainer.backward`). ``weights`` says how
    ``params`` were made (trained weights: :meth:`Weights.describe`); empty when
    they are drawn from the seed.

    >>> t = trace_sentence(ModelConfig(architecture="decoder"), "you win or you die")
    >>> t["output.probs"].shape[0], len(t.source.tokens)
    (5, 5)
    """
    tokenizer = tokenizer or Tokenizer.from_corpus(default_corpus())
    source = tokenizer.encode(sentence)
    target_enc: Encoding | None = None
    if cfg.architecture == "encoder-decoder":
        text = sentence if target is None else target
        target_enc = tokenizer.encode(text, bos=True, what="target")
    elif target is not None:
        raise ValueError(
            _(
                "a target is only read by an encoder-decoder, not by this "
                "{architecture} model; drop --target or use --architecture "
                "encoder-decoder"
            ).format(architecture=cfg.architecture)
        )
    _check_length(source, target_enc, cfg)
    if params is None:
        check_param_bytes(cfg, len(tokenizer.vocab))  # before allocating
        params = init_params(cfg, len(tokenizer.vocab))
    else:  # the trace freezes its arrays: keep the caller's own ones writable
        params = {name: np.array(value) for name, value in params.items()}
    result = forward(
        cfg,
        params,
        np.array(source.ids),
        None if target_enc is None else np.array(target_enc.ids),
    )
    trace = Trace(
        config=cfg,
        vocab=tokenizer.vocab,
        source=_tokens(source),
        target=None if target_enc is None else _tokens(target_enc),
        params=params,
        stages=result.stages,
        weights=weights,
    )
    if backward:
        from explainer.backward import with_backward

        return with_backward(trace)
    return trace


def _check_length(source: Encoding, target: Encoding | None, cfg: ModelConfig) -> None:
    """Name the first input longer than ``max_len``; the hint is the max_len that
    fits both (the target's count includes its ``<bos>``)."""
    needed = max(len(source.ids), 0 if target is None else len(target.ids))
    for what, enc in (("sentence", source), ("target", target)):
        if enc is not None and len(enc.ids) > cfg.max_len:
            message = (
                _(
                    "the target has {n} tokens with its <bos> but max_len is "
                    "{max_len}; shorten it or raise max_len (--max-len {needed})"
                )
                if what == "target"
                else _(
                    "the sentence has {n} tokens but max_len is {max_len}; "
                    "shorten it or raise max_len (--max-len {needed})"
                )
            )
            raise ValueError(
                message.format(n=len(enc.ids), max_len=cfg.max_len, needed=needed)
            )


def _tokens(enc: Encoding) -> Tokens:
    return Tokens(enc.text, enc.tokens, enc.ids, enc.unknown)
