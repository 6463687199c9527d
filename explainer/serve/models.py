"""The models, loaded once per process and shared by every request.

The pretrained models are loaded by :func:`explainer.models.load_model` (cached
per process); the toy presets' trained weights are read once here. A model's
work (loading, a forward pass, one generation step) runs in a worker thread
while holding that model's lock: requests for one model take turns, requests
for different models run side by side, and the event loop keeps answering.
Rendering a report holds one lock of its own (its caches are shared).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from explainer.cli.options import Setup, build_setup
from explainer.train.weights_file import Weights


class Models:
    """Locks per model, and the toy presets' weights read once."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._weights: dict[str, Weights] = {}
        self.render_lock = threading.Lock()

    def lock(self, key: str) -> threading.Lock:
        """The lock of model ``key`` (made on first use)."""
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def setup(self, raw: dict[str, Any]) -> Setup:
        """:func:`build_setup` of ``raw``; a preset's trained weights are the ones
        read by the first request (the same file, the same arrays). Call it while
        holding ``lock(key(raw))``."""
        setup = build_setup(raw)
        if setup.weights is None:
            return setup
        with self._guard:
            weights = self._weights.setdefault(key(raw), setup.weights)
        return dataclasses.replace(setup, weights=weights)


def key(raw: dict[str, Any]) -> str:
    """Which model ``raw`` runs: ``model:smollm2`` or ``preset:default``."""
    if raw.get("model"):
        return f"model:{raw['model']}"
    return f"preset:{raw.get('preset') or 'default'}"
