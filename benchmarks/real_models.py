"""Load time and forward time of the pretrained models, NumPy ÷ torch, in one run.

MiniLM (issue 6): our loader (safetensors + tokenizers, renamed and transposed
weights) against ``transformers.BertModel.from_pretrained`` on the same folder; our
recorded and unrecorded forward pass (``explainer.models.bert_forward``) against
BertModel under ``inference_mode`` on the same token ids, batch of one. The outputs
are compared before anything is timed. Times are medians of repeated calls, the
NumPy and torch calls taking turns in blocks.

SmolLM2: our cached load (float32 safetensors + tokenizer JSON built once from the
GGUF; the cache is warmed before timing) against transformers'
``LlamaForCausalLM.from_pretrained(..., gguf_file=...)``, which dequantizes the GGUF
on every load; forward passes as for MiniLM, logits compared (≤ 5e-4) first.

Loads run in a fresh interpreter (imports not counted), the model files first read
once so that they sit in the page cache ("warm"). With ``--drop-caches`` (root only:
it empties the whole machine's page cache) loads are also timed from the disk
("cold"), as after the kernel evicted the files.

Usage::

    .venv/bin/python benchmarks/real_models.py            # about a minute
    .venv/bin/python benchmarks/real_models.py --quick    # a few seconds
    .venv/bin/python benchmarks/real_models.py --drop-caches --out /tmp/real.json

The results are printed and written as JSON (default
``output/benchmarks/real_models.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "output/benchmarks/real_models.json"
SENTENCE = "The quick brown fox jumps over the lazy dog, " * 5  # 57 tokens


def median_times(
    fns: list[Callable[[], object]], repeats: int, rounds: int = 3
) -> list[float]:
    """The median wall time of each of ``fns``. They take turns in blocks: each
    ``rounds`` times runs twice untimed, then ``repeats // rounds`` timed calls, so
    that a busy moment of the machine slows them all alike but one library's idle
    threads (OpenBLAS spins for a while after a call) do not slow the other's."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, spent in zip(fns, times, strict=True):
            fn(), fn()
            for _ in range(max(1, repeats // rounds)):
                start = time.perf_counter()
                fn()
                spent.append(time.perf_counter() - start)
    return [statistics.median(spent) for spent in times]


def read_through(paths: list[Path]) -> None:
    """Read every byte of ``paths`` so that they sit in the page cache."""
    for path in paths:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def drop_page_cache() -> bool:
    """Empty the page cache (needs root); False if not allowed."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def load_seconds(
    code: str, files: list[Path], repeats: int, cold: bool
) -> float | None:
    """Median wall time of ``code`` in a fresh interpreter, less its imports, with
    ``files`` read into the page cache first (``cold``: evicted first; None when
    the page cache cannot be dropped)."""
    script = (
        "import time, os; os.environ['HF_HUB_OFFLINE'] = '1'\n"
        + code
        + "\nprint(repr(elapsed))\n"
    )
    runs = []
    for _ in range(repeats):
        if cold:
            if not drop_page_cache():
                return None
        else:
            read_through(files)
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def load_times(
    prefix: str, ours: str, torch: str, files: list[Path], repeats: int, cold: bool
) -> dict[str, float | None]:
    times = {
        f"{prefix}_numpy_s": load_seconds(ours, files, repeats, False),
        f"{prefix}_torch_s": load_seconds(torch, files, repeats, False),
    }
    if cold:
        times[f"{prefix}_numpy_cold_s"] = load_seconds(ours, files, repeats, True)
        times[f"{prefix}_torch_cold_s"] = load_seconds(torch, files, repeats, True)
    return times


OUR_LOAD = """
from explainer.models import load_model
start = time.perf_counter(); load_model("minilm"); elapsed = time.perf_counter() - start
"""
TORCH_LOAD = """
from transformers import AutoTokenizer, BertModel
from explainer.models import minilm
folder = str(minilm.model_dir())
start = time.perf_counter()
BertModel.from_pretrained(folder).eval(); AutoTokenizer.from_pretrained(folder)
elapsed = time.perf_counter() - start
"""


SMOL_LOAD = """
from explainer.models import load_model
start = time.perf_counter()
load_model("smollm2")
elapsed = time.perf_counter() - start
"""
SMOL_TORCH_LOAD = """
import torch
from transformers import AutoTokenizer, LlamaForCausalLM
from explainer.models import smollm2
folder, name = str(smollm2.gguf_path().parent), smollm2.GGUF_FILE
start = time.perf_counter()
LlamaForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32).eval()
AutoTokenizer.from_pretrained(folder, gguf_file=name)
elapsed = time.perf_counter() - start
"""


def forward_times(
    run_torch: Callable[[], object],
    run_ours: Callable[[bool], object],
    repeats: int,
) -> dict[str, float]:
    """Median forward times of torch and of our pass traced and untraced, and the
    ratios (NumPy ÷ torch)."""
    traced, plain = (lambda: run_ours(True)), (lambda: run_ours(False))
    for fn in (run_torch, traced, plain):
        fn()  # warm-up
    t_torch, t_traced, t_plain = median_times([run_torch, traced, plain], repeats)
    return {
        "forward_torch_s": t_torch,
        "forward_numpy_traced_s": t_traced,
        "forward_numpy_s": t_plain,
        "ratio_traced_over_torch": t_traced / t_torch,
        "ratio_untraced_over_torch": t_plain / t_torch,
    }


def smollm2_case(repeats: int, load_reps: int, cold: bool) -> dict[str, float | None]:
    import torch
    from transformers import LlamaForCausalLM

    from explainer.models import llama_forward, load_model, smollm2

    model = load_model("smollm2")  # builds the cache if it is missing
    ids = np.array(model.tokenizer.encode(SENTENCE).ids)
    llama = LlamaForCausalLM.from_pretrained(
        str(smollm2.gguf_path().parent), gguf_file=smollm2.GGUF_FILE,
        dtype=torch.float32,
    ).eval()  # fmt: skip
    batch = torch.from_numpy(ids[None])  # (1, T)

    def run_torch() -> np.ndarray:
        with torch.inference_mode():
            return llama(batch).logits[0].numpy()

    def run_ours(record: bool) -> llama_forward.ForwardResult:
        return llama_forward.forward(model.config, model.params, ids, record=record)

    err = float(np.abs(run_ours(True).logits - run_torch()).max())
    assert err <= 5e-4, f"NumPy and torch disagree: max |Δ| = {err:.2e}"
    cache = smollm2.cache_dir()
    files = [smollm2.gguf_path(), *cache.glob(f"{smollm2.NAME}-*")]
    return {
        "tokens": int(ids.size),
        "max_abs_err_vs_torch": err,
        # ours: the float32 cache; torch: dequantizes the GGUF on every load
        **load_times("load", SMOL_LOAD, SMOL_TORCH_LOAD, files, load_reps, cold),
        **forward_times(run_torch, run_ours, repeats),
    }


def minilm_case(repeats: int, load_reps: int, cold: bool) -> dict[str, float | None]:
    import torch
    from transformers import BertModel

    from explainer.models import bert_forward, load_model, minilm

    model = load_model("minilm")
    ids = np.array(model.tokenizer.encode(SENTENCE).ids)
    bert = BertModel.from_pretrained(str(minilm.model_dir())).eval()
    batch = torch.from_numpy(ids[None])  # (1, T)

    def run_torch() -> np.ndarray:
        with torch.inference_mode():
            return bert(batch).last_hidden_state[0].numpy()

    def run_ours(record: bool) -> bert_forward.ForwardResult:
        return bert_forward.forward(model.config, model.params, ids, record=record)

    traced = run_ours(True)
    last = dict((s.name, s.value) for s in traced.stages)["encoder.5.norm2"]
    err = float(np.abs(last - run_torch()).max())
    assert err <= 1e-5, f"NumPy and torch disagree: max |Δ| = {err:.2e}"
    files = sorted(p for p in minilm.model_dir().rglob("*") if p.is_file())
    return {
        "tokens": int(ids.size),
        "max_abs_err_vs_torch": err,
        **load_times("load", OUR_LOAD, TORCH_LOAD, files, load_reps, cold),
        **forward_times(run_torch, run_ours, repeats),
    }


LOAD_REPEATS = 5


def blas_info() -> dict[str, str | None]:
    """Which OpenBLAS kernels NumPy runs: the forward times depend on them (a
    machine may pin them with ``OPENBLAS_CORETYPE``, as this project's CI does:
    Haswell, AVX2, on a CPU with AVX-512)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # a test extra
        return {"openblas_kernels": None}
    openblas = [i for i in threadpool_info() if i["internal_api"] == "openblas"]
    return {
        "openblas_kernels": ", ".join(str(i.get("architecture")) for i in openblas)
        or None,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats")
    parser.add_argument(
        "--drop-caches",
        action="store_true",
        help="also time loads from the disk (root only: empties the page cache)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSON file")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    repeats = 5 if args.quick else 30
    load_reps = 1 if args.quick else LOAD_REPEATS
    results = {
        "machine": blas_info(),
        "minilm": minilm_case(repeats, load_reps, args.drop_caches),
        "smollm2": smollm2_case(repeats, load_reps, args.drop_caches),
    }
    for name, row in results.items():
        print(f"{name}:")
        for key, value in row.items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            print(f"  {key:<28} {shown}")
    from explainer.atomic import write_atomic

    write_atomic(args.out, json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
