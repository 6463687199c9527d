"""Keep freed memory in the process while traces are recorded.

A recorded pass keeps every intermediate array alive (tens of MB for the paper's
sizes). When such a trace is dropped, glibc's malloc returns the pages to the
kernel, and the next pass faults them in again — about 10⁴ page faults and a
third of the pass's time at d_model 512 (benchmarks/forward.py). Raising glibc's
trim and mmap thresholds (``mallopt``) lets the next pass reuse those pages. Only
freed memory up to the threshold is kept; elsewhere than glibc this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
M_MMAP_THRESHOLD = -3
TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of freed memory
MMAP_THRESHOLD = 32 << 20  # allocations above 32 MiB still come from mmap


@functools.cache
def keep_freed_memory() -> bool:
    """Tune glibc's malloc once per process; True if it was tuned."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    if mallopt is None:
        return False
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
