"""A cache file that is only trusted under its key: JSON ``{"key": …, …}`` in the
user's cache folder (the proofs, the MathML, the lambdified functions). A missing,
unreadable or other key's file reads as nothing; a write that fails (a read-only
home) only costs the next run the time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from explainer.atomic import write_atomic


def read_keyed(path: Path | None, key: str) -> dict[str, Any] | None:
    """The JSON object in ``path`` if its ``"key"`` is ``key``, else None."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return data


def write_keyed(path: Path | None, text: str) -> None:
    """Write ``text`` to ``path`` atomically; nothing if ``path`` is None or the
    folder cannot be written."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, text)
    except OSError:
        pass
