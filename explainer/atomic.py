"""Write files so that an interrupted run never leaves a half-written file."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over
    ``path``. Raises FileNotFoundError naming the folder if it does not exist."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return _replace(Path(path), lambda handle: handle.write(raw))


def copy_atomic(source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to ``target`` the same way (creating ``target``'s folder)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src:
        return _replace(target, lambda out: shutil.copyfileobj(src, out, 1 << 20))


def _replace(path: Path, fill: Callable[[BinaryIO], object]) -> Path:
    """Let ``fill`` write a temporary file beside ``path``, then rename it over."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(
            f"the folder {str(folder)!r} of {str(path)!r} does not exist; "
            "create it first"
        )
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; give a file name")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
