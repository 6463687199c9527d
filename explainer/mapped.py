"""Arrays read through a memory map of a file, and giving their pages back.

A pretrained model's weights are read-only views of a memory-mapped safetensors
file (:func:`map_safetensors`), not copies: the kernel reads a page when it is first
touched and counts it in the process's resident memory from then on, so one
pass over SmolLM2 holds all its 540 MB. :func:`release` drops an array's pages
from the process (``madvise(MADV_DONTNEED)``); they stay in the kernel's page
cache, so the next read takes them from memory again, not from the disk. The
numbers never change: the pages are the file's, and the file is only read.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from numpy.lib.array_utils import byte_bounds

PAGE = mmap.PAGESIZE
_DTYPES = {"F32": np.float32}


def map_safetensors(path: str | Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a safetensors file as read-only arrays over a
    memory map of it, not copies: their pages are the file's, so the kernel can
    drop them and read them again. safetensors' ``load_file`` reads the file and
    copies each tensor (1.1 GB resident for SmolLM2's 540 MB). The layout read
    here is the safetensors format: an 8-byte little-endian header length, a JSON
    header of ``{name: {dtype, shape, data_offsets}}``, then the data.

    Raises OSError if the file cannot be read, ValueError if it is not float32
    safetensors.
    """
    with open(path, "rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        size = int.from_bytes(mapped[:8], "little")
        header = json.loads(mapped[8 : 8 + size])
        header.pop("__metadata__", None)
        arrays: dict[str, np.ndarray] = {}
        for name, entry in header.items():
            dtype = np.dtype(_DTYPES[entry["dtype"]])
            begin, end = entry["data_offsets"]
            count = (end - begin) // dtype.itemsize
            value = np.frombuffer(mapped, dtype, count, 8 + size + begin)
            arrays[name] = value.reshape(entry["shape"])
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a float32 safetensors file") from err
    return arrays


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
    if getattr(mmap, "MADV_DONTNEED", None) is None:
        return 0  # not on this system: the pages stay
    spans: dict[int, tuple[mmap.mmap, list[tuple[int, int]]]] = {}
    for array in arrays:
        if not isinstance(array, np.ndarray) or not array.size:
            continue
        if (mapped := mapping_of(array)) is None:
            continue
        low, high = byte_bounds(array)
        spans.setdefault(id(mapped), (mapped, []))[1].append((low, high))
    released = 0
    for mapped, ranges in spans.values():
        start = _address(np.frombuffer(mapped, np.uint8, 1))
        # Whole pages (a neighbour's share is read again), and one call per run
        # of adjacent arrays (a layer's weights lie side by side in the file).
        runs: list[list[int]] = []
        for low, high in sorted(ranges):
            begin = (low - start) // PAGE * PAGE
            end = min(-(-(high - start) // PAGE) * PAGE, len(mapped))
            if runs and begin <= runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], end)
            else:
                runs.append([begin, end])
        for begin, end in runs:
            if end > begin:
                mapped.madvise(mmap.MADV_DONTNEED, begin, end - begin)
                released += end - begin
    return released


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]
