"""Reading a small file the user names (a config, a corpus), with one-line
errors and a size limit: ``--config /dev/zero`` must not fill the memory."""

from __future__ import annotations

from pathlib import Path


def read_text(path: str | Path, what: str, limit: int) -> str:
    """The UTF-8 text of ``path``, at most ``limit`` bytes; ``what`` names the file
    in errors (``"config file"``).

    >>> read_text("/dev/zero", "config file", 1 << 20)
    Traceback (most recent call last):
    ...
    ValueError: config file '/dev/zero' is larger than 1 MiB; is it the right file?
    """
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{what} {str(path)!r} is not UTF-8 text (byte {err.start + 1})"
        ) from None


def read_bytes(path: str | Path, what: str, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit``; ``what`` names the file in errors."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"{what} {str(path)!r} is a folder; give a file") from None
    if len(data) > limit:
        raise ValueError(
            f"{what} {str(path)!r} is larger than {limit >> 20} MiB; "
            "is it the right file?"
        )
    return data
