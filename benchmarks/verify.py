"""Time ``explainer verify`` — the whole command, start-up included — against the
bare start-up floor ``python -c "import sympy, numpy"``.

Cases, each a fresh process:

- ``floor``: ``python -c "import sympy, numpy"``, what any SymPy tool pays to start;
- ``verify default``: ``explainer verify`` on the default example (encoder-decoder,
  2 layers, 2 heads);
- ``verify seed003``: ``explainer verify --preset seed003``;
- the same two with ``EXPLAINER_NO_CACHE=1``: every derivation step proved again,
  as on the first run after installing or after editing :mod:`explainer.symbolic`
  (shown for the record; the target is for the usual run).

Each case runs once to warm up (this also fills the proof cache), then the cases
take turns for ``--runs`` rounds, so that a busy neighbour slows them alike; the
median of each is divided by the floor's. Target: every usual run ≤ 3× the floor.
Every verify run must exit 0, or the benchmark stops: a failing check is never
timed.

Usage::

    .venv/bin/python benchmarks/verify.py             # 7 rounds, about a minute
    .venv/bin/python benchmarks/verify.py --runs 3
    .venv/bin/python benchmarks/verify.py --out /tmp/verify.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explainer.atomic import write_atomic

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "output/benchmarks/verify.json"
TARGET = 3.0  # largest accepted ratio to the floor


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    targeted: bool = True  # held to TARGET


def explainer_command() -> tuple[str, ...]:
    """The console script beside this Python, else ``python -m explainer``."""
    script = Path(sys.executable).with_name("explainer")
    return (str(script),) if script.exists() else (sys.executable, "-m", "explainer")


def make_cases() -> list[Case]:
    cmd = explainer_command()
    cold = (("EXPLAINER_NO_CACHE", "1"),)
    return [
        Case("floor", (sys.executable, "-c", "import sympy, numpy"), targeted=False),
        Case("verify default", (*cmd, "verify")),
        Case("verify seed003", (*cmd, "verify", "--preset", "seed003")),
        Case("verify default, proofs redone", (*cmd, "verify"), cold, False),
        Case(
            "verify seed003, proofs redone",
            (*cmd, "verify", "--preset", "seed003"),
            cold,
            False,
        ),
    ]


def run_once(case: Case) -> float:
    """Wall time of one run; raises if the command fails."""
    env = {**os.environ, **dict(case.env)}
    start = time.perf_counter()
    done = subprocess.run(case.argv, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise RuntimeError(
            f"{' '.join(case.argv)} exited {done.returncode}: {' '.join(tail)}"
        )
    return seconds


def measure(cases: list[Case], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {case.name: [] for case in cases}
    for case in cases:  # warm-up: disk cache, proof cache
        run_once(case)
    for round_ in range(runs):
        shift = round_ % len(cases)
        for case in cases[shift:] + cases[:shift]:
            times[case.name].append(run_once(case))
    return times


def report(cases: list[Case], times: dict[str, list[float]]) -> dict[str, Any]:
    floor = statistics.median(times["floor"])
    rows = []
    for case in cases:
        median = statistics.median(times[case.name])
        ratio = median / floor
        rows.append(
            {
                "case": case.name,
                "command": " ".join(
                    [*(f"{k}={v}" for k, v in case.env), *case.argv[-3:]]
                ),
                "median_s": round(median, 4),
                "min_s": round(min(times[case.name]), 4),
                "ratio_to_floor": round(ratio, 3),
                "target": TARGET if case.targeted else None,
                "meets_target": (ratio <= TARGET) if case.targeted else None,
                "runs_s": [round(t, 4) for t in times[case.name]],
            }
        )
    return {
        "benchmark": "verify",
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "floor_s": round(floor, 4),
        "rows": rows,
        "all_targets_met": all(r["meets_target"] is not False for r in rows),
    }


def table(data: dict[str, Any]) -> str:
    header = ("case", "median s", "min s", "× floor", "target")
    lines = []
    for row in data["rows"]:
        verdict = (
            "—"
            if row["target"] is None
            else f"≤ {row['target']:g}× {'ok' if row['meets_target'] else 'MISSED'}"
        )
        lines.append(
            (
                row["case"],
                f"{row['median_s']:.3f}",
                f"{row['min_s']:.3f}",
                f"{row['ratio_to_floor']:.2f}",
                verdict,
            )
        )
    widths = [max(len(h), *(len(r[c]) for r in lines)) for c, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("─" * w for w in widths))
    for r in lines:
        out.append("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    return "\n".join(line.rstrip() for line in out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs ({args.runs}) must be ≥ 1")
    cases = make_cases()
    data = report(cases, measure(cases, args.runs))
    print(table(data))
    print(
        f"\nfloor: {data['floor_s']:.3f} s; target ≤ {TARGET:g}× the floor: "
        + ("met" if data["all_targets_met"] else "MISSED")
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return 0 if data["all_targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
