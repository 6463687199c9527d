"""A request the server refuses: an HTTP status and a one-line message, sent as
``{"error": "…"}``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class ApiError(Exception):
    """Bad input (4xx) with the message the page shows in place."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@contextlib.contextmanager
def library_errors() -> Iterator[None]:
    """The library's errors as answers: a ValueError (bad input) is a 400 with its
    first line; a FileNotFoundError (a model package this server lacks, named with
    the pip line that installs it) is a 503."""
    try:
        yield
    except ValueError as err:
        raise ApiError(_first_line(err)) from None
    except FileNotFoundError as err:
        raise ApiError(_first_line(err), 503) from None


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
