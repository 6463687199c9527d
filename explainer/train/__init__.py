"""Training the toy models (issue 13): a shipped dataset, the backward rules of
:mod:`explainer.backward`, Adam, and weights saved as safetensors.

>>> from explainer.train import Settings
>>> Settings(steps=100, checkpoints=(0, 10)).checkpoint_steps
(0, 10)
"""

from __future__ import annotations

from explainer.train.loop import Settings, initial_params, train
from explainer.train.tasks import TASKS, Batch, task_batch, task_tokenizer
from explainer.train.weights_file import (
    Weights,
    load_weights,
    save_weights,
    shipped_weights,
)

__all__ = [
    "TASKS",
    "Batch",
    "Settings",
    "Weights",
    "initial_params",
    "load_weights",
    "save_weights",
    "shipped_weights",
    "task_batch",
    "task_tokenizer",
    "train",
]
