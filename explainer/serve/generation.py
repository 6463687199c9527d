"""``POST /api/generate``: a trained toy preset (greedy: the default preset
translates, next-word continues) or SmolLM2 (greedy or sampled), one token at a
time. Everything is checked before the first event is sent, so that bad input
answers 4xx JSON, not a broken stream."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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


@dataclass
class Generation:
    """A checked generation: ``start`` (the first event), then :meth:`pieces`."""

    start: dict[str, Any]
    steps: Iterator[int]  # the new ids, computed lazily
    lock: Any  # the model's lock, held for each step
    decode: Any  # list of new ids → their text so far

    def pieces(self) -> Iterator[dict[str, Any]]:
        """Each new token: its id and the text it adds."""
        new: list[int] = []
        shown = ""
        while True:
            with self.lock:
                token = next(self.steps, None)
            if token is None:
                return
            new.append(token)
            text = self.decode(new)
            piece = "" if text.endswith("\ufffd") else text[len(shown) :]
            shown = shown if text.endswith("\ufffd") else text
            yield {"id": token, "text": piece}


def start_generation(data: dict[str, Any], models: Models) -> Generation:
    """Check ``data`` and make its generation (ApiError if anything is wrong)."""
    inputs.check_fields(data, FIELDS)
    raw = inputs.model_options(data)
    if raw["sentence"] is None:
        raise ApiError('give a sentence (e.g. {"sentence": "you win or you die"})')
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

    from explainer.train.greedy import continue_ids, translate_ids

    given = [name for name in SAMPLING if data.get(name) is not None]
    if given:
        raise ApiError(
            "the toy presets always pick the most probable token; drop "
            f'{", ".join(given)} (they are read with "model": "smollm2")'
        )
    setup = models.setup(raw)
    if setup.weights is None:
        raise ApiError(
            f"preset {raw['preset']!r} has random weights: it would generate noise; "
            "use the default or next-word preset"
        )
    cfg, params, tokenizer = setup.config, setup.weights.params, setup.tokenizer
    assert tokenizer is not None
    vocab = tokenizer.vocab
    source = tokenizer.encode(setup.sentence)
    if cfg.architecture == "encoder-decoder":
        steps = translate_ids(cfg, params, vocab, list(source.ids))
        task = "translate"
    else:
        steps = continue_ids(cfg, params, vocab, list(source.ids))
        task = "continue"
    start = {
        "model": key(raw),
        "task": task,
        "tokens": list(source.tokens),
        "unknown": list(source.unknown),
        "text": " ".join(source.tokens),  # the words as the model reads them
    }

    def decode(ids: list[int]) -> str:
        return " " + " ".join(vocab[i] for i in ids)

    return Generation(start, islice(steps, count), lock, decode)


def _pretrained(
    data: dict[str, Any], raw: dict[str, Any], count: int, lock: Any
) -> Generation:
    from explainer.models import get_model, load_model
    from explainer.models.generate import Sampling, generate

    name = raw["model"]
    get_model(name)  # ValueError naming the known models
    if raw["target"] is not None or raw["preset"] is not None:
        raise ApiError(f"target and preset cannot be combined with model {name!r}")
    sampling = Sampling(
        inputs.number(data, "temperature") or 0.0,
        inputs.integer(data, "top_k", 1, 1 << 20),
        inputs.number(data, "top_p"),
        inputs.integer(data, "seed", 0, 2**32 - 1),
    )
    loaded = load_model(name)
    if loaded.config.architecture != "decoder":
        raise ApiError(
            f"{name} is an {loaded.config.architecture}: it does not generate text; "
            'use "model": "smollm2"'
        )
    encoding = loaded.tokenizer.encode(raw["sentence"])
    ids = list(encoding.ids)
    if not ids:
        raise ApiError("the sentence gives no tokens; type a few words")
    if len(ids) > loaded.config.max_len:
        raise ApiError(
            f"the sentence has {len(ids)} tokens but {name} reads at most "
            f"{loaded.config.max_len}; shorten it"
        )
    steps = generate(loaded, ids, count, sampling, loaded.spec.end_of_text())
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

    return Generation(start, steps, lock, decode)
