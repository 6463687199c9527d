"""Write files so that an interrupted run never leaves a half-written file.

Every output is written to a hidden temporary file beside it,
``.<name>.<pid>.<random>.tmp``, then renamed over it. A run killed before the rename
leaves its temporary file behind; the next write to the same name removes the ones
whose process is gone. Errors name the user's file, never the temporary one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from explainer.i18n import _

LEGACY_AGE = 3600.0  # seconds after which a temp file without a pid is stale


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over
    ``path``. Raises FileNotFoundError naming the folder if it does not exist."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return _fill(Path(path), lambda handle: handle.write(raw))


def copy_atomic(source: str | Path, target: str | Path) -> Path:
    """Copy ``source`` to ``target`` the same way (creating ``target``'s folder)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src:
        return _fill(target, lambda out: shutil.copyfileobj(src, out, 1 << 20))


def _fill(path: Path, fill: Callable[[BinaryIO], object]) -> Path:
    """Let ``fill`` write a temporary file beside ``path``, then rename it over."""
    with replacing(path) as tmp, open(tmp, "wb") as handle:
        fill(handle)
        handle.flush()
        os.fsync(handle.fileno())
    return path


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """An empty temporary file beside ``path`` for the caller to write; renamed over
    ``path`` when the block ends, deleted if it raises.

    An OSError about the temporary file is raised again naming ``path``.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    check_writable_path(path)
    remove_stale(path)
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=folder
        )
        os.close(fd)
        tmp = Path(name)
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if (
            err.filename is None
            or str(err.filename) in (str(tmp), str(folder))
            or (str(err.filename).startswith(str(folder / f".{path.name}.")))
        ):
            raise _naming(err, path) from None
        raise
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def check_writable_path(path: Path) -> None:
    """Raise, naming ``path``, if a file cannot be put there by a rename."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        if folder.exists():
            raise NotADirectoryError(
                _("cannot write {path}: {folder} is a file, not a folder").format(
                    path=repr(str(path)), folder=repr(str(folder))
                )
            )
        raise FileNotFoundError(
            _("the folder {folder} of {path} does not exist; create it first").format(
                folder=repr(str(folder)), path=repr(str(path))
            )
        )
    if path.is_dir():
        raise IsADirectoryError(
            _("{path} is a folder; give a file name").format(path=repr(str(path)))
        )
    if path.exists() and not path.is_file():
        raise ValueError(
            _(
                "{path} is not a regular file (a device, pipe or socket); "
                "give a file name"
            ).format(path=repr(str(path)))
        )


def remove_stale(path: Path) -> list[Path]:
    """Delete the temporary files beside ``path`` left by processes that are gone
    (killed before their rename); return them."""
    folder = path.parent if str(path.parent) else Path(".")
    prefix = f".{path.name}."
    removed = []
    try:
        names = [n for n in os.listdir(folder) if n.startswith(prefix)]
    except OSError:
        return removed
    for name in names:
        if not name.endswith(".tmp"):
            continue
        middle = name[len(prefix) : -len(".tmp")].split(".")
        candidate = folder / name
        try:
            if len(middle) == 2 and middle[0].isdigit():
                stale = not alive(int(middle[0]))
            else:  # written before temp names carried the pid
                stale = time.time() - candidate.stat().st_mtime > LEGACY_AGE
            if stale:
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue  # another process removed or renamed it first
    return removed


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (on this machine)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's process (or not a pid): leave it
    return True


def _naming(err: OSError, path: Path) -> OSError:
    """The same kind of error, saying which file could not be written."""
    reason = err.strerror or str(err)
    named = type(err)(
        _("cannot write {path}: {reason}").format(path=repr(str(path)), reason=reason)
    )
    named.errno = err.errno
    return named
