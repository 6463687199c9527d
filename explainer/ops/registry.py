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
from explainer.ops.formula import expression
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


class Table(dict[Op, OpSpec]):
    """A dict that counts its changes, so that the views below rebuild their index
    only after one (a lookup is then one dict access: the backward pass makes
    several per stage, every training step)."""

    version = 0

    def _changed(self) -> None:
        self.version += 1

    def __setitem__(self, op: Op, spec: OpSpec) -> None:
        super().__setitem__(op, spec)
        self._changed()

    def __delitem__(self, op: Op) -> None:
        super().__delitem__(op)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self._changed()

    def pop(self, *args: Any) -> Any:
        self._changed()
        return super().pop(*args)

    def popitem(self) -> tuple[Op, OpSpec]:
        self._changed()
        return super().popitem()

    def setdefault(self, op: Op, spec: OpSpec) -> OpSpec:  # type: ignore[override]
        self._changed()
        return super().setdefault(op, spec)

    def clear(self) -> None:
        super().clear()
        self._changed()


OPS: Table = Table(collect(FAMILIES))
"""Op → its entry. Tests may add a toy op (``monkeypatch.setitem``)."""


class Column(Mapping[Op, Any]):
    """Op → one field of its entry, for the ops where that field is set (and, with
    ``where``, the entry passes it): a view of :data:`OPS`, up to date at each use.
    A :class:`~explainer.ops.formula.Formula` is read as its SymPy expression,
    built when it is looked up (which ops have one is known without SymPy).
    """

    def __init__(self, field: str, where: Callable[[OpSpec], bool] | None = None):
        self.field, self.where = field, where
        self._index: dict[Op, Any] = {}
        self._version = -1

    def _value(self, spec: OpSpec) -> Any:
        if self.where is not None and not self.where(spec):
            return None
        value = getattr(spec, self.field)
        return value if value is not None and value != "" and value != {} else None

    def _table(self) -> dict[Op, Any]:
        if self._version != OPS.version:
            values = {op: self._value(spec) for op, spec in OPS.items()}
            self._index = {op: v for op, v in values.items() if v is not None}
            self._version = OPS.version
        return self._index

    def __getitem__(self, op: Op) -> Any:
        return expression(self._table()[op])

    def get(self, op: Op, default: Any = None) -> Any:
        return expression(self._table().get(op, default))

    def __contains__(self, op: object) -> bool:
        return op in self._table()

    def __iter__(self) -> Iterator[Op]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())


class Flagged(Set[Op]):
    """The ops whose entry has a true ``field`` (``exact``, ``backward``): a view
    of :data:`OPS` that behaves as a set, up to date at each use."""

    def __init__(self, field: str):
        self.field = field
        self._index: frozenset[Op] = frozenset()
        self._version = -1

    @classmethod
    def _from_iterable(cls, ops: Iterable[Op]) -> frozenset[Op]:
        """What set operations (``-``, ``&``, ``|``) return: a plain frozenset."""
        return frozenset(ops)

    def _table(self) -> frozenset[Op]:
        if self._version != OPS.version:
            ops = (op for op, spec in OPS.items() if getattr(spec, self.field))
            self._index, self._version = frozenset(ops), OPS.version
        return self._index

    def __contains__(self, op: object) -> bool:
        return op in self._table()

    def __iter__(self) -> Iterator[Op]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())
