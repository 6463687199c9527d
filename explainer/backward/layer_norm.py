"""Backward rules of LayerNorm y = γ ⊙ x̂ + β, x̂ = (x − μ)/σ, σ = √(var + ε),
over the last axis (Ba et al. 2016). ``dy`` is ∂L/∂y."""

from __future__ import annotations

import numpy as np


def _normalized(x: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """x̂ and σ of each row.  # (T, d), (T, 1)"""
    d = x.shape[-1]
    centered = x - x.sum(axis=-1, keepdims=True) / d  # (T, d)
    sigma = np.sqrt((centered * centered).sum(axis=-1, keepdims=True) / d + eps)
    return centered / sigma, sigma


def layer_norm_backward_x(
    x: np.ndarray, gamma: np.ndarray, dy: np.ndarray, eps: float
) -> np.ndarray:
    """dx = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / σ with g = γ ⊙ dy, row by row.
    # (T, d)

    >>> x, ones = np.array([1.0, 3.0]), np.ones(2)
    >>> layer_norm_backward_x(x, ones, ones, 0.0)  # a shift of x leaves y as it was
    array([0., 0.])
    """
    x_hat, sigma = _normalized(x, eps)
    g = gamma * dy  # (T, d)
    d = x.shape[-1]
    mean_g = g.sum(axis=-1, keepdims=True) / d  # (T, 1)
    mean_gx = (g * x_hat).sum(axis=-1, keepdims=True) / d  # (T, 1)
    return (g - mean_g - x_hat * mean_gx) / sigma


def layer_norm_backward_gamma(x: np.ndarray, dy: np.ndarray, eps: float) -> np.ndarray:
    """dγ = Σ_rows dy ⊙ x̂.  # (d,)"""
    x_hat, _ = _normalized(x, eps)
    return (dy * x_hat).reshape(-1, x.shape[-1]).sum(axis=0)


def layer_norm_backward_beta(dy: np.ndarray) -> np.ndarray:
    """dβ = Σ_rows dy.  # (d,)"""
    return dy.reshape(-1, dy.shape[-1]).sum(axis=0)
