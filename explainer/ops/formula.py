"""An op's SymPy definition, made when first needed, and the functions lambdified
from it.

Each op's formula is defined once, as SymPy (``explainer/symbolic``), in the
entry of its op (``explainer/ops/*.py``). Making those objects means importing
SymPy (0.6 s) and building every formula, which a run whose functions are
remembered (:mod:`explainer.ops.remember`) never needs: so an entry holds a
:class:`Formula`, a name and a function that builds the SymPy object, and the
object is built on first use (to show it, to prove it, or on a cache miss).

>>> import sympy as sp
>>> z = sp.Symbol("z")
>>> double = Formula("double", lambda: ((z,), 2 * z))
>>> double.expr
2*z
>>> double.function("numpy")(3.0)
6.0
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from explainer.ops import remember

if TYPE_CHECKING:
    import sympy as sp


class later:  # lower case: it stands where a module would
    """A module imported on first use of one of its names: the ops' rules call
    SymPy and :mod:`explainer.symbolic`, which only a cache miss, a proof or the
    backward pass's check needs."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        return getattr(importlib.import_module(self._name), attribute)


def symbols() -> ModuleType:
    """:mod:`explainer.symbolic.symbols` (the shared symbols), imported now."""
    return importlib.import_module("explainer.symbolic.symbols")


class Formula:
    """An op's SymPy expression and the arguments it is lambdified in, built by
    ``build`` on first use; ``name`` (the op's) files its function in the cache,
    and ``facts`` (what → a function of the formula) the JSON facts remembered
    with it."""

    def __init__(
        self,
        name: str,
        build: Callable[[], tuple[Sequence[Any], Any]],
        facts: dict[str, Callable[[Formula], Any]] | None = None,
    ):
        self.name = name
        self._build = build
        self.facts = dict(facts or {})
        remember.known(f"formula:{name}", self._numpy)  # a cold cache makes all
        for what, find in self.facts.items():
            remember.known(f"formula:{name}:{what}", self._finder(find), "values")

    @functools.cached_property
    def _made(self) -> tuple[tuple[Any, ...], sp.Basic]:
        args, expr = self._build()
        return tuple(args), expr

    @property
    def expr(self) -> sp.Basic:
        """The SymPy expression (what verify evaluates and the report shows)."""
        return self._made[1]

    @property
    def args(self) -> tuple[Any, ...]:
        """The symbols the function takes, in order."""
        return self._made[0]

    def function(self, backend: str) -> Callable[..., Any]:
        """``expr`` lambdified on ``backend`` ("numpy" or "mpmath"); NumPy's is
        remembered across runs."""
        from explainer.ops.lambdified import compiled

        if backend != "numpy":
            return compiled(backend, self.args, self.expr)
        return remember.function(f"formula:{self.name}", self._numpy)

    def _numpy(self) -> Callable[..., Any]:
        from explainer.ops.lambdified import compiled

        return compiled("numpy", self.args, self.expr)

    def _finder(self, find: Callable[[Formula], Any]) -> Callable[[], Any]:
        return lambda: find(self)

    def fact(self, what: str) -> Any:
        """``facts[what](self)``, a JSON value about the formula, remembered
        across runs."""
        return remember.value(
            f"formula:{self.name}:{what}", self._finder(self.facts[what])
        )

    def __repr__(self) -> str:
        return f"Formula({self.name!r})"


def expression(value: Any) -> Any:
    """A field that may hold a :class:`Formula`, as its SymPy expression."""
    return value.expr if isinstance(value, Formula) else value
