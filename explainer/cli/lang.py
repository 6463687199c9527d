"""``--lang``: the language of the words the commands print and write."""

from __future__ import annotations

import gettext
import importlib
from collections.abc import Callable, Sequence
from typing import Any

import click

from explainer import i18n
from explainer.i18n import N_, _
from explainer.wording import Words, joined, shown, words


def lang_from_argv(argv: Sequence[str]) -> str | None:
    """The value of ``--lang`` in ``argv``, read before click parses it, so that
    help and usage errors are in that language too.

    >>> lang_from_argv(["report", "--lang", "zh", "--out", "x.html"])
    'zh'
    >>> lang_from_argv(["verify", "--lang=en"])
    'en'
    >>> lang_from_argv(["trace", "--", "--lang", "zh"]) is None
    True
    """
    for i, arg in enumerate(argv):
        if arg == "--":
            return None
        if arg == "--lang" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
    return None


def _use(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        i18n.set_language(value)


def lang_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--lang zh|en`` to ``command``; the command does not receive it."""
    return click.option(
        "--lang",
        type=click.Choice(i18n.LANGUAGES),
        expose_value=False,
        is_eager=True,
        callback=_use,
        help=N_(
            "language of the text: zh (Chinese) or en (English); default: "
            "EXPLAINER_LANG, else the locale (zh_* gives zh), else en"
        ),
    )(command)


_HELP_TEXTS: dict[str, Words] = {}
"""Each help text made by :func:`help_text`, by its English (click keeps an
option's help as a plain ``str``)."""


def help_text(message: str, **values: Any) -> Words:
    """An option's help, ``message`` (marked with ``N_()``) with ``values``: in
    English now, in the language in use when ``--help`` shows it."""
    text = words(message, **values)
    _HELP_TEXTS[text] = text
    return text


def in_language(command: click.Command) -> click.Command:
    """``command`` with its help and its options' help in the language in use.

    Click reads a help text when it formats ``--help``, but the decorators store
    it when the command is defined: each is kept in English (a message marked
    with ``N_()``, or a :class:`~explainer.wording.Words` with its values) and
    put in the language in use whenever the command is looked up.
    """
    click_in_language()  # "-h, --help" is made again with click's own words
    if getattr(command, "_help_option", None) is not None:
        command._help_option = None  # made again, in the language in use
    for item in (command, *command.params):
        if not hasattr(item, "help"):
            continue
        english = item.__dict__.setdefault("english_help", item.help)
        english = _HELP_TEXTS.get(english, english)
        if english:
            item.help = shown(english) if isinstance(english, Words) else _(english)
    return command


CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "types")


def click_in_language() -> None:
    """Click's own words ("Usage:", "Options", its usage errors) through this
    catalog: click marks them with the standard library's ``gettext``, whose
    global domain holds no catalog of ours. Only those functions are replaced."""
    for name in CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if getattr(module, "_", None) is gettext.gettext:
            module._ = i18n.gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = i18n.ngettext  # type: ignore[attr-defined]


def command_help(text: str, examples: str) -> Words:
    """A command's ``--help``: ``text`` (marked with ``N_()``), then its
    ``examples``, commands kept as written (``\\b``: click does not rewrap them)."""
    return joined([words(text), "\n\n\b\n", words(N_("Examples:")), "\n", examples], "")
