"""The training loss: cross-entropy of the next-token prediction, and its gradient
with respect to the logits (Goodfellow, Bengio & Courville 2016, §6.2.2.3).

Which token each position must predict (the *labels*):

- encoder-decoder: the decoder reads ``<bos> y₁ … yₙ`` and must predict
  ``y₁ … yₙ <eos>`` (the target shifted one step left, ``<eos>`` at the end);
- decoder-only: the model reads ``x₁ … xₙ`` and must predict ``x₂ … xₙ <eos>``
  (the next word of the sentence);
- encoder-only: position t must give back its own token ``x_t`` (the output head
  reconstructs the input, as BERT's masked-LM head does, here with nothing masked).

L = −(1/T) Σ_t log p_t[label_t], the mean over the T positions.
"""

from __future__ import annotations

import numpy as np


def next_token_labels(ids: np.ndarray, eos_id: int, *, shift: bool) -> np.ndarray:
    """``ids[1:]`` then ``<eos>`` when ``shift`` (decoders), else ``ids`` (encoder).
    # (T,)

    >>> next_token_labels(np.array([2, 7, 8]), 3, shift=True)
    array([7, 8, 3])
    >>> next_token_labels(np.array([7, 8]), 3, shift=False)
    array([7, 8])
    """
    ids = np.asarray(ids, dtype=np.int64)
    if not shift:
        return ids.copy()
    return np.concatenate([ids[1:], np.array([eos_id], dtype=np.int64)])  # (T,)


def cross_entropy(
    probs: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray | None = None,
    count: int | None = None,
) -> np.ndarray:
    """L = −(1/T) Σ_t log p_t[label_t], from the softmax output.  # ()

    With ``keep`` (a padded batch: False on padding), only the kept positions
    are summed, and the sum is divided by ``count`` (all kept positions of the
    batches that make up one loss).

    >>> float(cross_entropy(np.array([[0.5, 0.5], [0.25, 0.75]]), np.array([0, 1])))
    0.4904...
    """
    picked = np.take_along_axis(probs, labels[..., None], axis=-1)[..., 0]  # (T,)
    if keep is None:
        return np.asarray(-np.log(picked).sum() / picked.size, dtype=probs.dtype)
    logs = np.log(picked, where=keep, out=np.zeros_like(picked))
    return np.asarray(-float(logs.sum()) / count, dtype=probs.dtype)


def cross_entropy_backward(
    probs: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray | None = None,
    count: int | None = None,
) -> np.ndarray:
    """∂L/∂logits = (p − y) / T, y the one-hot labels: softmax and cross-entropy
    differentiated together.  # (T, V)

    With ``keep`` and ``count`` (see :func:`cross_entropy`): (p − y)/count on the
    kept positions, 0 on padding.

    >>> cross_entropy_backward(np.array([[0.25, 0.75]]), np.array([1]))
    array([[ 0.25, -0.25]])
    """
    grad = probs.copy()  # (T, V)
    if keep is None:
        rows = np.arange(labels.size)
        grad.reshape(-1, probs.shape[-1])[rows, labels.reshape(-1)] -= 1
        grad /= labels.size
        return grad
    rows, cols = np.nonzero(keep)
    grad[rows, cols, labels[rows, cols]] -= 1
    grad *= keep[..., None] / count
    return grad
