"""Reading a small file the user names (a config, a corpus), with one-line
errors and a size limit: ``--config /dev/zero`` must not fill the memory."""

from __future__ import annotations

from pathlib import Path

from explainer.i18n import _, pgettext


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
            _("{what} {path} is not UTF-8 text (byte {byte})").format(
                what=_file_name(what), path=repr(str(path)), byte=err.start + 1
            )
        ) from None


def read_bytes(path: str | Path, what: str, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit``; ``what`` names the file in errors."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise FileNotFoundError(
            _("{what} {path} does not exist").format(
                what=_file_name(what), path=repr(str(path))
            )
        ) from None
    except IsADirectoryError:
        raise ValueError(
            _("{what} {path} is a folder; give a file").format(
                what=_file_name(what), path=repr(str(path))
            )
        ) from None
    if len(data) > limit:
        raise ValueError(
            _("{what} {path} is larger than {mib} MiB; is it the right file?").format(
                what=_file_name(what), path=repr(str(path)), mib=limit >> 20
            )
        )
    return data


def _file_name(what: str) -> str:
    """``trace file``, ``config file``… in the language in use."""
    names = {
        "trace file": pgettext("a file read", "trace file"),
        "config file": pgettext("a file read", "config file"),
        "corpus file": pgettext("a file read", "corpus file"),
        "weights file": pgettext("a file read", "weights file"),
        "dataset file": pgettext("a file read", "dataset file"),
    }
    return names.get(what, what)
