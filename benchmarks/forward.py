"""Benchmark the NumPy forward pass against PyTorch on the same weights.

Cases: the paper's base encoder (d_model 512, 8 heads, d_ff 2048, 6 layers, T = 128,
float32) and the toy presets ``default`` (encoder-decoder) and ``seed003`` run on
their sentence, as :func:`explainer.run.trace_sentence` runs them. For each case:
``forward(record=True)``, ``forward(record=False)`` and the same model built from
``torch.nn`` with our weights copied in. Both sides do the same work, token ids to
prediction: embedding lookup (NumPy: one-hot · E, the stage the trace shows; torch:
nn.Embedding), ×√d_model, + PE (torch: a precomputed buffer, as torch users keep it),
the layers, logits h Eᵀ, softmax and argmax; batch of one. The vocabulary is the
default corpus's (57 words), random ids for the big case. Before timing, the NumPy
(traced and untraced) and torch logits are compared, so that a wrong computation is
never timed. torch runs in eval() under inference_mode(), as users run it; which
path it takes (the fused encoder-layer fastpath or not) is detected and printed.

Timing: warm-up, then the NumPy variants (in rotating order, so that a busy
neighbour slows both alike) and torch take turns in blocks until the case's time
budget is spent; the median over all calls is reported (see :func:`measure`).

Usage::

    .venv/bin/python benchmarks/forward.py            # full run, under a minute
    .venv/bin/python benchmarks/forward.py --quick    # smoke run, a few seconds
    .venv/bin/python benchmarks/forward.py --out /tmp/forward.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explainer.atomic import write_atomic
from explainer.config import ModelConfig, from_dict
from explainer.forward import forward
from explainer.params import Params, init_params
from explainer.presets import get_preset
from explainer.run import trace_sentence
from explainer.tokenizer import SPECIALS, Tokenizer, default_corpus

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # optional: without it NumPy's BLAS threads are neither set nor
    threadpool_info = threadpool_limits = None  # reported

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError:
    print(
        "error: this benchmark needs torch: pip install -e '.[test]'", file=sys.stderr
    )
    sys.exit(2)

SCHEMA = "explainer-benchmark-forward/1"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "output/benchmarks/forward.json"
TARGET_OVERHEAD = 0.15  # the trace may cost at most 15 % (issue 2, item 10)
TOLERANCE = {"float32": 1e-3, "float64": 1e-9}  # max |logits_np − logits_torch|


@dataclass(frozen=True)
class Case:
    """One model, its weights and its input."""

    name: str
    cfg: ModelConfig
    params: Params
    source_ids: np.ndarray  # (T_src,)
    target_ids: np.ndarray | None  # (T_tgt,) for an encoder-decoder


@dataclass(frozen=True)
class Budget:
    """How long to measure one case (see :func:`measure`)."""

    seconds: float  # for all variants together, warm-up and pauses not counted
    warmup: int  # calls of each variant before its first block
    min_rounds: int  # calls of each variant at least, even past ``seconds``
    max_rounds: int  # calls of each variant at most
    blocks: int = 5  # turns each group (NumPy, torch) takes
    pause: float = 0.25  # seconds of sleep before each block


def make_cases() -> list[Case]:
    """The paper-sized encoder on random ids, then the two toy presets."""
    vocab_size = len(Tokenizer.from_corpus(default_corpus()).vocab)
    cfg = ModelConfig(
        architecture="encoder",
        d_model=512,
        n_heads=8,
        d_ff=2048,
        n_layers=6,
        max_len=512,
        dtype="float32",
    )
    rng = np.random.default_rng(0)
    ids = rng.integers(len(SPECIALS), vocab_size, size=128)  # (T,)
    cases = [
        Case("encoder 512/8/2048 ×6", cfg, init_params(cfg, vocab_size), ids, None)
    ]
    for name in ("default", "seed003"):
        preset = get_preset(name)
        cfg = from_dict(preset.config)
        trace = trace_sentence(cfg, preset.sentence)  # the user-level call
        target = None if trace.target is None else np.array(trace.target.ids)
        cases.append(
            Case(
                f"preset {name}",
                cfg,
                dict(trace.params),
                np.array(trace.source.ids),
                target,
            )
        )
    return cases


# --- the same model in PyTorch ----------------------------------------------------


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a))  # a writeable copy


def _sinusoids(seq_len: int, d_model: int, dtype: torch.dtype) -> torch.Tensor:
    """PE(pos, 2i) = sin(pos/10000^(2i/d)), PE(pos, 2i+1) = cos(same) (§3.5)."""
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (⌈d/2⌉,)
    angle = pos / 10000.0 ** (two_i / d_model)  # (T, ⌈d/2⌉)
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe.to(dtype)  # (T, d_model)


class HeadWidthEncoderLayer(nn.Module):
    """An encoder layer from torch primitives for h·d_k ≠ d_model (seed003: d_model 5,
    one head of width 3), which ``nn.MultiheadAttention`` cannot express."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        hk, hv = cfg.n_heads * cfg.d_k, cfg.n_heads * cfg.d_v
        self.cfg = cfg
        self.q, self.k = nn.Linear(cfg.d_model, hk), nn.Linear(cfg.d_model, hk)
        self.v, self.o = nn.Linear(cfg.d_model, hv), nn.Linear(hv, cfg.d_model)
        self.linear1 = nn.Linear(cfg.d_model, cfg.d_ff)
        self.linear2 = nn.Linear(cfg.d_ff, cfg.d_model)
        self.norm1 = nn.LayerNorm(cfg.d_model, eps=cfg.eps)
        self.norm2 = nn.LayerNorm(cfg.d_model, eps=cfg.eps)

    def _attend(self, x: torch.Tensor, causal: bool) -> torch.Tensor:
        b, t, _ = x.shape  # (B, T, d_model)
        h, d_k, d_v = self.cfg.n_heads, self.cfg.d_k, self.cfg.d_v
        q = self.q(x).view(b, t, h, d_k).transpose(1, 2)  # (B, h, T, d_k)
        k = self.k(x).view(b, t, h, d_k).transpose(1, 2)  # (B, h, T, d_k)
        v = self.v(x).view(b, t, h, d_v).transpose(1, 2)  # (B, h, T, d_v)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=causal)  # (B,h,T,d_v)
        return self.o(o.transpose(1, 2).reshape(b, t, h * d_v))  # (B, T, d_model)

    def _ffn(self, x: torch.Tensor) -> torch.Tensor:
        act = F.relu if self.cfg.activation == "relu" else F.gelu
        return self.linear2(act(self.linear1(x)))

    def forward(self, x: torch.Tensor, causal: bool = False) -> torch.Tensor:
        if self.cfg.norm == "pre":
            x = x + self._attend(self.norm1(x), causal)
            return x + self._ffn(self.norm2(x))
        x = self.norm1(x + self._attend(x, causal))
        return self.norm2(x + self._ffn(x))


