"""Where the cost of recording the trace goes, and what removes it.

A diagnostic beside ``benchmarks/forward.py``; it changes nothing in ``explainer/``:
variants of the Recorder are patched into :mod:`explainer.forward` for the duration
of a call. Variants, timed in rotating rounds like the main benchmark:

- ``untraced`` / ``traced``: ``forward(record=False)`` / ``forward(record=True)``
- ``bookkeeping only``: a Stage made and frozen per stage, then dropped — the
  Python cost of recording
- ``retention only``: the values kept in a list, no Stage, no freezing — the cost of
  keeping every intermediate alive (fresh memory for each)
- ``fix: setflags``: as shipped, but ``freeze`` is ``value.setflags(write=False)``
  (no ``np.asarray``, no ``flags`` object)
- ``fix: NamedTuple``: as ``fix: setflags`` and Stage a ``typing.NamedTuple``

Each case runs twice, in child processes: with the environment as it is, and with
glibc's malloc told to keep freed memory (``MALLOC_TRIM_THRESHOLD_``,
``MALLOC_MMAP_THRESHOLD_``) so that a new pass reuses pages instead of faulting in
fresh ones. Minor page faults per call are counted.

Usage::

    .venv/bin/python benchmarks/trace_overhead.py               # all cases, ~1 min
    .venv/bin/python benchmarks/trace_overhead.py --case encoder --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
from forward import make_cases  # benchmarks/forward.py: the same cases

import explainer.forward as fw
from explainer.trace import Op, Recorder, Stage, freeze

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # without it NumPy's BLAS keeps its own thread count
    threadpool_limits = None

CASES = ("encoder", "default", "seed003")  # the order of make_cases()
KEEP_FREED_MEMORY = {  # glibc: never give freed heap back, never mmap below 32 MiB
    "MALLOC_TRIM_THRESHOLD_": str(1 << 30),
    "MALLOC_MMAP_THRESHOLD_": str(1 << 25),
}


class BookkeepingOnly(Recorder):
    """Makes and freezes each Stage as shipped, then drops it."""

    def __call__(self, name: str, op: Op, inputs: tuple[str, ...], value: Any) -> Any:
        if self.enabled:
            Stage(name, op, inputs, freeze(value))
        return value


class RetentionOnly(Recorder):
    """Keeps each value alive, nothing else."""

    def __call__(self, name: str, op: Op, inputs: tuple[str, ...], value: Any) -> Any:
        if self.enabled:
            self.stages.append(value)
        return value


class SetflagsRecorder(Recorder):
    """As shipped, but freezes with ``setflags`` (the arrays are always ndarrays)."""

    def __call__(self, name: str, op: Op, inputs: tuple[str, ...], value: Any) -> Any:
        if self.enabled:
            value.setflags(write=False)
            self.stages.append(Stage(name, op, inputs, value))
        return value


class TupleStage(NamedTuple):
    """Stage as a NamedTuple: immutable by construction, no __setattr__ calls. (As
    the real Stage it would also need __eq__ and __ne__ that compare the arrays with
    np.array_equal: tuple's own compare them element-wise and raise.)"""

    name: str
    op: Op
    inputs: tuple[str, ...]
    value: np.ndarray


class NamedTupleRecorder(Recorder):
    def __call__(self, name: str, op: Op, inputs: tuple[str, ...], value: Any) -> Any:
        if self.enabled:
            value.setflags(write=False)
            self.stages.append(TupleStage(name, op, inputs, value))
        return value


def variants(case: str) -> dict[str, Callable[[], object]]:
    c = make_cases()[CASES.index(case)]
    cfg, params, src, tgt = c.cfg, c.params, c.source_ids, c.target_ids

    def patched(recorder: type[Recorder]) -> Callable[[], object]:
        def call() -> object:
            fw.Recorder = recorder
            try:
                return fw.forward(cfg, params, src, tgt, record=True)
            finally:
                fw.Recorder = Recorder

        return call

    return {
        "untraced": lambda: fw.forward(cfg, params, src, tgt, record=False),
        "traced": lambda: fw.forward(cfg, params, src, tgt, record=True),
        "bookkeeping only": patched(BookkeepingOnly),
        "retention only": patched(RetentionOnly),
        "fix: setflags": patched(SetflagsRecorder),
        "fix: NamedTuple": patched(NamedTupleRecorder),
    }


def measure(case: str, seconds: float) -> dict[str, dict[str, float]]:
    """Median and min ms, and minor page faults, per call of each variant."""
    fns = variants(case)
    for fn in fns.values():
        for _ in range(3):
            fn()
    names = list(fns)
    times: dict[str, list[float]] = {n: [] for n in names}
    faults = dict.fromkeys(names, 0)
    start, rounds = time.perf_counter(), 0
    while rounds < 10 or time.perf_counter() - start < seconds:
        for i in range(len(names)):
            name = names[(rounds + i) % len(names)]
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            t0 = time.perf_counter()
            result = fns[name]()
            times[name].append(time.perf_counter() - t0)
            faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
            del result
        rounds += 1
    return {
        n: {
            "median_ms": 1e3 * statistics.median(times[n]),
            "min_ms": 1e3 * min(times[n]),
            "faults_per_call": faults[n] / len(times[n]),
        }
        for n in names
    }


def child(args: argparse.Namespace) -> None:
    if threadpool_limits is not None:
        threadpool_limits(limits=args.threads, user_api="blas")
    print(json.dumps(measure(args.case[0], args.seconds)))


def run_child(case: str, args: argparse.Namespace, extra_env: dict[str, str]) -> dict:
    cmd = [sys.executable, __file__, "--child", "--case", case]
    cmd += ["--seconds", str(args.seconds), "--threads", str(args.threads)]
    env = {**os.environ, **extra_env}
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def report(case: str, label: str, result: dict[str, dict[str, float]]) -> None:
    base, base_min = result["untraced"]["median_ms"], result["untraced"]["min_ms"]
    print(f"\n{case} — {label}")
    print(f"  {'variant':17s} {'median':>10s} {'min':>10s} {'overhead':>9s} "
          f"{'(min)':>7s} {'faults/call':>11s}")  # fmt: skip
    for name, r in result.items():
        print(
            f"  {name:17s} {r['median_ms']:8.3f}ms {r['min_ms']:8.3f}ms "
            f"{100 * (r['median_ms'] / base - 1):+8.1f}% "
            f"{100 * (r['min_ms'] / base_min - 1):+6.1f}% {r['faults_per_call']:11.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=CASES, action="append")
    parser.add_argument("--seconds", type=float, default=6.0, help="per run")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.case = args.case or list(CASES)
    if args.child:
        child(args)
        return
    print(
        f"threads {args.threads}; OPENBLAS_CORETYPE="
        f"{os.environ.get('OPENBLAS_CORETYPE')}; load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    for case in args.case:
        report(case, "environment as is", run_child(case, args, {}))
        label = " ".join(f"{k}={v}" for k, v in KEEP_FREED_MEMORY.items())
        report(case, label, run_child(case, args, KEEP_FREED_MEMORY))


if __name__ == "__main__":
    main()
