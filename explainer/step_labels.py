"""The labels a derivation step's support gets, and steps counted by label in
words: "13 proved, 2 checked on instances, 2 definitions, 0 numeric, 0
assumptions".

Kept apart from :mod:`explainer.symbolic.derivation` (which defines the steps and
re-exports these names) because a page counts steps without proving any: the
report and ``explainer verify`` read the counts of remembered views and must not
import SymPy for the words.
"""

from __future__ import annotations

from explainer.i18n import N_, _, ngettext

KINDS: dict[str, str] = {
    "proved": N_("proved symbolically, for all sizes"),
    "instances": N_("checked on instances"),
    "definition": N_("a definition or rewrite"),
    "numeric": N_("a numeric estimate"),
    "assumption": N_("an assumption, not proved"),
}
"""What a step's support is, by the ``kind`` it declares (English; ``_()`` where
shown)."""

IDENTICAL = "identical"
"""The label of a step whose two sides are one expression: it proves nothing."""

LABELS = (*KINDS, IDENTICAL)
"""Every label a step can get, in the order counts are shown."""

_COUNTED = {
    "proved": lambda n: ngettext("{n} proved", "{n} proved", n),
    "instances": lambda n: ngettext(
        "{n} checked on instances", "{n} checked on instances", n
    ),
    "definition": lambda n: ngettext("{n} definition", "{n} definitions", n),
    "numeric": lambda n: ngettext("{n} numeric", "{n} numeric", n),
    "assumption": lambda n: ngettext("{n} assumption", "{n} assumptions", n),
    IDENTICAL: lambda n: ngettext(
        "{n} identical (no proof)", "{n} identical (no proof)", n
    ),
}


def tally_text(counts: dict[str, int], zeros: bool = True) -> str:
    """'41 proved, 12 checked on instances, 20 definitions, 3 numeric, 0 assumptions'
    (and how many steps are identical on both sides, when any are); without
    ``zeros``, only the labels some step has.

    >>> tally_text({"proved": 9, "numeric": 3}, zeros=False)
    '9 proved, 3 numeric'
    """
    words = []
    for label in LABELS:
        count = counts.get(label, 0)
        if count or (zeros and label != IDENTICAL):
            words.append(_COUNTED[label](count).format(n=count))
    return _(", ").join(words)
