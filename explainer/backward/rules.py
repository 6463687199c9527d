"""Which backward rule each forward op has, for each of its inputs, and the one
place where a backward op is evaluated on arrays (the backward pass and verify
both call :func:`evaluate`).

A rule's arguments name what it reads: ``dy`` is ∂L/∂(the forward stage), ``out``
the forward stage's own value, ``in0``, ``in1``, … its inputs, ``masks`` every
input from the second on (the masks of ``apply_mask``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from explainer.backward import activations, attention, embedding, layer_norm, linear
from explainer.backward import loss as loss_mod
from explainer.trace import Op

Rule = tuple[Op, tuple[str, ...]]  # (backward op, what it reads)

RULES: dict[Op, dict[int, Rule]] = {
    Op.LOGITS: {
        0: (Op.LOGITS_BACKWARD_H, ("dy", "in1")),
        1: (Op.LOGITS_BACKWARD_E, ("in0", "dy")),
    },
    Op.LINEAR: {
        0: (Op.LINEAR_BACKWARD_X, ("dy", "in1")),
        1: (Op.LINEAR_BACKWARD_W, ("in0", "dy")),
        2: (Op.LINEAR_BACKWARD_B, ("dy",)),
    },
    Op.PROJECT_HEADS: {
        0: (Op.PROJECT_HEADS_BACKWARD_X, ("dy", "in1")),
        1: (Op.PROJECT_HEADS_BACKWARD_W, ("in0", "dy")),
        2: (Op.PROJECT_HEADS_BACKWARD_B, ("dy",)),
    },
    Op.CONCAT_HEADS: {0: (Op.CONCAT_HEADS_BACKWARD, ("dy",))},
    Op.ATTEND: {
        0: (Op.ATTEND_BACKWARD_WEIGHTS, ("dy", "in1")),
        1: (Op.ATTEND_BACKWARD_V, ("in0", "dy")),
    },
    Op.SOFTMAX: {0: (Op.SOFTMAX_BACKWARD, ("out", "dy"))},
    Op.APPLY_MASK: {0: (Op.APPLY_MASK_BACKWARD, ("dy", "masks"))},
    Op.SCALE: {0: (Op.SCALE_BACKWARD, ("dy",))},
    Op.QK: {
        0: (Op.QK_BACKWARD_Q, ("dy", "in1")),
        1: (Op.QK_BACKWARD_K, ("dy", "in0")),
    },
    Op.LAYER_NORM: {
        0: (Op.LAYER_NORM_BACKWARD_X, ("in0", "in1", "dy")),
        1: (Op.LAYER_NORM_BACKWARD_GAMMA, ("in0", "dy")),
        2: (Op.LAYER_NORM_BACKWARD_BETA, ("dy",)),
    },
    Op.RELU: {0: (Op.RELU_BACKWARD, ("in0", "dy"))},
    Op.GELU: {0: (Op.GELU_BACKWARD, ("in0", "dy"))},
    Op.ADD: {0: (Op.ADD_BACKWARD, ("dy",)), 1: (Op.ADD_BACKWARD, ("dy",))},
    Op.SCALE_EMBEDDING: {0: (Op.SCALE_EMBEDDING_BACKWARD, ("dy",))},
    Op.EMBEDDING: {1: (Op.EMBEDDING_BACKWARD, ("in0", "dy"))},
}
"""Forward op → {input position: its backward rule}. Positions not listed (the
one-hot rows, masks) are constants and get no gradient."""


@dataclass(frozen=True)
class Context:
    """The sizes a backward op needs besides its arrays."""

    n_heads: int
    d_k: int
    d_model: int
    eps: float
    eos_id: int  # the label after the last word
    shift: bool  # decoders predict the next token; an encoder its own


A = Sequence[np.ndarray]
FUNCTIONS: dict[Op, Callable[[A, Context], np.ndarray]] = {
    Op.LABELS: lambda a, c: loss_mod.next_token_labels(a[0], c.eos_id, shift=c.shift),
    Op.CROSS_ENTROPY: lambda a, c: loss_mod.cross_entropy(a[0], a[1]),
    Op.CROSS_ENTROPY_BACKWARD: lambda a, c: loss_mod.cross_entropy_backward(*a),
    Op.LOGITS_BACKWARD_H: lambda a, c: linear.logits_backward_h(*a),
    Op.LOGITS_BACKWARD_E: lambda a, c: linear.logits_backward_e(*a),
    Op.LINEAR_BACKWARD_X: lambda a, c: linear.linear_backward_x(*a),
    Op.LINEAR_BACKWARD_W: lambda a, c: linear.linear_backward_w(*a),
    Op.LINEAR_BACKWARD_B: lambda a, c: linear.linear_backward_b(*a),
    Op.PROJECT_HEADS_BACKWARD_X: lambda a, c: linear.project_heads_backward_x(*a),
    Op.PROJECT_HEADS_BACKWARD_W: lambda a, c: linear.project_heads_backward_w(*a),
    Op.PROJECT_HEADS_BACKWARD_B: lambda a, c: linear.project_heads_backward_b(*a),
    Op.CONCAT_HEADS_BACKWARD: lambda a, c: linear.concat_heads_backward(
        a[0], c.n_heads
    ),
    Op.ATTEND_BACKWARD_WEIGHTS: lambda a, c: attention.attend_backward_weights(*a),
    Op.ATTEND_BACKWARD_V: lambda a, c: attention.attend_backward_v(*a),
    Op.SOFTMAX_BACKWARD: lambda a, c: attention.softmax_backward(*a),
    Op.APPLY_MASK_BACKWARD: lambda a, c: attention.apply_mask_backward(*a),
    Op.SCALE_BACKWARD: lambda a, c: attention.scale_backward(a[0], c.d_k),
    Op.QK_BACKWARD_Q: lambda a, c: attention.qk_backward_q(*a),
    Op.QK_BACKWARD_K: lambda a, c: attention.qk_backward_k(*a),
    Op.LAYER_NORM_BACKWARD_X: lambda a, c: layer_norm.layer_norm_backward_x(*a, c.eps),
    Op.LAYER_NORM_BACKWARD_GAMMA: lambda a, c: layer_norm.layer_norm_backward_gamma(
        *a, c.eps
    ),
    Op.LAYER_NORM_BACKWARD_BETA: lambda a, c: layer_norm.layer_norm_backward_beta(*a),
    Op.RELU_BACKWARD: lambda a, c: activations.relu_backward(*a),
    Op.GELU_BACKWARD: lambda a, c: activations.gelu_backward(*a),
    Op.ADD_BACKWARD: lambda a, c: embedding.add_backward(*a),
    Op.SCALE_EMBEDDING_BACKWARD: lambda a, c: embedding.scale_embedding_backward(
        a[0], c.d_model
    ),
    Op.EMBEDDING_BACKWARD: lambda a, c: embedding.embedding_backward(*a),
    Op.GRAD_SUM: lambda a, c: embedding.grad_sum(*a),
}
"""Backward op → its NumPy function on the arrays its stage names."""

BACKWARD_OPS = frozenset(FUNCTIONS)
"""Every op of a ``backward.*`` stage."""


def evaluate(op: Op, arrays: A, ctx: Context) -> np.ndarray:
    """The value of a backward stage from the arrays of its inputs."""
    return np.asarray(FUNCTIONS[op](arrays, ctx))
