"""How much faster the NumPy pass gets with leaner :mod:`explainer.numeric` ops.

A diagnostic beside ``benchmarks/forward.py``; it changes nothing in ``explainer/``:
each candidate op below is patched into :mod:`explainer.numeric` for the duration of
a call, alone and all together, and timed against the ops as shipped and against
torch (same cases, same torch model, same block timing as forward.py). The toy
presets spend their time in Python-level wrappers (``np.mean`` →
``_methods._mean``, ``np.max`` → ``_wrapreduction``, ``np.broadcast_arrays``),
not in arithmetic, so that is what the candidates remove. Every variant's logits
are checked against the shipped ops first.

Usage::

    .venv/bin/python benchmarks/numpy_ops.py                 # all cases, ~1 min
    .venv/bin/python benchmarks/numpy_ops.py --case seed003 --seconds 5
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
from collections.abc import Callable

import numpy as np
import torch
from forward import Budget, TorchModel, make_cases, measure, torch_inputs

import explainer.forward as fw
from explainer import numeric

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # without it NumPy's BLAS keeps its own thread count
    threadpool_limits = None

CASES = {"encoder": 0, "default": 1, "seed003": 2}  # indices into make_cases()


def layer_norm(
    x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float
) -> np.ndarray:
    """As shipped, but x − μ once, and sums (ufunc methods) instead of np.mean."""
    d_model = x.shape[-1]
    centered = x - x.sum(axis=-1, keepdims=True) / d_model  # (T, d_model)
    var = (centered * centered).sum(axis=-1, keepdims=True) / d_model  # (T, 1)
    return centered / np.sqrt(var + eps) * gamma + beta  # (T, d_model)


@functools.lru_cache(maxsize=64)
def positional_encoding(seq_len: int, d_model: int, dtype: str) -> np.ndarray:
    """As shipped, computed once per (T, d_model, dtype) and kept read-only."""
    pe = _SHIPPED["positional_encoding"](seq_len, d_model, dtype)
    pe.setflags(write=False)
    return pe  # (T, d_model)


def apply_mask(scores: np.ndarray, *allowed: np.ndarray) -> np.ndarray:
    """As shipped, but one mask is used as it is (no broadcast_arrays + reduce)."""
    if len(allowed) == 1:
        ok = allowed[0]
    else:
        ok = np.logical_and.reduce(np.broadcast_arrays(*allowed))
    return np.where(ok, scores, -np.inf).astype(scores.dtype, copy=False)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """As shipped, with method reductions and the division in place."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """As shipped, with the bias added in place (one array fewer)."""
    y = x @ w  # (T, d_out)
    y += b
    return y


def one_hot(ids: np.ndarray, vocab_size: int, dtype: str) -> np.ndarray:
    """As shipped, without the (V, V) identity matrix: O(T·V), not O(V²)."""
    out = np.zeros((*ids.shape, vocab_size), dtype=dtype)  # (T, V)
    np.put_along_axis(out, ids[..., None], 1, axis=-1)
    return out


CANDIDATES: dict[str, Callable] = {
    "layer_norm": layer_norm,
    "positional_encoding": positional_encoding,
    "apply_mask": apply_mask,
    "softmax": softmax,
    "linear": linear,
    "one_hot": one_hot,
}
_SHIPPED = {name: getattr(numeric, name) for name in CANDIDATES}


def patched(names: tuple[str, ...], run: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        for name in names:
            setattr(numeric, name, CANDIDATES[name])
        try:
            return run()
        finally:
            for name in names:
                setattr(numeric, name, _SHIPPED[name])

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=list(CASES), action="append")
    parser.add_argument("--seconds", type=float, default=12.0, help="per case")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if threadpool_limits is not None:
        threadpool_limits(limits=args.threads, user_api="blas")
    cases = make_cases()
    for key in args.case or list(CASES):
        case = cases[CASES[key]]
        cfg, params, src, tgt = case.cfg, case.params, case.source_ids, case.target_ids

        def shipped(cfg=cfg, params=params, src=src, tgt=tgt) -> object:
            return fw.forward(cfg, params, src, tgt, record=False)

        numpy_variants = {"as shipped": shipped}
        numpy_variants.update({f"+ {n}": patched((n,), shipped) for n in CANDIDATES})
        numpy_variants["all together"] = patched(tuple(CANDIDATES), shipped)
        reference = shipped().logits
        for name, fn in numpy_variants.items():
            diff = float(np.max(np.abs(fn().logits - reference)))
            assert diff <= 1e-5 * max(1.0, float(np.max(np.abs(reference)))), name
        model = TorchModel(cfg, params, max_len=max(src.size, getattr(tgt, "size", 0)))
        inputs = torch_inputs(case)
        budget = Budget(args.seconds, 3, 10, 100_000)
        with torch.inference_mode():
            times, _ = measure(
                [numpy_variants, {"torch": lambda m=model, i=inputs: m(*i)}], budget
            )
        base = statistics.median(times["as shipped"])
        print(f"\n{case.name}  (untraced; medians over all calls)")
        for name, t in times.items():
            median = statistics.median(t)
            change = 100 * (median / base - 1)
            print(f"  {name:24s} {1e3 * median:8.3f} ms  {change:+6.1f} %")


if __name__ == "__main__":
    main()
