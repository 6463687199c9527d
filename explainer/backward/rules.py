"""Which backward rule each forward op has, for each of its inputs, and the one
place where a backward op is evaluated on arrays (the backward pass and verify
both call :func:`evaluate`).

Both come from the ops' entries (:data:`explainer.ops.OPS`): a forward op's
``grads`` and a backward op's ``numeric``. A rule's arguments name what it reads:
``dy`` is ∂L/∂(the forward stage), ``out`` the forward stage's own value, ``in0``,
``in1``, … its inputs, ``masks`` every input from the second on (the masks of
``apply_mask``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explainer.ops.context import GradContext as Context
from explainer.ops.registry import OPS, Column, Flagged
from explainer.ops.spec import GradRule as Rule
from explainer.trace import Op

__all__ = ["BACKWARD_OPS", "FUNCTIONS", "RULES", "Context", "Rule", "evaluate"]

RULES = Column("grads")
"""Forward op → {input position: its backward rule}. Positions not listed (the
one-hot rows, masks) are constants and get no gradient."""

FUNCTIONS = Column("numeric", where=lambda spec: spec.backward)
"""Backward op → its NumPy function on the arrays its stage names."""

BACKWARD_OPS = Flagged("backward")
"""Every op of a ``backward.*`` stage."""

A = Sequence[np.ndarray]


def evaluate(op: Op, arrays: A, ctx: Context) -> np.ndarray:
    """The value of a backward stage from the arrays of its inputs."""
    spec = OPS[op]
    if not spec.backward or spec.numeric is None:
        raise KeyError(op)
    return np.asarray(spec.numeric(arrays, ctx))
