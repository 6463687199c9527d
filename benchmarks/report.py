"""Time ``explainer report`` — the whole command, start-up included — and measure
the file it writes (issue 4: ≤ 2 s for the default example, file ≤ 3 MB).

Cases, each a fresh process writing to a temporary folder:

- ``report default``: the default example (encoder-decoder, 2 layers, 2 heads);
- ``report seed003``: ``--preset seed003``;
- ``report default --prove``: with the SymPy proofs and the 50-digit pass.

Each case runs once to warm up, then the cases take turns for ``--runs`` rounds;
the median is reported. Every run must exit 0, or the benchmark stops.

Usage::

    .venv/bin/python benchmarks/report.py             # 5 rounds
    .venv/bin/python benchmarks/report.py --runs 3 --out /tmp/report.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from explainer.atomic import write_atomic

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "output/benchmarks/report.json"
TARGET_SECONDS = 2.0
TARGET_BYTES = 3_000_000
CASES = {
    "report default": (),
    "report seed003": ("--preset", "seed003"),
    "report default --prove": ("--prove",),
}


def command() -> list[str]:
    script = Path(sys.executable).with_name("explainer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "explainer"]


def run_once(args: tuple[str, ...], out: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [*command(), "report", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"explainer report {' '.join(args)} failed:\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    opts = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in CASES}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for args in CASES.values():  # warm-up (fills caches)
            run_once(args, Path(tmp) / "warm.html")
        for _ in range(opts.runs):
            for name, args in CASES.items():
                page = Path(tmp) / f"{name.replace(' ', '_')}.html"
                times[name].append(run_once(args, page))
                sizes[name] = page.stat().st_size
    rows = []
    print(f"{'case':<26} {'median s':>9} {'min s':>7} {'size MB':>8}  target")
    for name in CASES:
        median = statistics.median(times[name])
        ok = median <= TARGET_SECONDS and sizes[name] <= TARGET_BYTES
        targeted = name != "report default --prove"
        mark = ("ok" if ok else "MISSED") if targeted else "(not targeted)"
        print(
            f"{name:<26} {median:>9.2f} {min(times[name]):>7.2f} "
            f"{sizes[name] / 1e6:>8.3f}  {mark}"
        )
        rows.append(
            {
                "case": name,
                "median_s": median,
                "runs_s": times[name],
                "bytes": sizes[name],
                "targeted": targeted,
                "ok": ok,
            }
        )
    payload = {
        "targets": {"seconds": TARGET_SECONDS, "bytes": TARGET_BYTES},
        "cpus": os.cpu_count(),
        "results": rows,
    }
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(opts.out, json.dumps(payload, indent=1) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
