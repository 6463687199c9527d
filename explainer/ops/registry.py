"""Every op's entry, in one table: :data:`OPS`, op → :class:`OpSpec`.

The entries live in one file per family of ops (``explainer/ops/embedding.py``,
``attention.py``, ``layers.py``, ``output.py``, ``bert.py``, ``llama.py``), each a
tuple ``SPECS``; this module gathers them and checks that every :class:`Op` has
exactly one. Who reads what:

- :mod:`explainer.verify.formulas`: ``formula``, ``evaluate``, ``exact``;
- :mod:`explainer.backward.rules`: ``grads`` and the backward ops' ``numeric``;
- :mod:`explainer.verify.backward_sympy`: the backward ops' ``rule`` and ``sympy``;
- the report: ``formula``, ``gloss`` and ``caption``; ``section`` and ``scene``
  name the report section and the video scene that explain the op (checked by
  tests/test_ops.py against explainer.report.grouping and explainer.render).

The tables those modules export (``FORMULAS``, ``EXACT_OPS``, ``RULES``,
``FUNCTIONS``, ``BACKWARD_OPS``) are views of :data:`OPS`, read at each use: an
entry added to it (a test's toy op) is seen everywhere at once.

>>> OPS[Op.SOFTMAX].section, OPS[Op.SOFTMAX].scene
('softmax', 'softmax')
>>> OPS[Op.LINEAR].grads[1]
(<Op.LINEAR_BACKWARD_W: 'linear_backward_w'>, ('in0', 'dy'))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Set
from types import ModuleType
from typing import Any

from explainer.ops import attention, bert, embedding, layers, llama, output
from explainer.ops.spec import OpSpec
from explainer.trace import Op

FAMILIES: tuple[ModuleType, ...] = (embedding, attention, layers, output, bert, llama)


def collect(families: Iterable[ModuleType], ops: Iterable[Op] = Op) -> dict[Op, OpSpec]:
    """The entries of ``families`` by op; ValueError naming an op of ``ops`` with
    no entry, an op with two, or an entry that names a rule nobody defines."""
    specs: dict[Op, OpSpec] = {}
    for family in families:
        for spec in family.SPECS:
            if spec.op in specs:
                raise ValueError(
                    f"op {str(spec.op)!r} has two entries (the second in "
                    f"{family.__name__}); keep one"
                )
            specs[spec.op] = spec
    missing = [str(op) for op in ops if op not in specs]
    if missing:
        raise ValueError(
            f"op {', '.join(missing)} has no entry in explainer/ops: add an OpSpec "
            "to the SPECS of its family (README, 'Adding an op')"
        )
    for spec in specs.values():
        for problem in _problems(spec, specs):
            raise ValueError(f"op {str(spec.op)!r}: {problem}")
    return specs


def _problems(spec: OpSpec, specs: Mapping[Op, OpSpec]) -> Iterator[str]:
    if spec.formula is not None and spec.evaluate is None:
        yield "a formula needs an evaluate (how verify applies it to arrays)"
    if (spec.rule == "") != (spec.sympy is None):
        yield "a SymPy rule needs both its name (rule) and its function (sympy)"
    if spec.backward and spec.numeric is None:
        yield "a backward op needs its NumPy rule (numeric)"
    for position, (grad, _) in spec.grads.items():
        if grad not in specs or not specs[grad].backward:
            yield f"input {position}'s gradient {str(grad)!r} is not a backward op"


OPS: dict[Op, OpSpec] = collect(FAMILIES)
"""Op → its entry. Tests may add a toy op (``monkeypatch.setitem``)."""


class Column(Mapping[Op, Any]):
    """Op → one field of its entry, for the ops where that field is set (and, with
    ``where``, the entry passes it): a live view of :data:`OPS`."""

    def __init__(self, field: str, where: Callable[[OpSpec], bool] | None = None):
        self.field, self.where = field, where

    def _value(self, spec: OpSpec | None) -> Any:
        if spec is None or (self.where is not None and not self.where(spec)):
            return None
        value = getattr(spec, self.field)
        return value if value is not None and value != "" and value != {} else None

    def __getitem__(self, op: object) -> Any:
        value = self._value(OPS.get(op))  # type: ignore[call-overload]
        if value is None:
            raise KeyError(op)
        return value

    def __iter__(self) -> Iterator[Op]:
        return (op for op, spec in OPS.items() if self._value(spec) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, op: object) -> bool:
        return self._value(OPS.get(op)) is not None  # type: ignore[call-overload]


class Flagged(Set[Op]):
    """The ops whose entry has a true ``field`` (``exact``, ``backward``): a live
    view of :data:`OPS` that behaves as a set."""

    def __init__(self, field: str):
        self.field = field

    @classmethod
    def _from_iterable(cls, ops: Iterable[Op]) -> frozenset[Op]:
        """What set operations (``-``, ``&``, ``|``) return: a plain frozenset."""
        return frozenset(ops)

    def __contains__(self, op: object) -> bool:
        spec = OPS.get(op)  # type: ignore[call-overload]
        return spec is not None and bool(getattr(spec, self.field))

    def __iter__(self) -> Iterator[Op]:
        return (op for op, spec in OPS.items() if getattr(spec, self.field))

    def __len__(self) -> int:
        return sum(1 for _ in self)
