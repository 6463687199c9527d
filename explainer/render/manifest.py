"""``videos.json`` beside the rendered videos: which trace each video shows.

The report embeds a video only when it was rendered from the very trace the report
describes (same trace JSON, by SHA-256), so that a page never shows another
sentence's numbers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from explainer import trace_json
from explainer.atomic import write_atomic
from explainer.trace import Trace

MANIFEST = "videos.json"


def trace_digest(trace: Trace) -> str:
    """SHA-256 of the trace's JSON (deterministic, so equal traces match)."""
    return hashlib.sha256(trace_json.dumps(trace).encode("utf-8")).hexdigest()


def update_manifest(out_dir: Path, digest: str, videos: dict[str, str]) -> None:
    """Record that ``videos`` (name → file name in ``out_dir``) show ``digest``."""
    path = Path(out_dir) / MANIFEST
    entries = read_manifest(Path(out_dir))
    for name, file in videos.items():
        entries[name] = {"file": file, "trace": digest}
    write_atomic(path, json.dumps(entries, indent=1, sort_keys=True) + "\n")


def read_manifest(out_dir: Path) -> dict[str, dict[str, str]]:
    """The entries of ``out_dir/videos.json`` (empty if absent or unreadable)."""
    try:
        data = json.loads((Path(out_dir) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        name: entry
        for name, entry in data.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("file"), str)
        and isinstance(entry.get("trace"), str)
    }


def videos_of(out_dir: Path, trace: Trace) -> dict[str, Path]:
    """Name → path of the videos in ``out_dir`` rendered from ``trace``."""
    digest = trace_digest(trace)
    found = {}
    for name, entry in read_manifest(Path(out_dir)).items():
        path = Path(out_dir) / entry["file"]
        if entry["trace"] == digest and path.name == entry["file"] and path.is_file():
            found[name] = path
    return found
