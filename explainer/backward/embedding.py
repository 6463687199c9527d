"""Backward rules of the embedding and of the sums: the lookup one_hot · E, the
× √d_model scaling, a residual or PE addition, and a stage read several times."""

from __future__ import annotations

import math

import numpy as np


def embedding_backward(one_hot: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """lookup = one_hot · E, so dE = one_hotᵀ dy: row ``id_t`` of dE receives dy_t,
    and a token that occurs twice adds both rows (scatter-add).  # (V, d_model)

    >>> embedding_backward(np.array([[0.0, 1.0], [0.0, 1.0]]), np.array([[1.0], [2.0]]))
    array([[0.],
           [3.]])
    """
    ids = np.argmax(one_hot, axis=-1).reshape(-1)  # (T,)
    out = np.zeros((one_hot.shape[-1], dy.shape[-1]), dtype=dy.dtype)  # (V, d)
    np.add.at(out, ids, dy.reshape(-1, dy.shape[-1]))
    return out


def scale_embedding_backward(dy: np.ndarray, d_model: int) -> np.ndarray:
    """y = x · √d_model, so dx = dy · √d_model.  # (T, d_model)"""
    return dy * math.sqrt(d_model)


def add_backward(dy: np.ndarray) -> np.ndarray:
    """y = a + b, so da = db = dy: a residual copies the gradient to both branches."""
    return dy.copy()


def grad_sum(*parts: np.ndarray) -> np.ndarray:
    """A stage read by several stages (a residual stream, the encoder output that
    every cross-attention reads, the tied embedding E): its gradient is the sum of
    the gradients through each use (the multivariable chain rule).

    >>> grad_sum(np.array([1.0]), np.array([2.0]))
    array([3.])
    """
    total = parts[0].copy()
    for part in parts[1:]:
        total += part
    return total
