"""Each forward-pass op as a function *generated from its SymPy definition*.

The SymPy objects come from :mod:`explainer.symbolic` (one definition per formula);
each op's entry in the registry (:data:`explainer.ops.OPS`) names its formula and
how it is turned into a function (``sp.lambdify``, once, cached) and applied to the
arrays recorded in a trace. Two back-ends evaluate the same expressions: NumPy
(float64) and mpmath (50 significant digits, on object arrays); see
:mod:`explainer.ops.lambdified`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from explainer.ops.context import Context
from explainer.ops.lambdified import DIGITS, MPMATH, NUMPY, Backend
from explainer.ops.registry import OPS, Column, Flagged
from explainer.trace import Op

__all__ = [
    "DIGITS",
    "EXACT_OPS",
    "FORMULAS",
    "MPMATH",
    "NUMPY",
    "Backend",
    "Context",
    "evaluate",
]

FORMULAS = Column("formula")
"""The SymPy expression behind each op (what reports show and verify evaluates)."""

EXACT_OPS = Flagged("exact")
"""Ops whose values are integers or booleans: compared exactly."""

_EVALUATORS = Column("evaluate")
"""Op → its formula applied to arrays (every op but ``token_ids``)."""


def evaluate(
    op: Op, inputs: Sequence[np.ndarray], ctx: Context, backend: Backend = NUMPY
) -> np.ndarray:
    """The value the formula of ``op`` gives on ``inputs``."""
    run = OPS[op].evaluate
    if run is None:
        raise KeyError(op)
    return run(inputs, ctx, backend)