class TorchModel(nn.Module):
    """Our model built from ``torch.nn``: nn.TransformerEncoder/-Decoder where
    nn.MultiheadAttention fits the head widths, :class:`HeadWidthEncoderLayer`
    otherwise; embedding, ×√d_model, PE and the tied output projection around it."""

    def __init__(self, cfg: ModelConfig, params: Params, max_len: int) -> None:
        super().__init__()
        self.cfg = cfg
        fits = cfg.n_heads * cfg.d_k == cfg.d_model and cfg.d_v == cfg.d_k
        if not fits and cfg.architecture == "encoder-decoder":
            raise ValueError("h·d_k ≠ d_model is benchmarked for one stack only")
        self.embedding = nn.Embedding(*params["embedding"].shape)
        self.scale = math.sqrt(cfg.d_model) if cfg.scale_embeddings else 1.0
        # The first stack is the encoder, or the decoder of a decoder-only model
        # (encoder layers with a causal mask); the second the encoder-decoder's.
        self.first = "encoder" if cfg.has_encoder else "decoder"
        if fits:
            self.stack1 = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(**self._layer_args()),
                cfg.n_layers,
                norm=self._final_norm(),
                enable_nested_tensor=False,
            )
        else:
            self.stack1 = nn.ModuleList(
                HeadWidthEncoderLayer(cfg) for _ in range(cfg.n_layers)
            )
            self.norm1 = self._final_norm()
        self.stack2 = None
        if cfg.architecture == "encoder-decoder":
            self.stack2 = nn.TransformerDecoder(
                nn.TransformerDecoderLayer(**self._layer_args()),
                cfg.n_layers,
                norm=self._final_norm(),
            )
        dtype = getattr(torch, cfg.dtype)
        self.to(dtype).eval()  # before copying, so that float64 weights stay exact
        self.register_buffer("pe", _sinusoids(max_len, cfg.d_model, dtype))
        self._load(params)

    def _load(self, params: Params) -> None:
        """Copy our weights in."""
        with torch.no_grad():
            self.embedding.weight.copy_(_tensor(params["embedding"]))
        for layer, module in enumerate(self._layers(self.stack1)):
            _copy_layer(module, params, f"{self.first}.{layer}", ("self_attn",))
        norm1 = getattr(self.stack1, "norm", None) or getattr(self, "norm1", None)
        if norm1 is not None:
            _copy_norm(norm1, params, f"{self.first}.norm")
        if self.stack2 is not None:
            for layer, module in enumerate(self.stack2.layers):
                attns = ("self_attn", "cross_attn")
                _copy_layer(module, params, f"decoder.{layer}", attns)
            if self.stack2.norm is not None:
                _copy_norm(self.stack2.norm, params, "decoder.norm")

    def _layer_args(self) -> dict[str, Any]:
        cfg = self.cfg
        return {
            "d_model": cfg.d_model,
            "nhead": cfg.n_heads,
            "dim_feedforward": cfg.d_ff,
            "dropout": 0.0,
            "activation": cfg.activation,
            "layer_norm_eps": cfg.eps,
            "batch_first": True,
            "norm_first": cfg.norm == "pre",
        }

    def _final_norm(self) -> nn.LayerNorm | None:
        """The LayerNorm closing a pre-LN stack; the paper's post-LN has none."""
        if self.cfg.norm == "post":
            return None
        return nn.LayerNorm(self.cfg.d_model, eps=self.cfg.eps)

    @staticmethod
    def _layers(stack: nn.Module) -> nn.ModuleList:
        return stack.layers if isinstance(stack, nn.TransformerEncoder) else stack

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids) * self.scale  # (B, T, d_model)
        return x + self.pe[: ids.shape[-1]]

    def forward(
        self, source: torch.Tensor, target: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits, probabilities and predicted ids of (B, T) token ids."""
        causal = self.cfg.architecture == "decoder"
        x = self._embed(source)  # (B, T, d_model)
        if isinstance(self.stack1, nn.TransformerEncoder):
            mask = None
            if causal:
                mask = nn.Transformer.generate_square_subsequent_mask(
                    x.shape[1], dtype=x.dtype
                )
            x = self.stack1(x, mask=mask, is_causal=causal)
        else:
            for layer in self.stack1:
                x = layer(x, causal)
            if self.norm1 is not None:
                x = self.norm1(x)
        if self.stack2 is not None:
            y = self._embed(target)  # (B, T_tgt, d_model)
            mask = nn.Transformer.generate_square_subsequent_mask(
                y.shape[1], dtype=y.dtype
            )
            x = self.stack2(y, x, tgt_mask=mask, tgt_is_causal=True)
        logits = F.linear(x, self.embedding.weight)  # (B, T, V), tied (§3.4)
        probs = torch.softmax(logits, dim=-1)
        return logits, probs, probs.argmax(dim=-1)


def _copy_layer(
    layer: nn.Module, params: Params, prefix: str, attns: tuple[str, ...]
) -> None:
    """Copy our weights into a torch layer. torch stores W as (d_out, d_in): Wᵀ."""
    with torch.no_grad():
        for attn in attns:
            p = f"{prefix}.{attn}"
            if isinstance(layer, HeadWidthEncoderLayer):
                for which in "qkvo":
                    lin = getattr(layer, which)
                    lin.weight.copy_(_tensor(params[f"{p}.w_{which}"]).T)
                    lin.bias.copy_(_tensor(params[f"{p}.b_{which}"]))
                continue
            mha = layer.self_attn if attn == "self_attn" else layer.multihead_attn
            mha.in_proj_weight.copy_(
                torch.cat([_tensor(params[f"{p}.w_{w}"]).T for w in "qkv"])
            )  # (3·d_model, d_model)
            mha.in_proj_bias.copy_(
                torch.cat([_tensor(params[f"{p}.b_{w}"]) for w in "qkv"])
            )
            mha.out_proj.weight.copy_(_tensor(params[f"{p}.w_o"]).T)
            mha.out_proj.bias.copy_(_tensor(params[f"{p}.b_o"]))
        for n in (1, 2):
            lin = getattr(layer, f"linear{n}")
            lin.weight.copy_(_tensor(params[f"{prefix}.ffn.w_{n}"]).T)
            lin.bias.copy_(_tensor(params[f"{prefix}.ffn.b_{n}"]))
        for n in range(1, len(attns) + 2):
            _copy_norm(getattr(layer, f"norm{n}"), params, f"{prefix}.norm{n}")


def _copy_norm(norm: nn.LayerNorm, params: Params, name: str) -> None:
    with torch.no_grad():
        norm.weight.copy_(_tensor(params[f"{name}.gamma"]))
        norm.bias.copy_(_tensor(params[f"{name}.beta"]))


def torch_inputs(case: Case) -> tuple[torch.Tensor, ...]:
    """The case's ids as a batch of one: (1, T)."""
    ids = [case.source_ids] + ([] if case.target_ids is None else [case.target_ids])
    return tuple(torch.tensor(i, dtype=torch.long)[None] for i in ids)


def torch_path(model: TorchModel, inputs: tuple[torch.Tensor, ...]) -> str:
    """Which code path torch took: counts the calls of the fused encoder-layer
    kernel that nn.TransformerEncoderLayer uses in its inference fastpath."""
    fused = getattr(torch, "_transformer_encoder_layer_fwd", None)
    if fused is None:  # a torch without this private kernel: path unknown
        return "unknown (torch._transformer_encoder_layer_fwd not found)"
    calls = 0

    def counting(*args: Any, **kwargs: Any) -> torch.Tensor:
        nonlocal calls
        calls += 1
        return fused(*args, **kwargs)

    torch._transformer_encoder_layer_fwd = counting
    try:
        with torch.inference_mode():
            model(*inputs)
    finally:
        torch._transformer_encoder_layer_fwd = fused
    first = model.first
    if not isinstance(model.stack1, nn.TransformerEncoder):
        parts = [f"{first}: torch primitives + F.scaled_dot_product_attention"]
    elif calls:
        parts = [f"{first}: fastpath (torch._transformer_encoder_layer_fwd ×{calls})"]
    else:
        parts = [f"{first}: standard nn.TransformerEncoderLayer path (no fastpath)"]
    if model.stack2 is not None:
        parts.append("decoder: standard (nn.TransformerDecoderLayer has no fastpath)")
    return "; ".join(parts)


# --- checking and timing --------------------------------------------------------


def max_abs_diff(case: Case, model: TorchModel) -> float:
    """max |logits_numpy − logits_torch|, after checking that recording the trace
    does not change the NumPy result."""
    untraced = forward(
        case.cfg, case.params, case.source_ids, case.target_ids, record=False
    ).logits  # (T, V)
    traced = forward(case.cfg, case.params, case.source_ids, case.target_ids).logits
    if not np.array_equal(untraced, traced):
        raise SystemExit(f"error: {case.name}: record=True changes the logits")
    with torch.inference_mode():
        reference = model(*torch_inputs(case))[0][0].numpy()  # (T, V)
    return float(np.max(np.abs(untraced - reference)))


def measure(
    groups: list[dict[str, Callable[[], object]]], budget: Budget
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Seconds per call of each variant, and minor page faults per call (fresh
    memory pages the kernel had to map in: what keeping the trace costs).

    The variants of a group share rounds in rotating order; the groups (NumPy,
    torch) take turns in blocks, never within one round: after a call, NumPy's
    OpenBLAS threads spin for a while before they sleep, and on a machine with few
    cores they would take a core from torch's OpenMP threads (measured: torch 2-3×
    slower when its calls alternate with NumPy's). A pause lets them fall asleep.
    """
    n_variants = sum(len(group) for group in groups)
    times: dict[str, list[float]] = {name: [] for g in groups for name in g}
    faults = dict.fromkeys(times, 0)
    for block in range(budget.blocks):
        for group in groups:
            time.sleep(budget.pause)
            for fn in group.values():
                for _ in range(budget.warmup if block == 0 else 1):
                    fn()
            share = budget.seconds / budget.blocks * len(group) / n_variants
            min_rounds = -(-budget.min_rounds // budget.blocks)
            max_rounds = budget.max_rounds // budget.blocks
            names = list(group)
            start, rounds = time.perf_counter(), 0
            while rounds < max_rounds and (
                rounds < min_rounds or time.perf_counter() - start < share
            ):
                for i in range(len(names)):
                    name = names[(rounds + i) % len(names)]
                    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                    t0 = time.perf_counter()
                    result = group[name]()  # kept until the clock has stopped
                    times[name].append(time.perf_counter() - t0)
                    faults[name] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                    faults[name] -= f0
                    del result
                rounds += 1
    return times, {name: faults[name] / len(times[name]) for name in times}


def summary_ms(seconds: list[float]) -> dict[str, float]:
    q1, median, q3 = statistics.quantiles(seconds, n=4)
    return {
        "median": 1e3 * median,
        "min": 1e3 * min(seconds),
        "q1": 1e3 * q1,
        "q3": 1e3 * q3,
    }


def run_case(case: Case, budget: Budget) -> dict[str, Any]:
    """Check, then time, one case; the result as JSON-ready data."""
    cfg, params, src, tgt = case.cfg, case.params, case.source_ids, case.target_ids
    seq_len = int(max(src.shape[-1], 0 if tgt is None else tgt.shape[-1]))
    model = TorchModel(cfg, params, max_len=seq_len)
    inputs = torch_inputs(case)
    diff = max_abs_diff(case, model)
    tol = TOLERANCE[cfg.dtype]
    path = torch_path(model, inputs)
    lengths = f"{src.size}" if tgt is None else f"{src.size}→{tgt.size}"
    print(f"  {case.name} (T {lengths}, {cfg.dtype}): torch {path}")
    print(f"    max |logits numpy − torch| = {diff:.2e} (tolerance {tol:.0e})")
    if not diff <= tol:
        raise SystemExit(f"error: {case.name}: NumPy and torch disagree; not timing")
    trace = forward(cfg, params, src, tgt).stages
    with torch.inference_mode():
        times, faults = measure(
            [
                {
                    "numpy_traced": lambda: forward(cfg, params, src, tgt),
                    "numpy_untraced": lambda: forward(
                        cfg, params, src, tgt, record=False
                    ),
                },
                {"torch": lambda: model(*inputs)},
            ],
            budget,
        )
    ms = {name: summary_ms(t) for name, t in times.items()}
    traced, untraced = ms["numpy_traced"]["median"], ms["numpy_untraced"]["median"]
    ratio, overhead = untraced / ms["torch"]["median"], traced / untraced - 1
    return {
        "case": case.name,
        "config": cfg.to_dict(),
        "vocab_size": int(params["embedding"].shape[0]),
        "source_len": int(src.size),
        "target_len": None if tgt is None else int(tgt.size),
        "torch_path": path,
        "max_abs_diff": diff,
        "tolerance": tol,
        "trace_stages": len(trace),
        "trace_megabytes": sum(s.value.nbytes for s in trace) / 1e6,
        "calls": {name: len(t) for name, t in times.items()},
        "minor_page_faults_per_call": faults,
        "ms": ms,
        "numpy_over_torch": ratio,
        "trace_overhead": overhead,
        "targets_met": {
            "numpy_not_slower_than_torch": ratio <= 1.0,
            "trace_overhead_at_most_15_percent": overhead <= TARGET_OVERHEAD,
        },
    }


# --- environment, report, entry point -------------------------------------------


def set_threads(n: int, stack: ExitStack) -> None:
    """The same thread count for torch (intra-op) and NumPy's BLAS."""
    torch.set_num_threads(n)
    if threadpool_limits is not None:
        stack.enter_context(threadpool_limits(limits=n, user_api="blas"))


def environment() -> dict[str, Any]:
    blas = []
    if threadpool_info is not None:
        blas = [
            {
                "library": Path(i["filepath"]).name,
                "loaded_by": Path(i["filepath"]).parent.name,
                "api": i["internal_api"],
                "version": i.get("version"),
                "architecture": i.get("architecture"),
                "threads": i["num_threads"],
            }
            for i in threadpool_info()
            if i["user_api"] == "blas"
        ]
    numpy_blas = [b["threads"] for b in blas if "numpy" in b["loaded_by"]]
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "torch_threads": torch.get_num_threads(),
        "numpy_blas_threads": numpy_blas[0] if numpy_blas else None,
        "blas": blas,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "load_average": list(os.getloadavg()),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_environment(env: dict[str, Any]) -> None:
    blas = ", ".join(
        f"{b['library']} {b['version']} ({b['architecture']} kernels, "
        f"{b['threads']} threads)"
        for b in env["blas"]
        if "numpy" in b["loaded_by"]
    )
    print(
        f"NumPy {env['numpy']}, torch {env['torch']} "
        f"({env['torch_cpu_capability']}), Python {env['python']}\n"
        f"CPU: {env['cpu']}, {env['cpu_count']} cores; "
        f"load average {env['load_average'][0]:.2f}\n"
        f"threads: torch {env['torch_threads']}, NumPy BLAS "
        f"{env['numpy_blas_threads'] or 'unknown (threadpoolctl not installed)'}\n"
        f"NumPy BLAS: {blas or 'unknown'}\n"
        f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}"
    )


def print_table(results: list[dict[str, Any]]) -> None:
    head = ("case", "T", "numpy traced", "numpy untraced", "torch", "numpy÷torch",
            "trace overhead")  # fmt: skip
    rows = [head]
    for r in results:
        ms = r["ms"]
        t = str(r["source_len"])
        if r["target_len"] is not None:
            t += f"→{r['target_len']}"
        rows.append(
            (
                r["case"],
                t,
                f"{ms['numpy_traced']['median']:.3f} ms",
                f"{ms['numpy_untraced']['median']:.3f} ms",
                f"{ms['torch']['median']:.3f} ms",
                f"{r['numpy_over_torch']:.2f}×",
                f"{100 * r['trace_overhead']:+.1f} %",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for j, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    print(
        "medians over all calls; numpy÷torch compares record=False with torch; "
        "trace overhead = traced ÷ untraced − 1"
    )
    for r in results:
        met = r["targets_met"]
        print(
            f"  {r['case']}: NumPy no slower than torch: "
            f"{'yes' if met['numpy_not_slower_than_torch'] else 'NO'}; "
            f"trace overhead ≤ 15 %: "
            f"{'yes' if met['trace_overhead_at_most_15_percent'] else 'NO'}"
        )
        faults = r["minor_page_faults_per_call"]
        print(
            f"    trace {r['trace_stages']} stages, {r['trace_megabytes']:.2f} MB; "
            f"minor page faults per call: traced {faults['numpy_traced']:.0f}, "
            f"untraced {faults['numpy_untraced']:.0f}, torch {faults['torch']:.0f}"
        )


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        description="Time the NumPy forward pass (traced and untraced) against "
        "PyTorch on the same weights.",
        epilog="example: .venv/bin/python benchmarks/forward.py --quick "
        "--out /tmp/forward.json",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON file to write (default: {DEFAULT_OUT}); its folder must exist",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a few rounds only: a smoke run"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="threads for torch and for NumPy's BLAS (default: all cores)",
    )
    return parser, parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    parser, args = parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads ({args.threads}) must be >= 1")
    out = args.out
    if out is None:
        out = DEFAULT_OUT
        out.parent.mkdir(parents=True, exist_ok=True)
    elif not out.parent.is_dir():
        parser.error(f"the folder {str(out.parent)!r} of --out does not exist")
    if args.quick:
        budgets = [Budget(1.0, 1, 3, 100, 1, 0.2), Budget(0.3, 5, 10, 10_000, 1, 0.2)]
    else:
        budgets = [Budget(12.0, 3, 10, 1_000), Budget(5.0, 20, 50, 50_000)]
    start = time.perf_counter()
    with ExitStack() as stack:
        set_threads(args.threads, stack)
        env = environment()
        print_environment(env)
        cases = make_cases()
        print("checking and timing:")
        results = [
            run_case(case, budgets[0] if i == 0 else budgets[1])
            for i, case in enumerate(cases)
        ]
    env["load_average_after"] = list(os.getloadavg())
    print()
    print_table(results)
    data = {
        "schema": SCHEMA,
        "quick": args.quick,
        "environment": env,
        "work_timed": "token ids → embedding lookup (NumPy: one-hot · E) → "
        "×√d_model → + PE → layers → logits h Eᵀ → softmax → argmax, in both",
        "seconds_total": time.perf_counter() - start,
        "cases": results,
    }
    write_atomic(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out} ({data['seconds_total']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
