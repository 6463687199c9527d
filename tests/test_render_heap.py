"""explainer/render/heap.py: after install(), a frame-sized array made and freed
again and again comes from the heap: the kernel is asked for its pages once, not
once an array (counted in minor page faults, each a page mapped and zeroed)."""

import subprocess
import sys

import pytest

pytest.importorskip("numpy")

PROGRAM = """
import resource, sys
import numpy as np
from explainer.render import heap
if sys.argv[1] == "on":
    assert heap.install()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
def frames():  # a frame at -ql, its background and the encoder's copy, then freed
    for _ in range(100):
        frame = np.ones((480, 854, 4), np.uint8)
        background, copy = frame.copy(), frame.copy()
        del frame, background, copy
frames()  # settle
before = faults()
frames()
print(faults() - before)
"""


def _faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_frames_reuse_the_heap_after_install():
    pages = 480 * 854 * 4 // 4096  # about 400 a frame
    assert _faults("off") > 100 * pages  # glibc maps (most of) them afresh
    assert _faults("on") < 2 * pages
