"""``--lang``: the language of the words the commands print and write."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from explainer import i18n


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
        help="language of the text: zh (Chinese) or en (English); default: "
        "EXPLAINER_LANG, else the locale (zh_* gives zh), else en",
    )(command)
