"""``POST /api/generate``: a trained toy preset (greedy: the default preset
translates, next-word continues) or SmolLM2 (greedy or sampled), one token at a
time. Everything is checked before the first event is sent, so that bad input
answers 4xx JSON, not a broken stream."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from explainer import numeric
from explainer.i18n import _
from explainer.serve import inputs
from explainer.serve.errors import ApiError, library_errors
from explainer.serve.limits import MAX_NEW_TOKENS
from explainer.serve.models import Models, key

FIELDS = (
    "sentence", "preset", "model", "max_new_tokens",
    "temperature", "top_k", "top_p", "seed",
)  # fmt: skip
SAMPLING = ("temperature", "top_k", "top_p", "seed")
DEFAULT_NEW_TOKENS = 12


TOP = 5  # tokens of each step's distribution sent with it


@dataclass
class Generation:
    """A checked generation: ``start`` (the first event), then :meth:`pieces`."""

    start: dict[str, Any]
    steps: Iterator[tuple[int, np.ndarray]]  # each new id and the distribution
    # it was chosen from (V,), computed lazily
    lock: Any  # the model's lock, held for each step
    decode: Callable[[list[int]], str]  # new ids → their text so far
    name: Callable[[int], str]  # one id → its token as text

    def pieces(self) -> Iterator[dict[str, Any]]:
        """Each new token: its id, the text it adds, and the TOP most probable
        tokens of the distribution it was chosen from."""
        new: list[int] = []
        shown = ""
        while True:
            with self.lock:
                step = next(self.steps, None)
            if step is None:
                return
            token, probs = step
            new.append(token)
            text = self.decode(new)
            piece = "" if text.endswith("\ufffd") else text[len(shown) :]
            shown = shown if text.endswith("\ufffd") else text
            top = [
                {"id": int(i), "token": self.name(int(i)), "p": float(probs[i])}
                for i in np.argsort(-probs, kind="stable")[:TOP]
            ]
            yield {"id": token, "text": piece, "top": top}


def start_generation(data: dict[str, Any], models: Models) -> Generation:
    """Check ``data`` and make its generation (ApiError if anything is wrong)."""
    inputs.check_fields(data, FIELDS)
    raw = inputs.model_options(data)
    if raw["sentence"] is None:
        raise ApiError(
            _("give a sentence (e.g. {example})").format(
                example='{"sentence": "you win or you die"}'
            )
        )
    limit = inputs.integer(data, "max_new_tokens", 0, MAX_NEW_TOKENS)
    count = DEFAULT_NEW_TOKENS if limit is None else limit
    lock = models.lock(key(raw))
    with library_errors(), lock:
        if raw["model"]:
            return _pretrained(data, raw, count, lock)
        return _toy(data, raw, count, lock, models)


def _toy(
    data: dict[str, Any], raw: dict[str, Any], count: int, lock: Any, models: Models
) -> Generation:
    from itertools import islice

    from explainer.forward import forward
    from explainer.tokenizer import BOS
    from explainer.train.greedy import continue_ids, translate_ids

    given = [name for name in SAMPLING if data.get(name) is not None]
    if given:
        raise ApiError(
            _(
                "the toy presets always pick the most probable token; drop "
                '{fields} (they are read with "model": "smollm2")'
            ).format(fields=", ".join(given))
        )
    setup = models.setup(raw)
    if setup.weights is None:
        raise ApiError(
            _(
                "preset {preset} has random weights: it would generate noise; "
                "use the default or next-word preset"
            ).format(preset=repr(raw["preset"]))
        )
    cfg, params, tokenizer = setup.config, setup.weights.params, setup.tokenizer
    assert tokenizer is not None
    vocab = tokenizer.vocab
    source = tokenizer.encode(setup.sentence)
    if cfg.architecture == "encoder-decoder":
        ids = translate_ids(cfg, params, vocab, list(source.ids))
        task, encoder, decoded = "translate", np.array(source.ids), [vocab.index(BOS)]
    else:
        ids = continue_ids(cfg, params, vocab, list(source.ids))
        task, encoder, decoded = "continue", None, list(source.ids)

    def steps() -> Iterator[tuple[int, np.ndarray]]:
        """Each id the greedy decoder picks, with softmax of the logits it picked
        it from (one more pass of the tiny model on the text so far)."""
        for token in islice(ids, count):
            if encoder is None:
                result = forward(cfg, params, np.array(decoded), record=False)
            else:
                result = forward(cfg, params, encoder, np.array(decoded), record=False)
            yield token, numeric.softmax(result.logits[-1].astype(np.float64))
            decoded.append(token)

    start = {
        "model": key(raw),
        "task": task,
        "tokens": list(source.tokens),
        "unknown": list(source.unknown),
        "text": " ".join(source.tokens),  # the words as the model reads them
    }

    def decode(ids: list[int]) -> str:
        return " " + " ".join(vocab[i] for i in ids)

    return Generation(start, steps(), lock, decode, lambda i: vocab[i])


def _pretrained(
    data: dict[str, Any], raw: dict[str, Any], count: int, lock: Any
) -> Generation:
    from explainer.models import get_model, load_model
    from explainer.models.generate import Sampling, generate

    name = raw["model"]
    get_model(name)  # ValueError naming the known models
    if raw["target"] is not None or raw["preset"] is not None:
        raise ApiError(
            _("target and preset cannot be combined with model {model}").format(
                model=repr(name)
            )
        )
    sampling = Sampling(
        inputs.number(data, "temperature") or 0.0,
        inputs.integer(data, "top_k", 1, 1 << 20),
        inputs.number(data, "top_p"),
        inputs.integer(data, "seed", 0, 2**32 - 1),
    )
    loaded = load_model(name)
    if loaded.config.architecture != "decoder":
        raise ApiError(
            _(
                "{model} is an {architecture}: it does not generate text; "
                'use "model": "smollm2"'
            ).format(model=name, architecture=loaded.config.architecture)
        )
    encoding = loaded.tokenizer.encode(raw["sentence"])
    ids = list(encoding.ids)
    if not ids:
        raise ApiError(_("the sentence gives no tokens; type a few words"))
    if len(ids) > loaded.config.max_len:
        raise ApiError(
            _(
                "the sentence has {n} tokens but {model} reads at most {max_len}; "
                "shorten it"
            ).format(n=len(ids), model=name, max_len=loaded.config.max_len)
        )
    # The library's loop, with the model's forward pass wrapped to keep each
    # step's logits: the distribution the token was drawn from is softmax(z / T)
    # (before top-k / top-p), softmax(z) when greedy.
    logits: list[np.ndarray] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        result = loaded.spec.forward(*args, **kwargs)
        logits.append(result.logits[-1])
        return result

    spec = dataclasses.replace(loaded.spec, forward=recording)
    recorded = dataclasses.replace(loaded, spec=spec)
    ids_out = generate(recorded, ids, count, sampling, loaded.spec.end_of_text())
    scale = sampling.temperature or 1.0

    def steps() -> Iterator[tuple[int, np.ndarray]]:
        for token in ids_out:
            z = logits.pop().astype(np.float64) / scale
            yield token, numeric.softmax(z)

    tokenizer = loaded.tokenizer.tokenizer
    start = {
        "model": key(raw),
        "task": "continue",
        "tokens": list(encoding.tokens),
        "unknown": list(encoding.unknown),
        "text": raw["sentence"],
    }

    def decode(new: list[int]) -> str:
        return tokenizer.decode(new, skip_special_tokens=True)

    def name(i: int) -> str:
        return tokenizer.decode([i], skip_special_tokens=False)

    return Generation(start, steps(), lock, decode, name)
