"""Watch it learn: the cross-attention of one sentence pair at each checkpoint of
a training run (issue 13), as data for the report's "Watch it learn" section and
the ``learning`` scene.

The checkpoints of a :class:`~explainer.train.weights_file.Weights` hold the
weights after 0, 10, 50, 200 … Adam steps. For each of them and for the final
weights, :func:`watch_learning` runs :func:`explainer.forward.forward` on the demo
pair ("when you play game of thrones" → "当 你 玩 权力 的 游戏") and keeps the last
decoder layer's cross-attention weights, one (T, M) matrix per head: row j is the
decoder position that writes the j-th Chinese word (it reads the word before it,
``<bos>`` first), column i the i-th English word. One head of that layer was taught
the dataset's alignment table (guided alignment, Garg et al. 2019), so its rows
move from a blur to the English word each Chinese word translates.

>>> from explainer.train import shipped_weights
>>> seen = watch_learning(shipped_weights("default.safetensors"))
>>> [s.step for s in seen.snapshots]
[0, 10, 50, 200, 500]
>>> seen.rows[2], seen.source[seen.aligned[2][0]]
('玩', 'play')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explainer.dataset import Dataset, load_dataset
from explainer.forward import forward
from explainer.params import Params
from explainer.tokenizer import EOS
from explainer.trace import Trace
from explainer.train.weights_file import Weights

DEMO_ENGLISH = "when you play game of thrones"
"""The demo pair's English side (the shipped dataset: → 当 你 玩 权力 的 游戏)."""


@dataclass(frozen=True)
class Snapshot:
    """The model at one step of training, seen through the demo pair."""

    step: int  # Adam updates made before these weights
    loss: float | None  # the training loss over every pair at this step (None: not
    # recorded, the final weights: the run records the loss before each update)
    pair_loss: float  # the cross-entropy of the demo pair alone, mean per position
    weights: np.ndarray  # (n_heads, T, M) cross-attention of the last decoder layer


@dataclass(frozen=True)
class Learning:
    """Everything the report and the scene show of a training run."""

    source: tuple[str, ...]  # the English words (columns), as the encoder reads them
    inputs: tuple[str, ...]  # what the decoder reads: <bos> y₁ … yₙ
    rows: tuple[str, ...]  # what each decoder position writes: y₁ … yₙ <eos>
    aligned: tuple[tuple[int, ...], ...]  # per row, the English words linked to it
    layer: int  # the decoder layer whose cross-attention is shown (the last)
    head: int  # the head taught the alignment table
    guided: bool  # whether a head was taught it (guided alignment)
    steps: int  # the training run's length
    losses: tuple[float, ...]  # the training loss at each step, before its update
    snapshots: tuple[Snapshot, ...]  # each checkpoint, then the final weights

    @property
    def checkpoints(self) -> tuple[int, ...]:
        return tuple(s.step for s in self.snapshots)

    def hits(self, snapshot: Snapshot, head: int | None = None) -> list[bool]:
        """Per Chinese word (the ``<eos>`` row left out), whether ``head``'s
        largest weight falls on an English word the alignment links to it (rows
        with no link count as misses)."""
        head = self.head if head is None else head
        best = np.argmax(snapshot.weights[head], axis=-1)
        return [
            bool(linked) and int(best[j]) in linked
            for j, linked in enumerate(self.aligned[: len(self.rows) - 1])
        ]


def can_watch(weights: Weights | None) -> bool:
    """Whether ``weights`` can be watched learning: a trained encoder-decoder
    (the translation task) with saved checkpoints."""
    return (
        weights is not None
        and bool(weights.checkpoints)
        and weights.config.architecture == "encoder-decoder"
    )


def made_with(trace: Trace, weights: Weights | None) -> bool:
    """Whether ``trace`` was made with ``weights`` (the same description, config
    and vocabulary) and they can be watched learning."""
    return (
        can_watch(weights)
        and weights is not None
        and bool(trace.weights)
        and trace.weights == weights.describe()
        and tuple(trace.vocab) == tuple(weights.vocab)
        and trace.config == weights.config
    )


def learning_for(trace: Trace, weights: Weights | None) -> Learning | None:
    """:func:`watch_learning` of ``weights`` if ``trace`` was made with them, else
    None."""
    if weights is None or not made_with(trace, weights):
        return None
    return watch_learning(weights)


