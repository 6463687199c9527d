"""Backward rules of scaled dot-product attention, one step at a time (Eq. 1):
S = Q Kᵀ, S' = S/√d_k, masked, P = softmax(·), O = P V. Per head: arrays are
(h, T_q, ·); ``d…`` is the upstream gradient ∂L/∂(the step's output).
"""

from __future__ import annotations

import math

import numpy as np


def qk_backward_q(d_scores: np.ndarray, k: np.ndarray) -> np.ndarray:
    """S = Q Kᵀ, so dQ = dS K.  # (h, T_q, d_k)"""
    return d_scores @ k


def qk_backward_k(d_scores: np.ndarray, q: np.ndarray) -> np.ndarray:
    """S = Q Kᵀ, so dK = dSᵀ Q.  # (h, T_k, d_k)"""
    return np.swapaxes(d_scores, -1, -2) @ q


def scale_backward(dy: np.ndarray, d_k: int) -> np.ndarray:
    """S' = S / √d_k, so dS = dS' / √d_k.  # (h, T_q, T_k)"""
    return dy / math.sqrt(d_k)


def apply_mask_backward(dy: np.ndarray, *allowed: np.ndarray) -> np.ndarray:
    """A masked score was replaced by −∞, a constant: its gradient is 0; an allowed
    one passes dy through.  # (h, T_q, T_k)

    >>> apply_mask_backward(np.ones((2, 2)), np.tril(np.ones((2, 2), bool)))
    array([[1., 0.],
           [1., 1.]])
    """
    ok = np.logical_and.reduce(np.broadcast_arrays(*allowed)) if allowed else True
    return np.where(ok, dy, np.zeros((), dy.dtype))


def softmax_backward(p: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dx = p ⊙ (dy − ⟨dy, p⟩) row by row: the vector-Jacobian product, without
    the n × n Jacobian.  # (…, n)

    >>> softmax_backward(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
    array([ 0.25, -0.25])
    """
    inner = (dy * p).sum(axis=-1, keepdims=True)  # (…, 1)
    return p * (dy - inner)


def attend_backward_weights(d_out: np.ndarray, v: np.ndarray) -> np.ndarray:
    """O = P V, so dP = dO Vᵀ.  # (h, T_q, T_k)"""
    return d_out @ np.swapaxes(v, -1, -2)


def attend_backward_v(weights: np.ndarray, d_out: np.ndarray) -> np.ndarray:
    """O = P V, so dV = Pᵀ dO.  # (h, T_k, d_v)"""
    return np.swapaxes(weights, -1, -2) @ d_out
