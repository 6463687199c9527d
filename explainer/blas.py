"""One BLAS thread for the pretrained models' matrix products.

A pretrained model's products are many and small (a few rows each); OpenBLAS's
second thread mostly waits for work, spinning, and on a busy 2-core machine that
made ``explainer report --model smollm2`` take 22–40 s instead of 5–7 s. A thread
count can also change how OpenBLAS splits a product, and so float32's last bits:
the limit is set for the whole process when a model is loaded
(:func:`explainer.models.load_model`), before any of its numbers is computed, so a
trace is the same bytes whoever makes it — the CLI, a notebook, a test.
"""

from __future__ import annotations

import functools


@functools.cache
def one_thread() -> None:
    """Limit the BLAS libraries loaded so far to one thread, for the rest of the
    process (threadpoolctl; NumPy's OpenBLAS is loaded with NumPy)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
