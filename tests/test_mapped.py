"""Memory-mapped weights give their pages back (explainer/mapped.py): the
process's resident file pages, read from /proc, fall by the array's size, and
the numbers read afterwards are the file's."""

import importlib.util
import mmap
from pathlib import Path

import numpy as np
import pytest

from explainer.mapped import PAGE, mapping_of, release

STATUS = Path("/proc/self/status")
MB = 1 << 20


def resident_file_bytes() -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no RssFile in /proc/self/status")


def resident_bytes_of_mapping(address: int) -> int:
    """The resident bytes of the memory mapping holding ``address`` (from
    /proc/self/smaps): the weights file alone, not the libraries other tests
    loaded (torch's are hundreds of MB of resident file pages)."""
    inside, rss = False, None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()[0]
        if "-" in head and ":" not in head:  # a mapping's first line: lo-hi perms …
            lo, hi = (int(h, 16) for h in head.split("-"))
            inside = lo <= address < hi
        elif inside and head == "Rss:":
            rss = int(line.split()[1]) * 1024
    if rss is None:
        raise AssertionError(f"no mapping holds address {address:#x}")
    return rss


@pytest.fixture
def mapped_floats(tmp_path):
    values = np.random.default_rng(7).standard_normal(8 * MB // 4).astype(np.float32)
    path = tmp_path / "weights.bin"
    path.write_bytes(values.tobytes())
    with open(path, "rb") as file:
        data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    return values, np.frombuffer(data, np.float32).reshape(2048, -1)


@pytest.mark.skipif(not STATUS.exists(), reason="needs Linux's /proc")
def test_released_pages_leave_the_process_and_the_numbers_stay(mapped_floats):
    values, weights = mapped_floats
    assert float(weights.sum(dtype=np.float64)) == pytest.approx(
        float(values.sum(dtype=np.float64))
    )  # every page read: resident
    before = resident_file_bytes()
    assert release([weights]) == 8 * MB
    dropped = before - resident_file_bytes()
    assert dropped >= 7 * MB  # the array's 8 MB, give or take other files' pages
    np.testing.assert_array_equal(weights.ravel(), values)  # read again: the same


def test_a_view_releases_its_own_pages_and_copies_are_skipped(mapped_floats):
    _, weights = mapped_floats
    rows = weights[512:1024]  # 2 MB in the middle: whole pages
    assert mapping_of(rows) is mapping_of(weights) is not None
    assert release([rows]) == 2 * MB
    assert release([np.array(rows), rows.tolist(), None]) == 0  # not mapped
    assert release([weights[:1, :1]]) == PAGE  # a part of a page: that page


@pytest.mark.skipif(not STATUS.exists(), reason="needs Linux's /proc")
def test_a_smollm2_pass_does_not_keep_its_540_mb_of_weights_resident():
    from explainer.models import smollm2, trace_model

    if importlib.util.find_spec(smollm2.MODULE) is None:
        pytest.skip(f"model package missing: {smollm2.INSTALL}")
    trace = trace_model("smollm2", "The capital of France is")
    weights = sum(v.nbytes for v in trace.params.values())
    assert weights > 500 * MB
    maps = {id(mapping_of(v)) for v in trace.params.values()}
    assert maps == {id(mapping_of(trace.params["embedding"]))} != {id(None)}
    address = trace.params["embedding"].__array_interface__["data"][0]
    assert resident_bytes_of_mapping(address) < 64 * MB  # a layer's 14 MB, …


def test_loading_a_model_leaves_numpys_blas_one_thread():
    from threadpoolctl import threadpool_info

    from explainer.models import load_model, minilm

    if importlib.util.find_spec(minilm.MODULE) is None:
        pytest.skip(f"model package missing: {minilm.INSTALL}")
    load_model("minilm")
    blas = [i for i in threadpool_info() if "numpy" in i["filepath"]]  # NumPy's
    assert blas and all(i["num_threads"] == 1 for i in blas)
