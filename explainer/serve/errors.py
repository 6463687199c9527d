"""A request the server refuses: an HTTP status and a one-line message, sent as
``{"error": "…"}``."""

from __future__ import annotations


class ApiError(Exception):
    """Bad input (4xx) with the message the page shows in place."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
