"""A learner's reading pace: how long a caption must stay fully shown.

Every caption stays at least 1.0 s + 0.3 s per word; two Chinese, Japanese or
Korean characters count as one word. The scenes hold each caption that long
(:class:`explainer.scenes.common.TraceScene`) and ``explainer render --check``
measures that they did (:mod:`explainer.render.lint`).
"""

from __future__ import annotations

import unicodedata

BASE_SECONDS = 1.0  # every caption: 1.0 s ...
SECONDS_PER_WORD = 0.3  # ... + 0.3 s per word
CJK_PER_WORD = 2  # two CJK characters count as a word


def is_cjk(char: str) -> bool:
    """A Chinese, Japanese or Korean ideograph or syllable.

    >>> is_cjk("注"), is_cjk("a"), is_cjk("。")
    (True, False, False)
    """
    name = unicodedata.name(char, "")
    return name.startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH", "HANGUL"))


def count_words(content: str) -> float:
    """Words in ``content``: space-separated words, plus one per two CJK characters.

    >>> count_words("Each token's id is its row"), count_words("注意力机制")
    (6.0, 2.5)
    >>> count_words("a 你好")
    2.0
    """
    cjk = sum(1 for char in content if is_cjk(char))
    rest = "".join(" " if is_cjk(char) else char for char in content)
    latin = sum(1 for part in rest.split() if any(ch.isalnum() for ch in part))
    return latin + cjk / CJK_PER_WORD


def required_seconds(content: str) -> float:
    """How long a caption must stay fully shown: 1.0 s + 0.3 s per word.

    >>> round(required_seconds("The sentence, exactly as typed"), 2)
    2.5
    """
    return BASE_SECONDS + SECONDS_PER_WORD * count_words(content)
