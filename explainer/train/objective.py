"""The training loss of a padded batch and its gradient with respect to every
weight: the forward pass of :mod:`explainer.forward`, then the backward rules of
:mod:`explainer.backward` (the same ones ``explainer verify`` checks).

L = −(1/N) Σ log p_t[label_t] over the N positions that are not padding
(Goodfellow, Bengio & Courville 2016, §6.2.2.3); ∂L/∂logits = (p − y)/N on those
positions and 0 on padding.

Translation adds *guided alignment* (Garg et al. 2019, "Jointly Learning to
Align and Translate with Transformer Models", §4): one cross-attention head of
the last decoder layer is taught the dataset's alignment table,

    L_align = −(λ/J) Σ_j Σ_i G_ji log A_ji,   ∂L_align/∂A_ji = −(λ/J) G_ji / A_ji,

over the J target words that have a link (G: the linked English words, equally
weighted; A: the head's attention weights). Without it the tiny model learns to
translate with attention spread over the sentence, and its cross-attention
would not show which English word each Chinese word comes from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explainer.backward.loss import cross_entropy, cross_entropy_backward
from explainer.backward.walk import parameter_gradients
from explainer.config import ModelConfig
from explainer.forward import forward
from explainer.params import Params
from explainer.trace import Tokens, Trace
from explainer.train.tasks import Batch

_NO_TOKENS = Tokens("", (), ())  # a batch has many sentences; the walk reads none


@dataclass(frozen=True)
class Guide:
    """Guided alignment: the weight λ and which head learns the alignment."""

    weight: float = 1.0
    head: int = 0


@dataclass(frozen=True)
class Evaluation:
    loss: float  # the cross-entropy (the translation loss a learner reads)
    alignment_loss: float  # L_align (0 without guidance)
    gradients: Params
    predictions: tuple[np.ndarray, ...]  # per batch (N, T): the most probable tokens


def evaluate(
    cfg: ModelConfig,
    params: Params,
    vocab: tuple[str, ...],
    batches: Sequence[Batch],
    guide: Guide | None = None,
) -> Evaluation:
    """The mean loss over the labelled positions of all ``batches`` (plus the
    alignment loss with ``guide``) and its gradients, each batch's share added up."""
    n = sum(b.n_labels for b in batches)
    guide = guide if guide and guide.weight > 0 else None
    j = sum(
        int((b.alignment.sum(-1) > 0).sum())
        for b in batches
        if guide and b.alignment is not None
    )
    loss, align_loss = 0.0, 0.0
    gradients = {name: np.zeros_like(v) for name, v in params.items()}
    predictions = []
    for batch in batches:
        part = _evaluate_one(cfg, params, vocab, batch, n, guide, j)
        loss += part.loss
        align_loss += part.alignment_loss
        for name, g in part.gradients.items():
            gradients[name] += g
        predictions.extend(part.predictions)
    return Evaluation(loss, align_loss, gradients, tuple(predictions))


def _evaluate_one(
    cfg: ModelConfig,
    params: Params,
    vocab: tuple[str, ...],
    batch: Batch,
    n: int,
    guide: Guide | None,
    n_aligned: int,
) -> Evaluation:
    """This batch's share of the loss (its −log p summed, over ``n``)."""
    result = forward(
        cfg, params, batch.source_ids, batch.target_ids, pad_id=batch.pad_id
    )
    trace = Trace(cfg, vocab, _NO_TOKENS, None, dict(params), result.stages)
    probs = trace["output.probs"]  # (N, T, V)
    keep = batch.labels != batch.pad_id  # (N, T)
    loss = float(cross_entropy(probs, batch.labels, keep, n))
    d_logits = cross_entropy_backward(probs, batch.labels, keep, n)  # (N, T, V)
    extra: dict[str, np.ndarray] = {}
    align_loss = 0.0
    if guide is not None and batch.alignment is not None and n_aligned:
        name = f"decoder.{cfg.n_layers - 1}.cross_attn.weights"
        weights = trace[name]  # (N, h, T, M)
        g = batch.alignment  # (N, T, M)
        a = weights[:, guide.head]
        linked = g > 0
        log_a = np.log(a, where=linked, out=np.zeros_like(a))
        align_loss = -guide.weight * float((g * log_a).sum()) / n_aligned
        d_a = np.zeros_like(weights)  # (N, h, T, M)
        np.divide(
            -guide.weight * g, a * n_aligned, where=linked, out=d_a[:, guide.head]
        )
        extra[name] = d_a
    gradients = parameter_gradients(trace, d_logits, extra)
    return Evaluation(loss, align_loss, gradients, (trace["output.prediction"],))
