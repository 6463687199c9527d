"""Big arrays reuse the process's memory instead of asking the kernel each time.

Every frame makes several 854 × 480 RGBA arrays (1.6 MB at -ql: the frame, the
static background copied under it, the copy handed to the encoder). glibc
serves blocks that size with a fresh ``mmap`` and gives them back with
``munmap`` when freed, so the kernel maps and zero-fills some 400 pages per
array, per frame: about a tenth of a scene's CPU time, counted as system time.
:func:`install` raises the size at which glibc maps a block of its own (and at
which it gives free memory back), so these arrays come from and return to the
heap. The pixels are the same; the process keeps the memory of its largest
frame until it exits, as it would have used it anyway.

Nothing changes where the C library has no ``mallopt`` (not glibc).
"""

from __future__ import annotations

import ctypes

# mallopt(3) parameters
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 2**20  # glibc's maximum: blocks above this are still mapped
TRIM_THRESHOLD = 256 * 2**20  # free memory at the top of the heap kept, at most
TOP_PAD = 16 * 2**20  # the heap grows by at least this much at a time


def install() -> bool:
    """Set glibc's thresholds for this process and the processes it forks; False
    if this C library has no ``mallopt``."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(
        mallopt(param, value) == 1
        for param, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_TOP_PAD, TOP_PAD),
        )
    )
