"""The render's worker processes: Manim imported once, each scene in a fork.

``explainer render`` starts one ``python -m explainer.render.pool`` process. It
imports Manim and every scene module once (about four seconds of CPU, which a new
process per scene paid again for each of the 16), then reads jobs on stdin, one
JSON object a line: ``{"scene": NAME, "out": MP4, "log": FILE}``. For each it forks
a child that renders the scene with :func:`~explainer.render.worker.render_scene`,
its stderr in the scene's log. So every scene still runs in a fresh process of its
own, as with ``python -m explainer.render.worker``: the same pixels, a crash stays
one scene's and is named. The runner decides how many render at once (``--jobs``)
by when it sends the next job. The trace is read by the scenes from the JSON file
named in ``EXPLAINER_TRACE``.

On stdout, one line per event (short lines: children writing at once never mix)::

    @play <scene> <number of animations so far> <seconds of video so far>
    @done <scene> <seconds of video> <animations>
    @exit <scene> <exit code of the scene's process> <its CPU seconds>
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import select
import signal
import sys
import traceback
from pathlib import Path

from explainer.render import (
    bounds,
    copies,
    encode,
    fades,
    heap,
    paths,
    svg_shapes,
    tex_format,
)
from explainer.render.registry import SCENES
from explainer.render.worker import (
    QUALITIES,
    die_with_parent,
    render_scene,
    start_child,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explainer.render.pool")
    parser.add_argument("--quality", default="low", choices=list(QUALITIES))
    parser.add_argument("--media-dir", default="output/.manim")
    parser.add_argument("--manim-cache", action="store_true")
    args = parser.parse_args(argv)
    start_child()
    preload(Path(args.media_dir))
    return serve(args)


def preload(media: Path) -> None:
    """Import Manim and the scenes, for every child to inherit, and turn on the
    exact shortcuts: LaTeX starts from a format of Manim's preamble
    (:mod:`~explainer.render.tex_format`); a held frame is converted for the
    encoder once (:mod:`~explainer.render.encode`); fades change opacity without
    copying (:mod:`~explainer.render.fades`); copies and alignments of shapes take
    two shortcuts (:mod:`~explainer.render.copies`); a shape's boundary points,
    asked for by every layout call, are sliced, not zipped
    (:mod:`~explainer.render.bounds`); a shape drawn again unchanged
    reuses its Cairo path (:mod:`~explainer.render.paths`); a text's shapes are
    read from its SVG with three shortcuts (:mod:`~explainer.render.svg_shapes`).
    Frame-sized arrays come from the heap, not from the kernel each time
    (:mod:`~explainer.render.heap`)."""
    import manim  # noqa: F401

    heap.install()
    tex_format.install(media)
    encode.install()
    fades.install()
    copies.install()
    bounds.install()
    paths.install()
    svg_shapes.install()
    for spec in SCENES.values():
        try:
            importlib.import_module(spec.import_path)
        except Exception:  # the scene's own process fails on it, in its log
            continue


def serve(args: argparse.Namespace) -> int:
    """Fork a child per job read until stdin closes; report each one's exit."""
    children: dict[int, str] = {}
    stdin = sys.stdin.fileno()
    buffer, reading = b"", True
    try:
        while reading or children:
            if select.select([stdin] if reading else [], [], [], 0.1)[0]:
                chunk = os.read(stdin, 65536)
                reading = bool(chunk)
                *lines, buffer = (buffer + chunk).split(b"\n")
                for line in lines:
                    job = json.loads(line)
                    children[_fork(args, job)] = job["scene"]
            while children:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
                if pid == 0:
                    break
                code = os.waitstatus_to_exitcode(status)
                cpu = usage.ru_utime + usage.ru_stime  # with its LaTeX runs
                print(f"@exit {children.pop(pid)} {code} {cpu:.2f}", flush=True)
    finally:  # interrupted: stop the scenes still rendering
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)
    return 0


def _fork(args: argparse.Namespace, job: dict[str, str]) -> int:
    """Start rendering ``job`` in a child process; its pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the child: never returns into the parent's loop
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(log, 2)
        os.close(log)
        die_with_parent()
        name = job["scene"]

        def report(plays: int, seconds: float) -> None:
            print(f"@play {name} {plays} {seconds:.3f}", flush=True)

        result = render_scene(
            SCENES[name],
            job["out"],
            quality=args.quality,
            media_dir=args.media_dir,
            manim_cache=args.manim_cache,
            on_play=report,
        )
        print(f"@done {name} {result.seconds:.3f} {result.animations}", flush=True)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
