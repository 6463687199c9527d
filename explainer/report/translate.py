"""The words of the remembered views, in the language of the page.

Derivation views are built once, in English, and remembered between runs
(:mod:`explainer.report.cache`); the templates translate their words when they
render: ``{{ s.why|t }}``, ``{{ s|support }}``, ``{{ view.tally|tally }}``. So a
report in one language never shows words remembered from another.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from explainer.i18n import N_, _, current, language
from explainer.i18n import ngettext as _ngettext

P = ParamSpec("P")
R = TypeVar("R")


def text(message: str) -> str:
    """``message`` (an English text marked with ``N_`` where it is defined) in the
    language in use; a plain ``str``, so that the template escapes it."""
    return first_uses(_(message), message) if message else message


def label(message: str) -> str:
    """A short label in the language in use (a heading of the diagram): never
    followed by a term's English, which belongs in the text."""
    return _(message) if message else message


def support(step: Any) -> str:
    """A step view's support in words ('proved symbolically, for all sizes',
    'checked for n = 2…5'), from its label: the English ``step.support`` is what
    the view remembers."""
    from explainer.step_labels import IDENTICAL, KINDS

    if step.label == IDENTICAL:
        return _("both sides identical: not a proof")
    if step.label == "instances":
        cases = step.support.removeprefix("checked for ")
        return _("checked for {cases}").format(cases=cases)
    return _(KINDS[step.label])


def tally(counts: Sequence[int]) -> str:
    """The steps per label (in the order of ``LABELS``) in words."""
    from explainer.step_labels import LABELS, tally_text

    return tally_text(dict(zip(LABELS, counts, strict=True)))


def english(build: Callable[P, R]) -> Callable[P, R]:
    """Run ``build`` in English: for the views that are remembered between runs,
    whose words the templates translate (see :func:`text`)."""

    @functools.wraps(build)
    def in_english(*args: P.args, **kwargs: P.kwargs) -> R:
        with language("en"):
            return build(*args, **kwargs)

    return in_english


def weights(described: str) -> str:
    """The trained weights' line (``Trace.weights``, English) in the language in
    use, a glossary term's English after it at its first use on the page."""
    from explainer.weights_line import weights_line

    return first_uses(weights_line(described), described) if described else described


STACKS = (N_("encoder"), N_("decoder"), N_("output"))
"""A section's ``stack``, shown as ``{{ sec.stack|t }}``: marked for the catalog."""


# --- the English term at its first use on a page ----------------------------------

_page: ContextVar[set[str] | None] = ContextVar("explainer_page_terms", default=None)
PROSE_WORDS = 6
"""A message of this many words or more is prose (headings and labels are shorter)."""


@functools.cache
def _glossary() -> tuple[tuple[str, str, bool], ...]:
    """(Chinese, English, whether to name the English) of every glossary term, the
    longest Chinese first (so that 自注意力 is found before 注意力)."""
    import tomllib

    path = Path(__file__).resolve().parents[1] / "locale" / "glossary.toml"
    terms = tomllib.loads(path.read_text(encoding="utf-8"))["term"]
    return tuple(
        sorted(
            ((t["zh"], t["en"][0], t.get("annotate", True)) for t in terms),
            key=lambda t: -len(t[0]),
        )
    )


@contextmanager
def page() -> Iterator[None]:
    """While a page renders: the first time a glossary term appears in a
    translated text, its English follows in parentheses, 自注意力（self-attention）."""
    token = _page.set(set())
    try:
        yield
    finally:
        _page.reset(token)


def first_uses(text: str, english: str = "") -> str:
    """``text`` with the English of each glossary term it is the first on the page
    to use (only while :func:`page` is on, for a Chinese page, and in prose: a
    message of six words or more, ``english``, not a heading or a label). A term
    inside a longer one (注意力 in 自注意力) does not count as a use."""
    seen = _page.get()
    if seen is None or current() == "en" or len(english.split()) < PROSE_WORDS:
        return text
    taken: list[tuple[int, int]] = []  # where the longer terms are
    notes: list[tuple[int, str]] = []
    for zh, en, annotate in _glossary():
        spans = [(m.start(), m.end()) for m in re.finditer(re.escape(zh), text)]
        free = [
            (a, b) for a, b in spans if not any(c <= a and b <= d for c, d in taken)
        ]
        taken += spans
        if not annotate or zh in seen or not free:
            continue
        seen.add(zh)
        end = free[0][1]
        if not text.startswith("（", end):  # the translation may name it already
            notes.append((end, f"（{en}）"))
    for end, note in sorted(notes, reverse=True):
        text = text[:end] + note + text[end:]
    return text


def gettext(message: str) -> str:
    """The templates' ``_()`` and ``{% trans %}``: :func:`first_uses` of the
    translation."""
    return first_uses(_(message), message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The templates' plural ``{% trans %}``."""
    return first_uses(_ngettext(singular, plural, n), plural)
