"""The words of the remembered views, in the language of the page.

Derivation views are built once, in English, and remembered between runs
(:mod:`explainer.report.cache`); the templates translate their words when they
render: ``{{ s.why|t }}``, ``{{ s|support }}``, ``{{ view.tally|tally }}``. So a
report in one language never shows words remembered from another.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from explainer.i18n import N_, _, language

P = ParamSpec("P")
R = TypeVar("R")


def text(message: str) -> str:
    """``message`` (an English text marked with ``N_`` where it is defined) in the
    language in use; a plain ``str``, so that the template escapes it."""
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


STACKS = (N_("encoder"), N_("decoder"), N_("output"))
"""A section's ``stack``, shown as ``{{ sec.stack|t }}``: marked for the catalog."""
