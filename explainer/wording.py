"""English text made now and shown later, in the language in use then.

A :class:`~explainer.verify.result.CheckResult` holds English text (a check's
name, where it ran, why it failed), so that ``verify``'s results, ``--json`` and
``/api/verify`` are the same in every language; the command line's help texts
are made when the commands are defined, before ``--help`` is asked for. Each such
text is a :class:`Words`: a ``str`` (the English) that keeps its message, marked
for the catalog with ``N_()``, and the values put into it; :func:`shown` gives it
in the language in use, at the moment it is shown.

>>> from explainer.i18n import N_, language
>>> row = words(N_("{differ} of {entries} entries differ"), differ=2, entries=7)
>>> row
'2 of 7 entries differ'
>>> with language("zh"):
...     shown(row)
'7 个元素中有 2 个不同'
>>> shown("encoder.0.ffn.hidden")  # plain text (a stage, a token) stays as it is
'encoder.0.ffn.hidden'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from explainer.i18n import _, language, pgettext


class Words(str):
    """English text (the ``str``) with its ``message`` and ``values``: values that
    are :class:`Words` themselves are translated with it, other values (stage
    names, tokens, numbers) are put in as they are."""

    message: str
    values: dict[str, Any]

    def __new__(cls, message: str, values: dict[str, Any]) -> Words:
        self = super().__new__(cls, message.format(**values) if values else message)
        self.message, self.values = message, values
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # copy, deepcopy (asdict) and pickle
        return Words, (self.message, self.values)

    def shown(self) -> str:
        """The text in the language in use."""
        if not self.values:
            return _(self.message)
        values = {k: shown(v) for k, v in self.values.items()}
        return _(self.message).format(**values)


def words(message: str, **values: Any) -> Words:
    """``message`` (marked with ``N_()`` where it is written) filled with
    ``values``: English now, any language when :func:`shown`."""
    return Words(message, values)


def shown(text: Any) -> Any:
    """``text`` in the language in use if it is :class:`Words`; anything else
    (a stage name, a token, a number) unchanged."""
    return text.shown() if isinstance(text, Words) else text


def joined(parts: list[Any], separator: str = ", ") -> Words:
    """``parts`` joined by ``separator``, each shown in its language.

    >>> joined([words("head {h}", h=1), "row 2"])
    'head 1, row 2'
    """
    names = {f"p{n}": part for n, part in enumerate(parts)}
    return Words(separator.join("{" + name + "}" for name in names), names)


class Later(Words):
    """Text made by ``make(*args)`` in the language in use, at the moment it is
    shown (words already translated elsewhere, such as a tally of steps)."""

    def __new__(cls, make: Callable[..., str], *args: Any) -> Later:
        with language("en"):
            self = str.__new__(cls, make(*args))
        self.message, self.values = str(self), {}
        self.make, self.args = make, args
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return Later, (self.make, *self.args)

    def shown(self) -> str:
        return self.make(*self.args)


def kind_name(check: str) -> str:
    """The kind of a check (``CheckResult.check``) in the language in use."""
    names = {
        "tokens": pgettext("kind of check", "tokens"),
        "structure": pgettext("kind of check", "structure"),
        "formula": pgettext("kind of check", "formula"),
        "identity": pgettext("kind of check", "identity"),
        "precision": pgettext("kind of check", "precision"),
        "derivation": pgettext("kind of check", "derivation"),
        "gradient": pgettext("kind of check", "gradient"),
        "finite differences": pgettext("kind of check", "finite differences"),
        "SymPy rule": pgettext("kind of check", "SymPy rule"),
    }
    return names.get(check, check)
