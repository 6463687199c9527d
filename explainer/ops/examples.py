"""Small random instances of an op's inputs, for the ``example`` of its entry:
the tests evaluate the op's NumPy function and its SymPy definition on them.

Sizes: T = 4 positions, d_model = 6, 2 heads of width d_k = 3, 5 words.
"""

from __future__ import annotations

import numpy as np

from explainer.ops.context import Context, GradContext

T, D_MODEL, N_HEADS, D_K, VOCAB = 4, 6, 2, 3, 5


def context(*shape: int) -> Context:
    """A forward op's context, for an output of ``shape``."""
    return Context(N_HEADS, D_K, D_MODEL, 1e-5, 0, shape)


GRAD = GradContext(N_HEADS, D_K, D_MODEL, 1e-5, eos_id=3, shift=True)


def normal(r: np.random.Generator, *shape: int) -> np.ndarray:
    return r.normal(size=shape)


def ids(r: np.random.Generator, n: int = T) -> np.ndarray:
    return r.integers(0, VOCAB, size=n)


def one_hot(r: np.random.Generator) -> np.ndarray:
    return np.eye(VOCAB)[ids(r)]  # (T, V)


def probs(r: np.random.Generator, *shape: int) -> np.ndarray:
    e = np.exp(r.normal(size=shape))
    return e / e.sum(axis=-1, keepdims=True)


def allowed(r: np.random.Generator, *shape: int) -> np.ndarray:
    """A mask that allows the diagonal (no row fully masked) and half the rest."""
    mask = r.random(shape) < 0.5
    mask[..., np.arange(shape[-2]), np.arange(shape[-2])] = True
    return mask
