"""Trained weights on disk: one safetensors file (Hugging Face's format for
tensors, also read by PyTorch) holding

- every weight under its name in :mod:`explainer.params` (``embedding``,
  ``encoder.0.self_attn.w_q``, …);
- optionally the weights at earlier steps, as ``checkpoint.{step}.{name}``;
- one metadata entry, ``explainer``: a JSON object with the model's config, its
  vocabulary, the task, the training settings and the loss after every step.

safetensors writes its metadata map in no fixed order, so everything is in that
one entry (JSON with sorted keys): the same training gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explainer import config as config_mod
from explainer.atomic import write_atomic
from explainer.config import ModelConfig
from explainer.i18n import _
from explainer.params import Params, param_shapes

FORMAT = "explainer-weights/1"
KEY = "explainer"
CHECKPOINT = "checkpoint."
MAX_WEIGHTS_BYTES = 64 << 20  # a toy model's weights and checkpoints: far less


@dataclass(frozen=True)
class Weights:
    """A trained model: its config, vocabulary, weights and how it was trained."""

    config: ModelConfig
    vocab: tuple[str, ...]
    params: Params
    task: str
    settings: dict[str, Any]  # steps, alpha, warmup, seed, dataset
    losses: tuple[float, ...]  # the loss at each step, before its update
    checkpoints: dict[int, Params] = field(default_factory=dict)
    name: str = ""  # the file it was read from, for messages and the report

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else float("nan")

    def describe(self) -> str:
        """One line for a learner: what these weights learned, and how."""
        s = self.settings
        goal = _GOALS.get(self.task, f"for {self.task}")
        return (
            f"trained {goal} for {s['steps']} Adam steps on {s['dataset']}; "
            f"loss {self.losses[0]:.3g} at the start, {self.final_loss:.2g} at the end"
        )


_GOALS = {
    "translation": "to translate English into Chinese",
    "next-word": "to predict the next English word",
}


def to_bytes(weights: Weights) -> bytes:
    """The safetensors file of ``weights`` (deterministic)."""
    from safetensors.numpy import save

    tensors = {name: np.ascontiguousarray(v) for name, v in weights.params.items()}
    for step, params in sorted(weights.checkpoints.items()):
        for name, value in params.items():
            tensors[f"{CHECKPOINT}{step}.{name}"] = np.ascontiguousarray(value)
    meta = {
        "format": FORMAT,
        "config": weights.config.to_dict(),
        "vocab": list(weights.vocab),
        "task": weights.task,
        "settings": weights.settings,
        "losses": list(weights.losses),
        "checkpoints": sorted(weights.checkpoints),
    }
    text = json.dumps(meta, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return save(tensors, metadata={KEY: text})


def save_weights(weights: Weights, path: str | Path) -> Path:
    """Write ``weights`` to ``path`` atomically (a temp file, then renamed)."""
    return write_atomic(path, to_bytes(weights))


def from_bytes(data: bytes, name: str) -> Weights:
    """Read a file written by :func:`to_bytes`; ValueError naming what is wrong."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        tensors = load(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    except (SafetensorError, ValueError, UnicodeDecodeError) as err:
        raise ValueError(
            _(
                "{name} is not a safetensors file ({error}); "
                "give a file written by `explainer train`"
            ).format(name=name, error=err)
        ) from None
    try:
        meta = json.loads(header.get("__metadata__", {})[KEY])
    except (KeyError, TypeError, json.JSONDecodeError):
        raise ValueError(
            _(
                "{name} has no explainer metadata; "
                "give a file written by `explainer train`"
            ).format(name=name)
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(
            _("{name}: unknown format; expected {format}").format(
                name=name, format=repr(FORMAT)
            )
        )
    try:
        cfg = config_mod.from_dict(meta["config"])
        vocab = tuple(str(w) for w in meta["vocab"])
        steps = [int(s) for s in meta["checkpoints"]]
        losses = tuple(float(x) for x in meta["losses"])
        task, settings = str(meta["task"]), dict(meta["settings"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(
            _("{name}: bad metadata: {error}").format(name=name, error=err)
        ) from None
    shapes = param_shapes(cfg, len(vocab))
    params = _params(tensors, "", shapes, cfg, name)
    checkpoints = {
        s: _params(tensors, f"{CHECKPOINT}{s}.", shapes, cfg, name) for s in steps
    }
    return Weights(cfg, vocab, params, task, settings, losses, checkpoints, name)


def _params(
    tensors: dict[str, np.ndarray],
    prefix: str,
    shapes: dict[str, tuple[int, ...]],
    cfg: ModelConfig,
    name: str,
) -> Params:
    params: Params = {}
    for key, shape in shapes.items():
        value = tensors.get(prefix + key)
        weight = repr(prefix + key)
        if value is None:
            raise ValueError(
                _("{name}: weight {weight} is missing").format(name=name, weight=weight)
            )
        if value.shape != shape:
            raise ValueError(
                _(
                    "{name}: weight {weight} has shape {shape}, the config needs "
                    "{expected}"
                ).format(name=name, weight=weight, shape=value.shape, expected=shape)
            )
        if value.dtype != np.dtype(cfg.dtype):
            raise ValueError(
                _("{name}: weight {weight} is {dtype}, not {expected}").format(
                    name=name, weight=weight, dtype=value.dtype, expected=cfg.dtype
                )
            )
        if not np.isfinite(value).all():
            raise ValueError(
                _("{name}: weight {weight} holds NaN or infinity").format(
                    name=name, weight=weight
                )
            )
        params[key] = value
    return params


def load_weights(path: str | Path) -> Weights:
    """The weights file at ``path``."""
    from explainer.text_file import read_bytes

    return from_bytes(read_bytes(path, "weights file", MAX_WEIGHTS_BYTES), str(path))


def shipped_weights(filename: str) -> Weights:
    """Weights that ship in the package (``explainer/data/weights/``)."""
    from importlib import resources

    source = resources.files("explainer.data").joinpath("weights", filename)
    return from_bytes(source.read_bytes(), f"the shipped {filename}")
