"""Render scenes of a trace to MP4: in parallel processes, cached, written atomically.

One render writes the trace once as JSON and starts one worker process
(``python -m explainer.render.pool``, reading that file through
``EXPLAINER_TRACE``), which renders ``--jobs`` scenes at a time, each in a process
forked from it, the longest first. A finished scene is kept in ``<media>/cache``
under a key made of everything that decides its pixels (the trace, the quality,
the scene's source, the Manim version), so rendering the same thing again costs a
file copy. Videos reach ``<out>/<name>.mp4`` by a rename, never half-written: an
interrupted render leaves the previous file as it was.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from explainer import i18n, trace_json
from explainer.atomic import alive, copy_atomic, write_atomic
from explainer.render.manifest import update_manifest
from explainer.render.movie import concatenate
from explainer.render.progress import Progress
from explainer.render.registry import SceneSpec
from explainer.render.worker import QUALITIES
from explainer.trace import Trace

MOVIE_NAME = "transformer"
CACHE_KEEP = 3  # cached videos kept per scene and quality (the most recent)
KEY_VERSION = "1"  # bump to invalidate every cached scene


class RenderError(RuntimeError):
    """A scene failed to render; the message names it and its log."""


@dataclass(frozen=True)
class RenderOptions:
    quality: str = "low"
    jobs: int = 1
    out_dir: Path = Path("output/videos")
    media_dir: Path = Path("output/.manim")
    movie: bool = False
    force: bool = False  # render even if the cache has the scene
    manim_cache: bool = False  # also Manim's per-animation cache

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise ValueError(
                f"unknown quality {self.quality!r}; valid: {', '.join(QUALITIES)}"
            )
        if self.jobs < 1:
            raise ValueError(f"jobs ({self.jobs}) must be at least 1")


@dataclass
class RenderReport:
    """What a render wrote and how long each scene took."""

    written: list[Path] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)  # scenes taken from the cache
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per scene
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # its process's CPU
    video_seconds: dict[str, float] = field(default_factory=dict)
    total: float = 0.0


def render(
    trace: Trace,
    specs: Sequence[SceneSpec],
    options: RenderOptions,
    progress: Progress | None = None,
) -> RenderReport:
    """Render ``specs`` (and the movie, if asked) and return the paths written."""
    start = time.monotonic()
    for spec in specs:
        reason = spec.unavailable(trace)
        if reason:
            raise ValueError(f"scene {spec.name!r} {reason}")
    media = Path(options.media_dir)
    cache_dir = media / "cache"
    check_folder(Path(options.out_dir), "--out-dir")  # before, not after, the work
    check_folder(media, "--media-dir")
    for folder in (cache_dir, media / "logs", media / "traces"):
        folder.mkdir(parents=True, exist_ok=True)
    _drop_stale(media)
    text = trace_json.dumps(trace)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    trace_path = media / "traces" / f"{digest[:16]}.json"
    if not trace_path.exists():
        write_atomic(trace_path, text)
    os.utime(trace_path)

    keys = {s.name: scene_key(s, digest, options.quality) for s in specs}
    cached_paths = {
        s.name: cache_path(cache_dir, s.name, options, keys[s.name]) for s in specs
    }
    todo = [s for s in specs if options.force or not cached_paths[s.name].exists()]
    durations = _load_durations(media)
    progress = progress or Progress()
    progress.begin({s.name: durations.get(s.name, s.seconds) for s in specs})
    report = RenderReport()
    for spec in specs:
        if spec not in todo:
            progress.update(spec.name, "cached")
            report.cached.append(spec.name)
            os.utime(cached_paths[spec.name])  # keep recently used entries

    failures = _run_workers(todo, cached_paths, trace_path, options, progress, report)
    progress.end()
    if failures:
        raise RenderError("; ".join(failures))
    durations.update(report.video_seconds)
    _save_durations(media, durations)

    for spec in specs:
        target = Path(options.out_dir) / f"{spec.name}.mp4"
        copy_atomic(cached_paths[spec.name], target)
        report.written.append(target)
    if options.movie:
        key = _hash([keys[s.name] for s in specs])
        movie_cache = cache_path(cache_dir, MOVIE_NAME, options, key)
        if options.force or not movie_cache.exists():
            concatenate([cached_paths[s.name] for s in specs], movie_cache)
        target = Path(options.out_dir) / f"{MOVIE_NAME}.mp4"
        copy_atomic(movie_cache, target)
        report.written.append(target)
    update_manifest(
        Path(options.out_dir), digest, {p.stem: p.name for p in report.written}
    )
    _prune(cache_dir, [s.name for s in specs] + [MOVIE_NAME], options.quality)
    _keep_newest(sorted((media / "traces").glob("*.json")), CACHE_KEEP + 2)
    for spec in specs:
        _keep_newest(list((media / "logs").glob(f"{spec.name}.*.log")), CACHE_KEEP)
    _keep_newest(list((media / "logs").glob("serve.*.log")), CACHE_KEEP)
    report.total = time.monotonic() - start
    return report


# --- cache keys ----------------------------------------------------------------------


def scene_key(spec: SceneSpec, trace_digest: str, quality: str) -> str:
    """Everything that decides a scene's pixels, hashed."""
    parts = [KEY_VERSION, _manim_version(), quality, spec.name, trace_digest]
    parts += [hashlib.sha256(p.read_bytes()).hexdigest() for p in scene_sources()]
    if i18n.current() != "en":  # the captions' language (English keys unchanged)
        parts.append(f"lang={i18n.current()}")
    return _hash(parts)


