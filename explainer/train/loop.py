"""The training loop: the whole dataset as one batch, one Adam update a step.

Deterministic: the weights start from the config's seed (:func:`init_params`,
with LayerNorm's γ = 1 and β = 0 as in Ba et al. 2016), the batches are always
the same, nothing else is random, and the products run on one BLAS thread
whatever the machine has; the same command gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from explainer.config import ModelConfig
from explainer.dataset import Dataset
from explainer.i18n import _
from explainer.params import Params, init_params
from explainer.train.adam import Adam
from explainer.train.objective import Guide, evaluate
from explainer.train.tasks import task_batches, task_tokenizer
from explainer.train.weights_file import Weights

DEFAULT_CHECKPOINTS = (0, 10, 50, 200)
"""Kept to show how the model learns (the report's "watch it learn")."""


@dataclass(frozen=True)
class Settings:
    """How to train: steps, Adam's step size α and its warm-up."""

    steps: int = 500
    alpha: float = 0.01
    warmup: int = 30
    checkpoints: tuple[int, ...] | None = None  # None: DEFAULT_CHECKPOINTS that fit
    align_weight: float = 1.0  # λ of guided alignment (translation only)

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= 100_000:
            raise ValueError(
                _("steps {steps} must be between 1 and 100000").format(steps=self.steps)
            )
        if not 0 < self.alpha <= 1:
            raise ValueError(
                _("learning rate {alpha} must be in (0, 1]").format(alpha=self.alpha)
            )
        if not 0 <= self.align_weight <= 100:
            raise ValueError(
                _("alignment weight {weight} must be in [0, 100]").format(
                    weight=self.align_weight
                )
            )
        if not 0 <= self.warmup < self.steps:
            raise ValueError(
                _("warm-up {warmup} must be at least 0 and below steps {steps}").format(
                    warmup=self.warmup, steps=self.steps
                )
            )
        for step in self.checkpoints or ():
            if not 0 <= step <= self.steps:
                raise ValueError(
                    _("checkpoint {step} is not a step in 0..{steps}").format(
                        step=step, steps=self.steps
                    )
                )

    @property
    def checkpoint_steps(self) -> tuple[int, ...]:
        """The steps whose weights are kept besides the final ones."""
        if self.checkpoints is None:
            return tuple(s for s in DEFAULT_CHECKPOINTS if s < self.steps)
        return tuple(sorted(set(self.checkpoints)))


def initial_params(cfg: ModelConfig, vocab_size: int) -> Params:
    """The seed's weights with γ = 1 and β = 0, where training starts."""
    params = init_params(cfg, vocab_size)
    for name, value in params.items():
        if name.endswith(".gamma"):
            params[name] = np.ones_like(value)
        elif name.endswith(".beta"):
            params[name] = np.zeros_like(value)
    return params


def train(
    cfg: ModelConfig,
    task: str,
    dataset: Dataset,
    settings: Settings,
    *,
    dataset_name: str = "translation.tsv",
    on_step: Callable[[int, float], None] | None = None,
) -> Weights:
    """Train a toy model of ``cfg`` on ``dataset`` for ``task``; ``on_step(t, loss)``
    is called after every step (a progress bar)."""
    _check_architecture(cfg, task)
    tokenizer = task_tokenizer(task, dataset)
    batches = task_batches(task, dataset)
    longest = max(max(b.source_ids.shape[1], _width(b.target_ids)) for b in batches)
    if longest > cfg.max_len:
        raise ValueError(
            _(
                "the dataset's longest sentence has {longest} tokens but max_len is "
                "{max_len}; raise it (--max-len {longest})"
            ).format(longest=longest, max_len=cfg.max_len)
        )
    params = initial_params(cfg, len(tokenizer.vocab))
    adam = Adam(settings.alpha, settings.steps, settings.warmup)
    losses: list[float] = []
    align_losses: list[float] = []
    guide = Guide(settings.align_weight) if task == "translation" else None
    checkpoints: dict[int, Params] = {}
    # One BLAS thread: a thread count can change how OpenBLAS splits a product and
    # so the last bits, and the same command must write the same bytes on any
    # machine; the products are small, so a second thread only waits anyway.
    with threadpool_limits(limits=1, user_api="blas"):
        for t in range(settings.steps):
            if t in settings.checkpoint_steps:
                checkpoints[t] = params
            result = evaluate(cfg, params, tokenizer.vocab, batches, guide)
            losses.append(result.loss)
            align_losses.append(result.alignment_loss)
            params = adam.step(params, result.gradients)
            if on_step is not None:
                on_step(t + 1, result.loss)
    if settings.steps in settings.checkpoint_steps:
        checkpoints[settings.steps] = params
    record = {
        "steps": settings.steps,
        "alpha": settings.alpha,
        "warmup": settings.warmup,
        "seed": cfg.seed,
        "dataset": dataset_name,
        "pairs": len(dataset.pairs),
    }
    if guide is not None:
        record["alignment"] = {
            "weight": guide.weight,
            "layer": cfg.n_layers - 1,
            "head": guide.head,
            "losses": align_losses,
        }
    return Weights(
        cfg, tokenizer.vocab, params, task, record, tuple(losses), checkpoints
    )


def _width(ids: np.ndarray | None) -> int:
    return 0 if ids is None else ids.shape[1]


def _check_architecture(cfg: ModelConfig, task: str) -> None:
    wanted = {"translation": "encoder-decoder", "next-word": "decoder"}.get(task)
    if wanted is not None and cfg.architecture != wanted:
        raise ValueError(
            _(
                "the {task} task trains an {wanted} model, not an {architecture}; "
                "use --architecture {wanted}"
            ).format(task=task, wanted=wanted, architecture=cfg.architecture)
        )
