"""Output paths checked against the command's own input files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from explainer.i18n import _


def refuse_overwriting_inputs(
    out: str | Path, inputs: Mapping[str, str | Path | None], flag: str = "--out"
) -> None:
    """Raise ValueError if ``out`` is one of ``inputs`` (option → file), so that
    writing the output never destroys what it was made from.

    >>> refuse_overwriting_inputs("t.json", {"--trace": "./t.json"})
    Traceback (most recent call last):
    ...
    ValueError: --out 't.json' is the --trace file; writing it would destroy the \
input: give another --out
    """
    for option, given in inputs.items():
        if given is not None and same_file(out, given):
            raise ValueError(
                _(
                    "{flag} {out} is the {option} file; writing it would destroy "
                    "the input: give another {flag}"
                ).format(flag=flag, out=repr(str(out)), option=option)
            )


def same_file(a: str | Path, b: str | Path) -> bool:
    """True if ``a`` and ``b`` name one file (by inode when both exist, through
    symbolic and hard links; else by resolved path)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()