def scene_sources() -> list[Path]:
    """The source files a scene's pixels depend on: the whole scenes folder (a
    change to any shared helper, such as common.py, re-renders), the formulas and
    their LaTeX printer (explainer.symbolic), the token text the scenes print, the
    reading pace they keep, and the worker that runs them."""
    package = Path(__file__).parents[1]
    return [
        *sorted(_scenes_dir().glob("*.py")),
        *sorted((package / "symbolic").glob("*.py")),
        package / "token_text.py",
        Path(__file__).with_name("pace.py"),
        Path(__file__).with_name("worker.py"),
    ]


def cache_path(cache_dir: Path, name: str, options: RenderOptions, key: str) -> Path:
    return cache_dir / f"{name}-{options.quality}-{key[:16]}.mp4"


def _hash(parts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _manim_version() -> str:
    try:
        return metadata.version("manim")
    except metadata.PackageNotFoundError:
        return "unknown"


def _scenes_dir() -> Path:
    spec = importlib.util.find_spec("explainer.scenes")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def _prune(cache_dir: Path, names: Sequence[str], quality: str) -> None:
    for name in names:
        _keep_newest(list(cache_dir.glob(f"{name}-{quality}-*.mp4")), CACHE_KEEP)


def _keep_newest(paths: list[Path], keep: int) -> None:
    """Delete all but the ``keep`` most recently used of ``paths``."""
    paths.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in paths[keep:]:
        old.unlink(missing_ok=True)


def check_folder(folder: Path, flag: str) -> None:
    """Create ``folder`` and make sure a file can be written in it; else raise an
    OSError naming it (and the option that chose it)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        raise type(err)(
            f"cannot write in {flag} {str(folder)!r}: {reason}; choose another folder"
        ) from None


def _drop_stale(media: Path, age: float = 3600.0) -> None:
    """Remove what killed workers left behind: their private LaTeX folders
    (``tex-work/<kind>-<scene>-<pid>-<random>``, also any older than ``age``
    seconds) and Manim's partial movies (``partial/<scene>-<pid>``)."""
    work = list((media / "tex-work").glob("*"))
    partial = list((media / "partial").glob("*"))
    for folder in work + partial:
        parts = folder.name.rsplit("-", 2 if folder in work else 1)
        try:
            pid = parts[1] if len(parts) > 1 and parts[1].isdigit() else None
            gone = pid is not None and not alive(int(pid))
            old = folder in work and time.time() - folder.stat().st_mtime > age
            if gone or old:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


def _load_durations(media: Path) -> dict[str, float]:
    try:
        return {
            k: float(v)
            for k, v in json.loads((media / "durations.json").read_text()).items()
        }
    except (OSError, ValueError, AttributeError):
        return {}


def _save_durations(media: Path, durations: dict[str, float]) -> None:
    write_atomic(media / "durations.json", json.dumps(durations, indent=1) + "\n")


# --- files ----------------------------------------------------------------------------


# --- worker processes -----------------------------------------------------------------


def _run_workers(
    todo: Sequence[SceneSpec],
    targets: dict[str, Path],
    trace_path: Path,
    options: RenderOptions,
    progress: Progress,
    report: RenderReport,
) -> list[str]:
    """Render ``todo``, at most ``options.jobs`` scenes at a time, each in a
    process forked by one :mod:`~explainer.render.pool` process (which imports
    Manim and the scenes once); the failures. The longest scenes start first, so
    that no worker is left with a long scene at the end while the others wait."""
    if not todo:
        return []
    expected = {s.name: progress.rows[s.name].expected for s in todo}
    pending = sorted(todo, key=lambda s: -expected[s.name])  # stable: movie order
    running: dict[str, tuple[Path, float]] = {}  # name → (log, start)
    failures: list[str] = []
    logs = Path(options.media_dir) / "logs"
    server_log = logs / f"serve.{os.getpid()}.log"
    server = _start_server(options, trace_path, server_log)
    events: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in server.stdout:
            events.put(line)
        events.put(None)  # the server and all its children have exited

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    previous = _exit_on_sigterm()
    try:
        while pending or running:
            while pending and len(running) < options.jobs:
                spec = pending.pop(0)
                # One log per render process: two renders sharing the media folder
                # each keep their own (the oldest are pruned by render()).
                log = logs / f"{spec.name}.{os.getpid()}.log"
                job = {"scene": spec.name, "out": str(targets[spec.name])}
                server.stdin.write(json.dumps({**job, "log": str(log)}) + "\n")
                server.stdin.flush()
                running[spec.name] = (log, time.monotonic())
                progress.update(spec.name, "rendering", 0.0)
            line = events.get()
            if line is None:  # the server died: every scene it had fails
                for name, (log, _) in running.items():
                    progress.update(name, "failed")
                    failures.append(_failure(name, log, server_log))
                for spec in pending:
                    progress.update(spec.name, "failed")
                    failures.append(_failure(spec.name, server_log, server_log))
                break
            parts = line.split()
            if len(parts) == 4 and parts[0] == "@play" and parts[1] in running:
                progress.update(parts[1], "rendering", float(parts[3]))
            elif len(parts) == 4 and parts[0] == "@done" and parts[1] in running:
                progress.update(parts[1], "rendering", float(parts[2]))
            elif len(parts) == 4 and parts[0] == "@exit" and parts[1] in running:
                name, code = parts[1], int(parts[2])
                log, started = running.pop(name)
                report.seconds[name] = time.monotonic() - started
                report.cpu_seconds[name] = float(parts[3])
                if code == 0 and targets[name].exists():
                    report.video_seconds[name] = progress.rows[name].video
                    progress.update(name, "done")
                else:
                    progress.update(name, "failed")
                    failures.append(_failure(name, log, server_log))
        server.stdin.close()  # no more jobs: the server exits
        server.wait()
    except BaseException:  # Ctrl-C, SIGTERM, an error: stop the workers too
        server.terminate()  # the server stops the scenes it forked
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return failures


def _failure(name: str, log: Path, server_log: Path) -> str:
    """One line naming the failed scene, its log's last line and the log (the
    server's, if the scene's process never wrote one)."""
    try:
        empty = log.stat().st_size == 0
    except OSError:
        empty = True
    if empty:
        log = server_log
    return f"scene {name!r} failed: {_last_line(log)} (log: {log})"


def _exit_on_sigterm():
    """Turn SIGTERM into SystemExit(143) (so that the workers are stopped on the
    way out); the previous handler, or None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, stop)


def _start_server(
    options: RenderOptions, trace_path: Path, log: Path
) -> subprocess.Popen:
    """``python -m explainer.render.pool``, its stderr in ``log``."""
    env = {
        **os.environ,
        "EXPLAINER_TRACE": str(trace_path.resolve()),
        "EXPLAINER_LANG": i18n.current(),  # the worker's captions: --lang's language
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "explainer.render.pool",
        "--quality",
        options.quality,
        "--media-dir",
        str(options.media_dir),
    ]
    if options.manim_cache:
        command.append("--manim-cache")
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log_file,
            env=env,
            text=True,
        )
    return process


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines()]
    except OSError:
        return "no log"
    lines = [ln for ln in lines if ln and not set(ln) <= set("─│╭╮╰╯ ")]
    return lines[-1] if lines else "exited without a message"
