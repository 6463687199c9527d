"""``explainer serve --port 0`` started by a test as a user starts it (a
subprocess on 127.0.0.1, a free port), its URL read from what it prints, and
stopped with Ctrl+C (SIGINT) at the end. Shared by tests/test_serve_*.py."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

STARTUP = 180  # seconds: the models and the first report load before the URL


def serve() -> Iterator[str]:
    """For a module-scoped fixture (``yield from serve()``): the server's URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "explainer", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line) for line in proc.stdout], daemon=True
    ).start()
    try:
        line = lines.get(timeout=STARTUP)
        match = re.fullmatch(
            r"explainer serve: (http://127\.0\.0\.1:\d+/) \(Ctrl\+C stops it\)\n", line
        )
        assert match, line
        yield match[1]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read()
