"""Turning library errors into one-line command errors (exit code 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from explainer.i18n import _


class InputError(click.ClickException):
    """Bad input from the user: one line, exit code 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(error_line(self.format_message()), err=True, file=file)


def error_line(message: str) -> str:
    """``error: message``, in the language in use."""
    return _("error: {message}").format(message=message)


@contextmanager
def user_errors() -> Iterator[None]:
    """Report ValueError / OSError raised by the library as :class:`InputError`."""
    try:
        yield
    except (ValueError, OSError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else repr(err)
        raise InputError(message) from None
