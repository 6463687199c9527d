"""Arrays read through a memory map of a file, and giving their pages back.

A pretrained model's weights are read-only views of a memory-mapped file
(:mod:`explainer.models.smollm2`): the kernel reads a page when it is first
touched and counts it in the process's resident memory from then on, so one
pass over SmolLM2 holds all its 540 MB. :func:`release` drops an array's pages
from the process (``madvise(MADV_DONTNEED)``); they stay in the kernel's page
cache, so the next read takes them from memory again, not from the disk. The
numbers never change: the pages are the file's, and the file is only read.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterable

import numpy as np
from numpy.lib.array_utils import byte_bounds

PAGE = mmap.PAGESIZE


def mapping_of(array: np.ndarray) -> mmap.mmap | None:
    """The memory map ``array`` views (through its chain of bases), else None."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # np.frombuffer's base
        base = base.obj
    return base if isinstance(base, mmap.mmap) else None


def release(arrays: Iterable[object]) -> int:
    """Drop from the process the whole pages of every memory-mapped array in
    ``arrays`` (other values are skipped); the number of bytes given back.

    >>> import tempfile
    >>> with tempfile.TemporaryFile() as file:
    ...     _ = file.write(np.arange(4 * PAGE, dtype=np.uint8).tobytes())
    ...     _ = file.seek(0)
    ...     data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    >>> x = np.frombuffer(data, np.uint8)
    >>> total = int(x.sum(dtype=np.int64))
    >>> release([x, "not an array"]) == 4 * PAGE, int(x.sum(dtype=np.int64)) == total
    (True, True)
    """
    released = 0
    for array in arrays:
        if not isinstance(array, np.ndarray) or (mapped := mapping_of(array)) is None:
            continue
        if getattr(mmap, "MADV_DONTNEED", None) is None or not array.size:
            continue
        start = np.frombuffer(mapped, np.uint8, 1).ctypes.data
        low, high = byte_bounds(array)
        begin = (low - start) // PAGE * PAGE  # whole pages: a neighbour's share is
        end = min(-(-(high - start) // PAGE) * PAGE, len(mapped))  # read again
        if end > begin:
            mapped.madvise(mmap.MADV_DONTNEED, begin, end - begin)
            released += end - begin
    return released
