"""Backward rules of the products: a linear layer Y = X W + b, the heads'
projections (the same, split into heads), Concat(heads), and the tied output
projection h Eᵀ (Goodfellow, Bengio & Courville 2016, §6.5).

``dy`` is ∂L/∂Y, the upstream gradient; each function returns ∂L/∂(one input).
Row-vector convention: X is (T, d_in), W is (d_in, d_out).
"""

from __future__ import annotations

import numpy as np

from explainer import numeric


def linear_backward_x(dy: np.ndarray, w: np.ndarray) -> np.ndarray:
    """dX = dY Wᵀ.  # (T, d_in)

    >>> linear_backward_x(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]))
    array([[11.]])
    """
    return dy @ w.T  # (T, d_in)


def linear_backward_w(x: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dW = Xᵀ dY: a sum over the rows (of every sentence of a batch) of outer
    products.  # (d_in, d_out)

    >>> linear_backward_w(np.array([[1.0], [2.0]]), np.array([[3.0], [4.0]]))
    array([[11.]])
    """
    rows_x = x.reshape(-1, x.shape[-1])  # (B·T, d_in)
    return rows_x.T @ dy.reshape(-1, dy.shape[-1])  # (d_in, d_out)


def linear_backward_b(dy: np.ndarray) -> np.ndarray:
    """db = Σ_rows dY: b is added to every row.  # (d_out,)

    >>> linear_backward_b(np.array([[1.0, 2.0], [3.0, 4.0]]))
    array([4., 6.])
    """
    return dy.reshape(-1, dy.shape[-1]).sum(axis=0)  # (d_out,): every row


def concat_heads_backward(dy: np.ndarray, n_heads: int) -> np.ndarray:
    """Concat's gradient is split back into heads: columns i·d … (i+1)·d − 1 go to
    head i.  # (h, T, d)

    >>> concat_heads_backward(np.array([[1.0, 2.0]]), 2)[:, 0, 0]
    array([1., 2.])
    """
    *lead, seq_len, width = dy.shape
    y = dy.reshape(*lead, seq_len, n_heads, width // n_heads)  # (T, h, d)
    return np.swapaxes(y, -2, -3).copy()  # (h, T, d)


def project_heads_backward_x(dy_heads: np.ndarray, w: np.ndarray) -> np.ndarray:
    """dX = Concat(dY_heads) Wᵀ.  # (T, d_model)"""
    return linear_backward_x(numeric.concat_heads(dy_heads), w)


def project_heads_backward_w(x: np.ndarray, dy_heads: np.ndarray) -> np.ndarray:
    """dW = Xᵀ Concat(dY_heads).  # (d_model, h·d)"""
    return linear_backward_w(x, numeric.concat_heads(dy_heads))


def project_heads_backward_b(dy_heads: np.ndarray) -> np.ndarray:
    """db = Σ_rows Concat(dY_heads).  # (h·d,)"""
    return linear_backward_b(numeric.concat_heads(dy_heads))


def logits_backward_h(dy: np.ndarray, table: np.ndarray) -> np.ndarray:
    """logits = h Eᵀ, so dh = dlogits E.  # (T, d_model)"""
    return dy @ table  # (T, d_model)


def logits_backward_e(h: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """logits = h Eᵀ, so dE = dlogitsᵀ h.  # (V, d_model)"""
    return dy.reshape(-1, dy.shape[-1]).T @ h.reshape(-1, h.shape[-1])  # (V, d)
