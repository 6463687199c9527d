"""One op's entry in the registry (:data:`explainer.ops.registry.OPS`): everything
the project knows about an op, in one frozen value."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from explainer.ops.formula import Formula
from explainer.ops.lambdified import Evaluator
from explainer.trace import Op

if TYPE_CHECKING:
    import sympy as sp

Arrays = Sequence[np.ndarray]
Numeric = Callable[[Arrays, Any], np.ndarray]
"""A NumPy function on a stage's input arrays and its op's context (a
:class:`~explainer.ops.context.Context` for a forward op, a
:class:`~explainer.ops.context.GradContext` for a backward one)."""
GradRule = tuple[Op, tuple[str, ...]]
"""(backward op, what it reads): ``dy`` is ∂L/∂(the forward stage), ``out`` the
forward stage's value, ``in0``, ``in1``, … its inputs, ``masks`` every input from
the second on."""
Example = Callable[[np.random.Generator], tuple[list[np.ndarray], Any]]
"""A random instance: (input arrays, context), for the tests (tests/test_ops.py)."""

_NONE: Mapping[int, GradRule] = MappingProxyType({})


@dataclass(frozen=True)
class OpSpec:
    """An op: how NumPy computes it, its SymPy definition, how verify evaluates
    that definition, what the report and the videos show it with.

    A forward op has a ``formula`` and its ``evaluate``; a backward op (one of the
    ``backward.*`` stages, ``backward=True``) has a NumPy ``numeric`` rule, which
    the backward pass runs, and a ``sympy`` one, which verify compares with it.
    """

    op: Op
    numeric: Numeric | None = None
    """The NumPy function (forward: :mod:`explainer.numeric`; backward: the rules
    of :mod:`explainer.backward`) on the stage's input arrays and the context."""
    formula: Formula | sp.Basic | None = None
    """Forward: the SymPy expression verify evaluates and the report shows (a
    :class:`Formula` builds it on first use; ``FORMULAS[op]`` is the expression)."""
    evaluate: Evaluator | None = None
    """Forward: ``formula`` applied to the input arrays, on a back-end (NumPy
    float64 or mpmath); built from :mod:`explainer.ops.lambdified`."""
    gloss: str = ""
    """What the formula's symbols stand for (the report prints it under it)."""
    exact: bool = False
    """Integers or booleans (ids, masks, one-hot rows): compared exactly."""
    grads: Mapping[int, GradRule] = field(default_factory=lambda: _NONE)
    """Forward: input position → its backward rule. Positions not listed (the
    one-hot rows, masks) are constants and get no gradient."""
    backward: bool = False
    """An op of a ``backward.*`` stage."""
    rule: str = ""
    """Backward: the SymPy rule that ``sympy`` evaluates, named for verify's row."""
    sympy: Numeric | None = None
    """Backward: the SymPy rule, lambdified, on the stage's input arrays."""
    section: str = ""
    """The kind of report section that explains the op (explainer.report.grouping's
    TITLES), '' if none (the backward stages have no sections yet)."""
    caption: str = ""
    """How a table caption names the op's stage ('ReLU'), '' for its stage name."""
    scene: str = ""
    """The video scene that shows it, by its CLI name (explainer.render.registry),
    '' if none; a name, so that nothing here imports Manim."""
    example: Example | None = None
    """A random instance of the op's inputs (tests compare ``numeric`` with
    ``evaluate`` or ``sympy`` on it)."""
