"""Pango's SVG files are rewritten by a new file, never in place.

Manim's ``Text`` calls manimpango's ``PangoUtils.remove_last_M`` on its SVG each
time a text is made, even when the SVG comes from the cache: it reads the file and
writes it back with ``open(name, "w")``, which truncates the very file. A render's
private text folder (:func:`~explainer.render.worker.private_dir`) holds hard links
to the shared cache, so that write truncated the one file every process shares:
another render reading it at that moment read nothing, wrote nothing back, and
left an empty SVG in the cache ("ParseError: no element found" from then on).

:func:`install` makes the rewrite write a new file beside it and rename it over
the old name, which leaves the shared file alone, and skips the write when nothing
changes (a cached SVG was rewritten when it was made).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

LAST_M = re.compile(r'Z M [^A-Za-z]*? "\/>')  # manimpango's own pattern


def install() -> bool:
    """Patch manimpango's rewrite (once per process); False if it has none."""
    try:
        from manimpango import PangoUtils
    except ImportError:
        return False
    if getattr(PangoUtils.remove_last_M, "by_rename", False):
        return True
    PangoUtils.remove_last_M = staticmethod(remove_last_m)
    return True


def remove_last_m(file_name: str) -> None:
    """What ``PangoUtils.remove_last_M`` does to ``file_name``, by a rename."""
    path = Path(file_name)
    content = path.read_text(encoding="utf-8")
    changed = LAST_M.sub('Z "/>', content)
    if changed == content:
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(changed)
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)  # a new file: hard links elsewhere keep the old one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


remove_last_m.by_rename = True  # type: ignore[attr-defined]
