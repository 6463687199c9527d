"""How fast this machine is right now: a fixed workload, timed.

The render benchmark's wall and CPU seconds move with the machine, not only with
the code: on this project's shared 2-core machine the very same commit rendered
the movie in 123 to 159 s one day and 77 s another. This script times a fixed,
single-threaded workload made of what a render spends its time on (Python
calls into Cairo, small NumPy operations, Cairo filling, compression), so that a
render time can be read against the machine it ran on. What it times uses
nothing in ``explainer``: a change to the code cannot change it.

Usage::

    .venv/bin/python benchmarks/machine_speed.py   # about 2 s

prints each part's seconds (best of three) and writes
``output/benchmarks/machine_speed.json``; with ``--json`` it prints them as JSON
and writes nothing, which is how the render benchmark records them beside its
runs (in a fresh interpreter, whose heap does not depend on what was imported).
"""

from __future__ import annotations

import gc
import json
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import cairo
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "output" / "benchmarks" / "machine_speed.json"


def _python_into_cairo() -> None:
    """400,000 curves handed to Cairo one Python call each, as Manim's camera does."""
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, 64, 64)
    ctx = cairo.Context(surface)
    points = np.random.default_rng(0).random((200_000, 6)).tolist()
    for _ in range(4):
        ctx.new_path()
        ctx.move_to(0.0, 0.0)
        for x1, y1, x2, y2, x3, y3 in points:
            ctx.curve_to(x1, y1, x2, y2, x3, y3)


def _small_numpy() -> None:
    """120,000 operations on (12, 3) arrays, where NumPy's cost per call dominates."""
    points = np.random.default_rng(1).random((12, 3))
    for _ in range(20_000):
        ends, starts = points[3:-1:4, :2], points[4::4, :2]
        close = np.abs(ends - starts) <= 1e-6 + 1e-5 * np.abs(starts)
        np.all(close, axis=1)
        np.isfinite(points).all()


def _cairo_fill() -> None:
    """30 frames of 854 × 480 with 40 filled, antialiased glyph-sized shapes."""
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, 854, 480)
    ctx = cairo.Context(surface)
    rng = np.random.default_rng(2)
    shapes = (rng.random((40, 8, 2)) * [854, 480]).tolist()
    for _ in range(30):
        ctx.set_source_rgb(0, 0, 0)
        ctx.paint()
        ctx.set_source_rgba(0.9, 0.6, 0.2, 0.8)
        for shape in shapes:
            ctx.move_to(*shape[0])
            for a, b, c in zip(shape[1::3], shape[2::3], shape[3::3], strict=False):
                ctx.curve_to(*a, *b, *c)
            ctx.close_path()
            ctx.fill()


def _compress() -> None:
    """29 MB of frame-like bytes (flat areas and noise) through zlib."""
    rng = np.random.default_rng(3)
    frame = np.zeros((480, 854, 4), np.uint8)
    frame[100:200] = rng.integers(0, 255, (100, 854, 4), np.uint8)
    data = frame.tobytes() * 18
    zlib.compress(data, 6)


PARTS: dict[str, Callable[[], None]] = {
    "Python calls into Cairo": _python_into_cairo,
    "small NumPy operations": _small_numpy,
    "Cairo filling": _cairo_fill,
    "zlib compression": _compress,
}


def measure(repeats: int = 3) -> dict[str, float]:
    """Each part's best CPU-bound wall time over ``repeats`` runs, and their sum
    as ``"total"``, in seconds."""
    seconds: dict[str, float] = {}
    for name, part in PARTS.items():
        best = float("inf")
        for _ in range(repeats):
            gc.collect()
            gc.disable()  # the parts make many lists: time the machine, not the heap
            try:
                start = time.perf_counter()
                part()
                best = min(best, time.perf_counter() - start)
            finally:
                gc.enable()
        seconds[name] = round(best, 3)
    seconds["total"] = round(sum(seconds.values()), 3)
    return seconds


def main() -> None:
    seconds = measure()
    if "--json" in sys.argv[1:]:  # for benchmarks/render.py: the numbers only
        print(json.dumps(seconds))
        return
    for name, value in seconds.items():
        print(f"{name:<26} {value:>7.3f} s")
    from explainer.atomic import write_atomic  # after measuring, in a bare interpreter

    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT, json.dumps(seconds, indent=1) + "\n")
    print(f"\nwrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
