"""The language of the words a learner reads: English (the source text) or Chinese.

Messages are marked in the source and translated with GNU gettext: ``_()`` for a
message translated where it is written, ``ngettext()`` for one with a number,
``pgettext()`` for one word with two meanings,
``N_()`` for a message defined at import time and translated where it is shown
(``_(STEP_REASON)``). Jinja templates use the same functions through Jinja's
i18n extension (``{% trans %}`` and ``_()``). The catalog is
``explainer/locale/zh/LC_MESSAGES/explainer.po``, compiled to ``explainer.mo``
(``scripts/i18n.sh`` extracts, updates and compiles it).

The language is, first to last: ``--lang``, ``EXPLAINER_LANG``, the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh_*`` gives Chinese), English.

>>> with language("zh"):
...     _("error: {message}").format(message="…")
'错误：…'
>>> _("error: {message}").format(message="…")
'error: …'
>>> with language("zh"):
...     ngettext("{n} definition", "{n} definitions", 3).format(n=3)
'3 个定义'
"""

from __future__ import annotations

import functools
import gettext as _gettext
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

LANGUAGES = ("en", "zh")
"""The languages of the text: English (the messages as written) and Chinese."""

DOMAIN = "explainer"
LOCALE_DIR = Path(__file__).parent / "locale"

_chosen: ContextVar[str | None] = ContextVar("explainer_language", default=None)
_process = {"lang": "en"}  # set_language(): the whole process, every thread


def check_language(lang: str, source: str = "--lang") -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else ValueError naming it."""
    if lang not in LANGUAGES:
        raise ValueError(f"{source} {lang!r} is not a language here: give en or zh")
    return lang


def choose(lang: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to use: ``lang`` (the ``--lang`` option), else
    ``EXPLAINER_LANG``, else the locale (``zh_*`` → zh), else English.

    >>> choose("zh", {})
    'zh'
    >>> choose(None, {"EXPLAINER_LANG": "en", "LANG": "zh_CN.UTF-8"})
    'en'
    >>> choose(None, {"LANG": "zh_TW.UTF-8"})
    'zh'
    >>> choose(None, {"LC_ALL": "C", "LANG": "zh_CN.UTF-8"})
    'en'
    """
    environ = os.environ if environ is None else environ
    if lang:
        return check_language(lang)
    if environ.get("EXPLAINER_LANG"):
        return check_language(environ["EXPLAINER_LANG"], "EXPLAINER_LANG")
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name)
        if value:  # the first one set decides, as in the C library
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang``; English is the source text itself."""
    if check_language(lang, "language") == "en":
        return _gettext.NullTranslations()
    try:
        return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])
    except FileNotFoundError:
        raise ValueError(
            f"the {lang} catalog {DOMAIN}.mo is missing from {LOCALE_DIR}: "
            "run scripts/i18n.sh (or reinstall explainer)"
        ) from None


def current() -> str:
    """The language in use: :func:`language`'s, else :func:`set_language`'s."""
    return _chosen.get() or _process["lang"]


def set_language(lang: str) -> None:
    """Use ``lang`` from now on, in the whole process (the command line's choice)."""
    translations(lang)  # a missing catalog fails here, not at the first message
    _process["lang"] = lang


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Use ``lang`` inside the ``with`` block (this thread or task only)."""
    translations(lang)
    token = _chosen.set(lang)
    try:
        yield
    finally:
        _chosen.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` for the number ``n``, in the current language
    (Chinese has one form for every number)."""
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, as meant in ``context`` (for one
    English word with two meanings)."""
    return translations(current()).pgettext(context, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog without translating it: for text defined at
    import time, translated by ``_()`` where it is shown."""
    return message


_ = gettext
