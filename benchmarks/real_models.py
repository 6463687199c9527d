"""Load time and forward time of the pretrained models, NumPy ÷ torch, in one run.

MiniLM (issue 6): our loader (safetensors + tokenizers, renamed and transposed
weights) against ``transformers.BertModel.from_pretrained`` on the same folder; our
recorded and unrecorded forward pass (``explainer.models.bert_forward``) against
BertModel under ``inference_mode`` on the same token ids, batch of one. The outputs
are compared before anything is timed. Times are medians of repeated calls, the
NumPy and torch calls taking turns.

SmolLM2: our cached load (float32 safetensors + tokenizer JSON built once from the
GGUF; the cache is warmed before timing) against transformers'
``LlamaForCausalLM.from_pretrained(..., gguf_file=...)``, which dequantizes the GGUF
on every load; forward passes as for MiniLM, logits compared (≤ 5e-4) first.

Usage::

    .venv/bin/python benchmarks/real_models.py            # about a minute
    .venv/bin/python benchmarks/real_models.py --quick    # a few seconds
    .venv/bin/python benchmarks/real_models.py --out /tmp/real_models.json
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

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SENTENCE = "The quick brown fox jumps over the lazy dog, " * 5  # 57 tokens


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold_load_seconds(code: str, repeats: int) -> float:
    """Median wall time of ``code`` in a fresh interpreter, less its imports."""
    script = (
        "import time, os; os.environ['HF_HUB_OFFLINE'] = '1'\n"
        + code
        + "\nprint(repr(elapsed))\n"
    )
    runs = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


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


def smollm2_case(repeats: int) -> dict[str, float]:
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
    for fn in (run_torch, lambda: run_ours(True), lambda: run_ours(False)):
        fn()  # warm-up
    t_torch = median_time(run_torch, repeats)
    t_traced = median_time(lambda: run_ours(True), repeats)
    t_plain = median_time(lambda: run_ours(False), repeats)
    load_reps = max(1, repeats // 10)
    return {
        "tokens": int(ids.size),
        "max_abs_err_vs_torch": err,
        "load_numpy_cached_s": cold_load_seconds(SMOL_LOAD, load_reps),
        "load_torch_gguf_s": cold_load_seconds(SMOL_TORCH_LOAD, load_reps),
        "forward_torch_s": t_torch,
        "forward_numpy_traced_s": t_traced,
        "forward_numpy_s": t_plain,
        "ratio_traced_over_torch": t_traced / t_torch,
        "ratio_untraced_over_torch": t_plain / t_torch,
    }


def minilm_case(repeats: int) -> dict[str, float]:
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
    for fn in (run_torch, lambda: run_ours(True), lambda: run_ours(False)):
        fn()  # warm-up
    t_torch = median_time(run_torch, repeats)
    t_traced = median_time(lambda: run_ours(True), repeats)
    t_plain = median_time(lambda: run_ours(False), repeats)
    load_reps = max(1, repeats // 10)
    return {
        "tokens": int(ids.size),
        "max_abs_err_vs_torch": err,
        "load_numpy_s": cold_load_seconds(OUR_LOAD, load_reps),
        "load_torch_s": cold_load_seconds(TORCH_LOAD, load_reps),
        "forward_torch_s": t_torch,
        "forward_numpy_traced_s": t_traced,
        "forward_numpy_s": t_plain,
        "ratio_traced_over_torch": t_traced / t_torch,
        "ratio_untraced_over_torch": t_plain / t_torch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats")
    parser.add_argument("--out", help="also write the results as JSON here")
    args = parser.parse_args()
    repeats = 5 if args.quick else 30
    results = {"minilm": minilm_case(repeats), "smollm2": smollm2_case(repeats)}
    for name, row in results.items():
        print(f"{name}:")
        for key, value in row.items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            print(f"  {key:<28} {shown}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
