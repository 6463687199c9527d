"""What a toy model is trained to do, as one padded batch of token ids.

- ``translation`` (encoder-decoder): the encoder reads the English words, the
  decoder reads ``<bos> y₁ … yₙ`` and must predict ``y₁ … yₙ <eos>``;
- ``next-word`` (decoder-only): the decoder reads the English words ``x₁ … xₙ``
  and must predict ``x₂ … xₙ <eos>``.

Both read the shipped dataset (:mod:`explainer.dataset`) unless given another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explainer.backward.loss import next_token_labels
from explainer.dataset import Dataset, _padded
from explainer.tokenizer import EOS, Tokenizer

TASKS = ("translation", "next-word")


@dataclass(frozen=True)
class Batch:
    """Every example of a task, padded on the right with ``<pad>``."""

    source_ids: np.ndarray  # (N, M) the encoder's (or decoder-only model's) input
    target_ids: np.ndarray | None  # (N, T) the decoder's input; None: decoder-only
    labels: np.ndarray  # (N, T) the token each position must predict; <pad>: none
    pad_id: int
    alignment: np.ndarray | None = None  # (N, T, M) translation only, see below

    # ``alignment[b, j]`` is where the decoder should look while it writes the
    # Chinese word j of sentence b: the English words the alignment table links
    # to it, equally weighted (a row of zeros: no link, or <eos>, or padding).

    @property
    def n_labels(self) -> int:
        """How many positions the loss averages over (padding excluded)."""
        return int((self.labels != self.pad_id).sum())


def task_tokenizer(task: str, dataset: Dataset) -> Tokenizer:
    """The vocabulary a task's model reads and writes: both languages for
    translation (one shared embedding, §3.4), the English words for next-word."""
    check_task(task)
    return dataset.tokenizer if task == "translation" else dataset.source


def task_batches(task: str, dataset: Dataset, buckets: int = 4) -> tuple[Batch, ...]:
    """The whole dataset for ``task``, split into ``buckets`` batches of sentences
    of similar length (by the longest of each example's inputs), so that little
    of each batch is padding. The same dataset always gives the same batches."""
    whole = task_batch(task, dataset)
    lengths = (whole.source_ids != whole.pad_id).sum(1)
    if whole.target_ids is not None:
        lengths = np.maximum(lengths, (whole.target_ids != whole.pad_id).sum(1))
    order = np.argsort(lengths, kind="stable")
    out = []
    for part in np.array_split(order, min(buckets, len(order))):
        width = int(lengths[part].max())
        target = None if whole.target_ids is None else whole.target_ids[part, :width]
        align = (
            None if whole.alignment is None else whole.alignment[part, :width, :width]
        )
        out.append(
            Batch(
                whole.source_ids[part, :width],
                target,
                whole.labels[part, :width],
                whole.pad_id,
                align,
            )
        )
    return tuple(out)


def task_batch(task: str, dataset: Dataset) -> Batch:
    """The whole dataset as one batch for ``task``."""
    check_task(task)
    if task == "translation":
        source, decoder, labels = dataset.batch()
        align = np.zeros(labels.shape + source.shape[1:])  # (N, T, M)
        for b, pair in enumerate(dataset.pairs):
            for j in range(len(pair.chinese)):
                linked = list(pair.sources_of(j))
                if linked:
                    align[b, j, linked] = 1 / len(linked)
        return Batch(source, decoder, labels, dataset.tokenizer.pad_id, align)
    tokenizer = dataset.source
    eos = tokenizer.index[EOS]
    rows = [
        np.array(tokenizer.encode(" ".join(p.english)).ids, dtype=np.int64)
        for p in dataset.pairs
    ]
    labels = [next_token_labels(r, eos, shift=True) for r in rows]
    pad = tokenizer.pad_id
    return Batch(_padded(rows, pad), None, _padded(labels, pad), pad)


def check_task(task: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {', '.join(TASKS)}")
