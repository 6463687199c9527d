"""Turning a shortcut in Manim on for a while, or for good.

The render's exact shortcuts (:mod:`~explainer.render.copies`,
:mod:`~explainer.render.bounds`, :mod:`~explainer.render.paths`,
:mod:`~explainer.render.svg_shapes`, the check's
:mod:`~explainer.render.lint`) each replace an attribute of a Manim (or
svgelements) class for the duration of a ``with`` block; the render pool keeps
them on for the life of its process (:func:`for_good`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

_ON = ExitStack()  # what for_good() turned on, for the life of the process
_TURNED_ON: set[Callable[[], AbstractContextManager[Any]]] = set()


@contextmanager
def patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    """For the duration, ``owner.name`` is ``value``; afterwards it is as it was:
    the owner's own attribute put back, or removed if it was inherited. The owner
    is held here, so undoing works even at interpreter exit, when the names of
    its module may already be gone."""
    had = name in vars(owner)
    own = vars(owner).get(name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        if had:
            setattr(owner, name, own)
        else:
            delattr(owner, name)


def for_good(*shortcuts: Callable[[], AbstractContextManager[Any]]) -> None:
    """Enter each of ``shortcuts()`` for the rest of the process, once."""
    for shortcut in shortcuts:
        if shortcut not in _TURNED_ON:
            _ON.enter_context(shortcut())
            _TURNED_ON.add(shortcut)
