"""The models, loaded once per process and shared by every request.

The pretrained models are loaded by :func:`explainer.models.load_model` (cached
per process); the toy presets' trained weights are read once here. A model's
work (loading, a forward pass, one generation step) runs in a worker thread
while holding that model's lock: requests for one model take turns, requests
for different models run side by side, and the event loop keeps answering.
Rendering a report holds one lock of its own (its caches are shared).

The trained encoder-decoder's greedy translation of a sentence (the decoder's
input when no target is given: one pass per word, most of a toy trace's time)
is remembered for the last TRANSLATIONS sentences.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from typing import Any

from explainer.cli.options import Setup, _trained, build_setup
from explainer.i18n import _
from explainer.presets import get_preset
from explainer.serve.limits import MAX_MODEL_TOKENS
from explainer.train.weights_file import Weights, shipped_weights

TRANSLATIONS = 256
"""Sentences whose greedy translation is remembered (the least recent goes)."""


class Models:
    """Locks per model, and the toy presets' weights read once."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._weights: dict[str, Weights] = {}
        self._translations: OrderedDict[tuple[str, str], str] = OrderedDict()
        self.render_lock = threading.Lock()

    def lock(self, key: str) -> threading.Lock:
        """The lock of model ``key`` (made on first use)."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def setup(self, raw: dict[str, Any]) -> Setup:
        """The setup of ``raw`` (as :func:`build_setup` makes it). A preset's
        trained weights are read once, by the first request, and shared (reading
        and checking them is most of a toy trace's time). Call it while holding
        ``lock(key(raw))``."""
        if raw.get("model"):
            return _pretrained(raw)
        preset = get_preset(raw.get("preset") or "default")
        if preset.weights is None:
            return build_setup(raw)
        with self._guard:
            weights = self._weights.get(preset.name)
        if weights is None:
            weights = shipped_weights(preset.weights)
            for value in weights.params.values():
                value.setflags(write=False)  # shared by threads: never changed
            with self._guard:
                weights = self._weights.setdefault(preset.name, weights)
        sentence = preset.sentence if raw["sentence"] is None else raw["sentence"]
        # The server passes no config option, so build_setup would take this
        # branch: the preset's shipped weights, their config and vocabulary.
        setup = _trained(weights, sentence, raw["target"], ())
        if setup.target is not None or setup.config.architecture != "encoder-decoder":
            return setup
        return dataclasses.replace(setup, target=self._translation(preset.name, setup))

    def _translation(self, preset: str, setup: Setup) -> str:
        """:meth:`Setup.translation`, remembered per (preset, sentence)."""
        key = (preset, setup.sentence)
        with self._guard:
            if key in self._translations:
                self._translations.move_to_end(key)
                return self._translations[key]
        text = setup.translation()
        with self._guard:
            self._translations[key] = text
            while len(self._translations) > TRANSLATIONS:
                self._translations.popitem(last=False)
        return text


def _pretrained(raw: dict[str, Any]) -> Setup:
    """A pretrained model's setup, if its sentence has at most MAX_MODEL_TOKENS."""
    from explainer.models import load_model

    setup = build_setup(raw)
    count = len(load_model(raw["model"]).tokenizer.encode(setup.sentence).ids)
    if count > MAX_MODEL_TOKENS:
        raise ValueError(
            _(
                "the sentence has {n} of {model}'s tokens; the live explorer "
                "traces at most {most}, shorten it"
            ).format(n=count, model=raw["model"], most=MAX_MODEL_TOKENS)
        )
    return setup


def key(raw: dict[str, Any]) -> str:
    """Which model ``raw`` runs: ``model:smollm2`` or ``preset:default``."""
    if raw.get("model"):
        return f"model:{raw['model']}"
    return f"preset:{raw.get('preset') or 'default'}"
