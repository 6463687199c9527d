"""How long the videos take: per scene and for the whole movie, cold and cached.

Four runs of ``explainer render --movie`` at low quality (the default preset and
sentence), each through the same library call the command makes:

- ``cold, --jobs 1``: a fresh media folder (no LaTeX, text or scene cache)
- ``cached, --jobs 1``: the same again, nothing changed
- ``cold, --jobs 2`` and ``cached, --jobs 2``: the same with two worker processes

plus the unchanged re-render end to end, as a user types it (a new process that
also runs the model). Per-scene times are wall-clock seconds from start to finish
of the scene's worker process; with ``--jobs 2`` two scenes share the CPUs.
Targets (2 cores): whole movie cold ≤ 90 s, unchanged re-render ≤ 10 s.

Before the runs it times a fixed workload (benchmarks/machine_speed.py), so that
a time can be read against how fast the machine was that day: on a shared
machine the same commit's cold movie has taken anywhere from 77 to 159 s.

Each run also records the CPU seconds it used (this process and every process it
started: workers, LaTeX, dvisvgm), the load average when it started, and how many
formulas LaTeX compiled; on a loaded machine wall time grows and CPU time does not.
The table shows each scene's wall seconds and, in parentheses, the CPU seconds of
its process (LaTeX included).

Usage::

    .venv/bin/python benchmarks/render.py            # ~3 min on 2 cores
    .venv/bin/python benchmarks/render.py --jobs 2   # only the --jobs 2 runs
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from explainer.atomic import write_atomic
from explainer.cli.options import _option_keys, build_setup
from explainer.render import SCENES, RenderOptions, render
from explainer.render.movie import duration
from explainer.render.progress import Progress
from explainer.render.registry import available

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "output" / "benchmarks" / "render.json"
TARGET_COLD, TARGET_CACHED = 90.0, 10.0


def run(trace, media: Path, videos: Path, jobs: int) -> dict[str, Any]:
    options = RenderOptions(
        quality="low", jobs=jobs, out_dir=videos, media_dir=media, movie=True
    )
    load = [round(x, 2) for x in os.getloadavg()]
    cpu = _cpu()
    start = time.perf_counter()
    scenes = available(SCENES.values(), trace)
    report = render(trace, scenes, options, Progress(io.StringIO()))
    total = time.perf_counter() - start
    return {
        "jobs": jobs,
        "total_s": round(total, 2),
        "cpu_s": round(_cpu() - cpu, 2),
        "load_before": load,
        "formulas": len(list((media / "Tex").glob("*.svg"))),
        "scenes_s": {k: round(v, 2) for k, v in report.seconds.items()},
        "scenes_cpu_s": report.cpu_seconds,
        "cached": report.cached,
    }


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its waited-for children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def end_to_end(media: Path, videos: Path) -> float:
    """``explainer render --movie --quality low`` in a new process, timed."""
    command = [
        sys.executable,
        "-m",
        "explainer",
        "render",
        "--movie",
        "--quality",
        "low",
        "--out-dir",
        str(videos),
        "--media-dir",
        str(media),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return round(time.perf_counter() - start, 2)


def machine_reference() -> dict[str, float]:
    """benchmarks/machine_speed.py's seconds, run in a fresh interpreter: in this
    process, Manim's many objects would slow its garbage collector down."""
    script = Path(__file__).with_name("machine_speed.py")
    out = subprocess.run(
        [sys.executable, str(script), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, action="append", help="1 and 2 by default")
    args = parser.parse_args()
    # the trace `explainer render` makes with no options (the default preset's
    # trained weights), so that the end-to-end run finds the scenes in the cache
    trace = build_setup(dict.fromkeys(_option_keys())).run()
    results: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": [round(x, 2) for x in os.getloadavg()],
            "reference_s": machine_reference(),
        },
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="explainer-bench-") as tmp:
        for jobs in args.jobs or [1, 2]:
            media, videos = Path(tmp) / f"media-{jobs}", Path(tmp) / f"videos-{jobs}"
            cold = run(trace, media, videos, jobs)
            cached = run(trace, media, videos, jobs)
            results["runs"].append({"mode": "cold", **cold})
            results["runs"].append({"mode": "cached", **cached})
            results["runs"].append(
                {
                    "mode": "cached, end to end (new process)",
                    "jobs": jobs,
                    "total_s": end_to_end(media, videos),
                }
            )
            if "video_s" not in results:
                results["video_s"] = {
                    name: round(duration(videos / f"{name}.mp4"), 2)
                    for name in SCENES
                    if (videos / f"{name}.mp4").is_file()
                }
                results["video_s"]["transformer"] = round(
                    duration(videos / "transformer.mp4"), 2
                )
            shutil.rmtree(media, ignore_errors=True)
    results["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(OUT, json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(table(results))
    print(f"\nwrote {OUT.relative_to(ROOT)}")


def table(results: dict[str, Any]) -> str:
    runs = [r for r in results["runs"] if "scenes_s" in r]
    header = f"{'scene':<20} {'video s':>8}" + "".join(
        f" {r['mode'] + ' j' + str(r['jobs']):>12}" for r in runs
    )
    lines = [header, "─" * len(header)]
    for name in results["video_s"]:
        if name == "transformer":
            continue
        row = f"{name:<20} {results['video_s'][name]:>8.1f}"
        for r in runs:
            value, cpu = r["scenes_s"].get(name), r["scenes_cpu_s"].get(name)
            cell = "cache" if value is None else f"{value:.1f}"
            cell += "" if cpu is None else f" ({cpu:.0f})"
            row += f" {cell:>12}"
        lines.append(row)
    lines.append("─" * len(header))
    total = f"{'whole movie':<20} {results['video_s']['transformer']:>8.1f}"
    lines.append(total + "".join(f" {r['total_s']:>12.1f}" for r in runs))
    lines.append(f"{'CPU s':<29}" + "".join(f" {r['cpu_s']:>12.1f}" for r in runs))
    lines.append(
        f"{'load at start':<29}"
        + "".join(f" {r['load_before'][0]:>12.1f}" for r in runs)
    )
    lines.append(
        f"{'LaTeX formulas':<29}" + "".join(f" {r['formulas']:>12d}" for r in runs)
    )
    for r in results["runs"]:
        if "scenes_s" not in r:
            lines.append(f"{r['mode']}, --jobs {r['jobs']}: {r['total_s']:.1f} s")
    cold = min(r["total_s"] for r in runs if r["mode"] == "cold")
    cached = max(r["total_s"] for r in results["runs"] if r["mode"] != "cold")
    reference = results["machine"].get("reference_s", {}).get("total")
    if reference is not None:
        lines.append(
            f"machine speed: a fixed workload took {reference:.2f} s "
            "(benchmarks/machine_speed.py; more is a slower machine)"
        )
    lines.append(
        f"targets: cold movie {cold:.1f} s (≤ {TARGET_COLD:.0f}), unchanged "
        f"re-render ≤ {cached:.1f} s (≤ {TARGET_CACHED:.0f}); "
        f"load average before {results['machine']['load_before']}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