def shipped_weights_of(trace: Trace) -> Weights | None:
    """The shipped weights (of a translation preset) that made ``trace``, if any:
    a trace file names its weights only by their description."""
    from explainer.presets import PRESETS
    from explainer.train.weights_file import shipped_weights

    if not trace.weights or trace.config.model:
        return None
    for preset in PRESETS.values():
        if preset.weights and preset.task == "translation":
            weights = shipped_weights(preset.weights)
            if made_with(trace, weights):
                return weights
    return None


def shipped_learning(trace: Trace) -> Learning | None:
    """:func:`learning_for` the shipped weights that made ``trace`` (the
    ``learning`` scene reads a trace file)."""
    weights = shipped_weights_of(trace)
    return None if weights is None else watch_learning(weights)


def watch_learning(
    weights: Weights, english: str = DEMO_ENGLISH, dataset: Dataset | None = None
) -> Learning:
    """The last decoder layer's cross-attention of the pair whose English side is
    ``english`` (in ``dataset``, by default the shipped one), at every checkpoint
    of ``weights`` and at its final step.

    Raises ValueError when the weights have no checkpoints, are not an
    encoder-decoder, or do not know the pair's words.
    """
    if not can_watch(weights):
        raise ValueError(
            f"{weights.name or 'these weights'}: need a trained encoder-decoder with "
            "checkpoints (explainer train --preset default keeps them)"
        )
    dataset = dataset or load_dataset()
    k = dataset.find(english)
    pair, example = dataset.pairs[k], dataset.example(k)
    vocab = weights.vocab
    index = {w: k for k, w in enumerate(vocab)}
    words = dataset.tokenizer.vocab  # the ids of ``example`` index these
    missing = [
        words[i]
        for i in (*example.source_ids, *example.decoder_ids)
        if words[i] not in index
    ]
    if missing:
        raise ValueError(
            f"{weights.name or 'these weights'} do not know {', '.join(missing)}; "
            "train them on the dataset that holds the pair"
        )
    source_ids = np.array([index[words[i]] for i in example.source_ids])
    decoder_ids = np.array([index[words[i]] for i in example.decoder_ids])
    labels = [index[words[i]] for i in example.labels]
    align = weights.settings.get("alignment") or {}
    layer = int(align.get("layer", weights.config.n_layers - 1))
    steps = int(weights.settings.get("steps", len(weights.losses)))
    runs: list[tuple[int, Params]] = sorted(weights.checkpoints.items())
    if steps not in weights.checkpoints:
        runs.append((steps, weights.params))
    snapshots = []
    for step, params in runs:
        attention, pair_loss = _look(weights, params, source_ids, decoder_ids, labels)
        loss = weights.losses[step] if step < len(weights.losses) else None
        snapshots.append(Snapshot(step, loss, pair_loss, attention[layer]))
    n = len(pair.chinese)
    return Learning(
        source=pair.english,
        inputs=tuple(vocab[i] for i in decoder_ids),
        rows=(*pair.chinese, EOS),
        aligned=(*(pair.sources_of(j) for j in range(n)), ()),
        layer=layer,
        head=int(align.get("head", 0)),
        guided=bool(align) and float(align.get("weight", 0)) > 0,
        steps=steps,
        losses=weights.losses,
        snapshots=tuple(snapshots),
    )


def _look(
    weights: Weights,
    params: Params,
    source_ids: np.ndarray,
    decoder_ids: np.ndarray,
    labels: list[int],
) -> tuple[dict[int, np.ndarray], float]:
    """Every decoder layer's cross-attention weights (layer → (h, T, M)) and the
    pair's mean cross-entropy, from one forward pass with ``params``."""
    cfg = weights.config
    result = forward(cfg, params, source_ids, decoder_ids)
    stages = {s.name: s.value for s in result.stages}
    attention = {
        layer: np.array(stages[f"decoder.{layer}.cross_attn.weights"])
        for layer in range(cfg.n_layers)
    }
    probs = stages["output.probs"]  # (T, V)
    picked = probs[np.arange(len(labels)), labels]
    return attention, float(-np.log(picked).mean())
