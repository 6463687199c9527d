"""Time ``explainer serve`` over loopback (issue 15: a toy trace p50 ≤ 50 ms, an
8-token SmolLM2 trace p50 ≤ 1 s; and requests per second on this machine).

The server is started as a user starts it (``explainer serve --port 0`` in a
subprocess, its URL read from what it prints) and stopped with SIGINT. Cases:

- ``toy trace``: ``POST /api/trace`` of the default preset (the trained
  encoder-decoder: its greedy translation, then the traced pass, as JSON),
  one request at a time, the same sentence (its translation is remembered);
- ``toy trace, new sentences``: the same with a sentence the server has not
  seen at each request (the greedy translation runs each time);
- ``smollm2 trace, 8 tokens``: the same for SmolLM2 (skipped if not installed);
- ``toy trace, 8 clients``: requests per second with 8 clients at once.

Each case is warmed up with one request; every answer must be a 200. Besides
the wall-clock latency, each case gives the server's CPU time per request (from
/proc): on a machine shared with other work it is the steadier number.

Usage::

    .venv/bin/python benchmarks/serve.py
    .venv/bin/python benchmarks/serve.py --runs 10 --out /tmp/serve.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from explainer.atomic import write_atomic

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "output/benchmarks/serve.json"
TOY = {"sentence": "When you play game of thrones"}
SMOLLM2 = {"model": "smollm2", "sentence": "The capital of France is a city in"}


def start() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "explainer", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in proc.stdout], daemon=True
    ).start()
    match = re.search(r"(http://\S+/)", lines.get(timeout=300))
    if not match:
        proc.kill()
        raise SystemExit("explainer serve printed no URL")
    return proc, match[1]


def new_sentences(count: int) -> list[dict[str, str]]:
    """``count`` different orders of the toy sentence's words (all in its
    vocabulary), none of them the sentence itself."""
    from itertools import islice, permutations

    words = TOY["sentence"].lower().split()
    orders = (" ".join(p) for p in permutations(words))
    fresh = (text for text in orders if text != " ".join(words))
    return [{"sentence": text} for text in islice(fresh, count)]


def server_cpu(pid: int) -> float | None:
    """The server's CPU seconds so far (user + system), or None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(client: httpx.Client, url: str, body: dict) -> float:
    began = time.perf_counter()
    answer = client.post(url, json=body)
    seconds = time.perf_counter() - began
    if answer.status_code != 200:
        raise SystemExit(f"{url} answered {answer.status_code}: {answer.text[:200]}")
    return seconds


def latency(
    url: str, bodies: list[dict], runs: int, pid: int
) -> dict[str, float | None]:
    """p50 and p95 of ``runs`` requests, the i-th sending ``bodies[i % len]``
    (after one warm-up request of a body not among them when there are several)."""
    with httpx.Client(timeout=300) as client:
        timed(client, url, bodies[0] if len(bodies) == 1 else TOY)  # warm-up
        cpu = server_cpu(pid)
        times = sorted(timed(client, url, bodies[n % len(bodies)]) for n in range(runs))
        after = server_cpu(pid)
    return {
        "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
        "cpu_ms": None if cpu is None or after is None else 1000 * (after - cpu) / runs,
        "runs": runs,
    }


def throughput(url: str, body: dict, requests: int, clients: int) -> dict[str, float]:
    def one(_: int) -> float:
        with httpx.Client(timeout=300) as client:
            return timed(client, url, body)

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(requests)))
    seconds = time.perf_counter() - began
    return {"requests_per_s": requests / seconds, "requests": requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", type=int, default=20, help="requests per latency case"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    opts = parser.parse_args()
    proc, base = start()
    rows: dict[str, dict] = {}
    try:
        trace = base + "api/trace"
        goal = {"goal_p50_ms": 50}
        rows["toy trace"] = latency(trace, [TOY], opts.runs, proc.pid) | goal
        fresh = new_sentences(opts.runs)
        rows["toy trace, new sentences"] = latency(trace, fresh, opts.runs, proc.pid)
        if _smollm2_installed():
            runs = max(3, opts.runs // 4)
            rows["smollm2 trace, 8 tokens"] = latency(
                trace, [SMOLLM2], runs, proc.pid
            ) | {"goal_p50_ms": 1000}
        rows["toy trace, 8 clients"] = throughput(trace, TOY, 2 * opts.runs, 8)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    print(
        f"{'case':<26} {'p50 ms':>8} {'p95 ms':>8} {'goal':>8} {'CPU ms':>7} "
        f"{'req/s':>7}"
    )
    for name, row in rows.items():
        goal = row.get("goal_p50_ms")
        verdict = "" if goal is None else ("ok" if row["p50_ms"] <= goal else "MISS")
        cells = [
            _cell(row.get("p50_ms"), 8, "{:.0f}"),
            _cell(row.get("p95_ms"), 8, "{:.0f}"),
            _cell(goal, 8, "≤{}"),
            _cell(row.get("cpu_ms"), 7, "{:.0f}"),
            _cell(row.get("requests_per_s"), 7, "{:.1f}"),
        ]
        print(f"{name:<26} {' '.join(cells)} {verdict}".rstrip())
    print(f"cores: {os.cpu_count()}")
    payload = {"cases": rows, "cores": os.cpu_count()}
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(opts.out, json.dumps(payload, indent=1) + "\n")
    print(f"wrote {opts.out}")


def _cell(value: float | None, width: int, form: str) -> str:
    return ("" if value is None else form.format(value)).rjust(width)


def _smollm2_installed() -> bool:
    from explainer.models import smollm2

    return importlib.util.find_spec(smollm2.MODULE) is not None


if __name__ == "__main__":
    main()
