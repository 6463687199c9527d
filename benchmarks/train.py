"""Benchmark training: NumPy steps per second against PyTorch on the same model and
batches, and the wall time of ``explainer train --preset default``.

The model is the ``default`` preset (encoder-decoder, d_model 8, 2 heads, d_ff 32,
2 layers, post-LN, ReLU, tied √d_model-scaled embeddings, float64) on the shipped
translation pairs, split into the same length buckets as ``explainer train``
(:func:`explainer.train.tasks.task_batches`). One step, on either side: the forward
pass of every bucket, the loss (the cross-entropy averaged over the labelled
positions, plus guided alignment on head 0 of the last decoder layer's
cross-attention, :mod:`explainer.train.objective`), every gradient, and one Adam
update (β₁ 0.9, β₂ 0.98, ε 10⁻⁹, the warm-up/decay schedule of
:func:`explainer.train.adam.step_size`). NumPy: :func:`evaluate` (forward pass +
the backward rules of :mod:`explainer.backward`) and :class:`Adam`. torch: the same
model written with torch functional ops (``F.scaled_dot_product_attention``, and
the weights written out for the last cross-attention, whose head 0 the alignment
loss reads, which ``nn.Transformer`` does not return), autograd,
``torch.optim.Adam`` with a ``LambdaLR`` schedule.

Before timing, both start from :func:`explainer.train.initial_params`: the losses
and every parameter's gradient must agree (max |ours − torch| ≤ 10⁻⁸ · max |torch|
per parameter), and so must the weights after a few Adam steps; otherwise nothing
is timed. Timing: each side takes turns in blocks (a pause before each, so that
the other side's BLAS or OpenMP threads are asleep), every block restarting from
the initial weights; the median seconds per step over all timed steps is reported,
and the ratio NumPy ÷ torch (goal ≤ 1.5). Both sides use one thread unless
``--threads`` says otherwise: the largest product, (600 × 8)·(8 × 132), is too small
for a second thread to help, and on a busy 2-core machine torch's two OpenMP
threads waited for each other at every op (measured: 3.5 s a step instead of 79 ms).
Then ``explainer train --preset default -q`` runs once in a fresh process (the
whole command, with its own thread settings: start-up, 500 steps, writing the
weights and the loss curve); its weights are compared with the shipped ones.

Usage::

    .venv/bin/python benchmarks/train.py            # 40 s, then the train command
    .venv/bin/python benchmarks/train.py --quick    # smoke run: the CLI trains 20 steps
    .venv/bin/python benchmarks/train.py --no-command   # the steps per second only
    .venv/bin/python benchmarks/train.py --out /tmp/train.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources as package_files
from pathlib import Path
from typing import Any

import numpy as np
from forward import _cpu_model, set_threads  # the same machine facts, one copy

from explainer.atomic import write_atomic
from explainer.config import ModelConfig, from_dict
from explainer.dataset import load_dataset
from explainer.params import Params
from explainer.presets import get_preset
from explainer.train.adam import BETA_1, BETA_2, EPSILON, Adam, step_size
from explainer.train.loop import Settings, initial_params
from explainer.train.objective import Guide, evaluate
from explainer.train.tasks import Batch, task_batches, task_tokenizer

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # optional: without it NumPy's BLAS threads are neither set nor
    threadpool_info = threadpool_limits = None  # reported

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print(
        "error: this benchmark needs torch: pip install -e '.[test]'", file=sys.stderr
    )
    sys.exit(2)

SCHEMA = "explainer-benchmark-train/1"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "output/benchmarks/train.json"
PRESET = "default"
TARGET_RATIO = 1.5  # NumPy's time per step at most 1.5 × torch's (issue 13, item 9)
TOLERANCE = 1e-8  # max |ours − torch| ÷ max |torch|, per loss, gradient and weight
CHECK_STEPS = 5  # Adam steps both sides take before their weights are compared
ZERO_FLOOR = 1e-6  # see gradient_errors


@dataclass(frozen=True)
class Problem:
    """The model, its starting weights and the batches of one training step."""

    cfg: ModelConfig
    vocab: tuple[str, ...]
    params: Params
    batches: tuple[Batch, ...]
    settings: Settings
    guide: Guide


@dataclass(frozen=True)
class Budget:
    """How long to time each side."""

    seconds: float  # per side, over all blocks
    warmup: int  # untimed steps at the start of each block
    blocks: int = 5  # turns each side takes
    pause: float = 0.25  # seconds of sleep before each block


def make_problem() -> Problem:
    """The default preset at its initial weights and the shipped dataset, as
    ``explainer train --preset default`` starts."""
    spec = get_preset(PRESET)
    cfg = from_dict(spec.config)
    data = load_dataset()
    vocab = task_tokenizer(spec.task, data).vocab
    settings = Settings()
    return Problem(
        cfg,
        vocab,
        initial_params(cfg, len(vocab)),
        task_batches(spec.task, data),
        settings,
        Guide(settings.align_weight),
    )


# --- NumPy: the project's training step ---------------------------------------------


class NumpyTrainer:
    """:func:`evaluate` and :class:`Adam`, as :func:`explainer.train.train` steps."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.reset()

    def reset(self) -> None:
        s = self.problem.settings
        self.params = dict(self.problem.params)
        self.adam = Adam(s.alpha, s.steps, s.warmup)

    def gradients(self) -> tuple[float, float, Params]:
        """(cross-entropy, alignment loss, gradients) at the current weights."""
        p = self.problem
        result = evaluate(p.cfg, self.params, p.vocab, p.batches, p.guide)
        return result.loss, result.alignment_loss, result.gradients

    def step(self) -> float:
        p = self.problem
        result = evaluate(p.cfg, self.params, p.vocab, p.batches, p.guide)
        self.params = self.adam.step(self.params, result.gradients)
        return result.loss


# --- torch: the same model, loss and optimizer --------------------------------------


def _sinusoids(seq_len: int, d_model: int) -> torch.Tensor:
    """PE(pos, 2i) = sin(pos/10000^(2i/d)), PE(pos, 2i+1) = cos(same) (§3.5)."""
    pos = torch.arange(seq_len, dtype=torch.float64)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (⌈d/2⌉,)
    angle = pos / 10000.0 ** (two_i / d_model)  # (T, ⌈d/2⌉)
    pe = torch.empty(seq_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, : d_model // 2])
    return pe  # (T, d_model)


@dataclass(frozen=True)
class TorchBatch:
    """A bucket as torch tensors, with its masks (True: may attend)."""

    source: torch.Tensor  # (N, M)
    target: torch.Tensor  # (N, T)
    labels: torch.Tensor  # (N, T)
    alignment: torch.Tensor  # (N, T, M)
    linked: torch.Tensor  # (N, T, M) bool: alignment > 0
    source_keys: torch.Tensor  # (N, 1, 1, M) source keys that are not <pad>
    target_keys: torch.Tensor  # (N, 1, T, T) causal and not <pad>


def torch_batch(batch: Batch) -> TorchBatch:
    source = torch.from_numpy(batch.source_ids.copy())
    target = torch.from_numpy(batch.target_ids.copy())
    t = target.shape[1]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))  # (T, T)
    alignment = torch.from_numpy(batch.alignment.copy())
    return TorchBatch(
        source,
        target,
        torch.from_numpy(batch.labels.copy()),
        alignment,
        alignment > 0,
        (source != batch.pad_id)[:, None, None, :],
        causal & (target != batch.pad_id)[:, None, None, :],
    )


class TorchTrainer:
    """The default preset in torch float64: embedding × √d_model + PE, post-LN
    layers (F.linear, F.layer_norm, F.relu, F.scaled_dot_product_attention, and
    softmax(QKᵀ/√d_k)V written out where the alignment loss reads the weights),
    logits h Eᵀ; autograd; torch.optim.Adam with the project's step-size schedule
    (LambdaLR)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        cfg = problem.cfg
        written_for = (cfg.architecture, cfg.norm, cfg.activation, cfg.dtype)
        if written_for != ("encoder-decoder", "post", "relu", "float64"):
            raise SystemExit(f"error: the torch model is not written for {written_for}")
        if not cfg.scale_embeddings or cfg.model:
            raise SystemExit("error: the torch model is written for the default preset")
        self.pad_id = problem.batches[0].pad_id
        self.batches = [torch_batch(b) for b in problem.batches]
        width = max(b.source.shape[1] for b in self.batches)
        width = max(width, *(b.target.shape[1] for b in self.batches))
        self.pe = _sinusoids(width, cfg.d_model)
        self.n = sum(b.n_labels for b in problem.batches)
        self.n_aligned = sum(
            int((b.alignment.sum(-1) > 0).sum()) for b in problem.batches
        )
        self.reset()

    def reset(self) -> None:
        s = self.problem.settings
        self.w = {
            name: torch.tensor(np.array(value), requires_grad=True)
            for name, value in self.problem.params.items()
        }
        self.optimizer = torch.optim.Adam(
            list(self.w.values()), lr=s.alpha, betas=(BETA_1, BETA_2), eps=EPSILON
        )
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda done: step_size(done + 1, s.steps, s.alpha, s.warmup) / s.alpha,
        )

    # the model

    def _embed(self, ids: torch.Tensor) -> torch.Tensor:
        x = F.embedding(ids, self.w["embedding"])  # (N, T, d_model)
        return x * math.sqrt(self.problem.cfg.d_model) + self.pe[: ids.shape[1]]

    def _attention(
        self,
        p: str,
        x: torch.Tensor,
        m: torch.Tensor,
        allowed: torch.Tensor,
        keep_weights: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Multi-head attention (§3.2.2): the output and, with ``keep_weights``,
        the weights (N, h, T, M); without, F.scaled_dot_product_attention (the
        faster of the two here) computes it."""
        w, cfg = self.w, self.problem.cfg
        n, t, _ = x.shape
        h, d_k = cfg.n_heads, cfg.d_k

        def heads(which: str, src: torch.Tensor) -> torch.Tensor:
            y = F.linear(src, w[f"{p}.w_{which}"].T, w[f"{p}.b_{which}"])
            return y.view(n, src.shape[1], h, -1).transpose(1, 2)  # (N, h, ·, d)

        q, k, v = heads("q", x), heads("k", m), heads("v", m)
        weights = None
        if keep_weights:
            scores = q @ k.transpose(-1, -2) / math.sqrt(d_k)  # (N, h, T, M)
            weights = torch.softmax(scores.masked_fill(~allowed, -math.inf), dim=-1)
            out = weights @ v  # (N, h, T, d_v)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        out = out.transpose(1, 2).reshape(n, t, -1)  # (N, T, h·d_v)
        return F.linear(out, w[f"{p}.w_o"].T, w[f"{p}.b_o"]), weights

    def _ffn(self, p: str, x: torch.Tensor) -> torch.Tensor:
        w = self.w
        hidden = F.relu(F.linear(x, w[f"{p}.w_1"].T, w[f"{p}.b_1"]))
        return F.linear(hidden, w[f"{p}.w_2"].T, w[f"{p}.b_2"])

    def _norm(self, name: str, x: torch.Tensor) -> torch.Tensor:
        w, cfg = self.w, self.problem.cfg
        return F.layer_norm(
            x, (cfg.d_model,), w[f"{name}.gamma"], w[f"{name}.beta"], cfg.eps
        )

    def _losses(self, b: TorchBatch) -> tuple[torch.Tensor, torch.Tensor]:
        """This bucket's share of the cross-entropy and of the alignment loss."""
        cfg, guide = self.problem.cfg, self.problem.guide
        x = self._embed(b.source)
        for layer in range(cfg.n_layers):
            p = f"encoder.{layer}"
            a, _ = self._attention(f"{p}.self_attn", x, x, b.source_keys)
            x = self._norm(f"{p}.norm1", x + a)
            x = self._norm(f"{p}.norm2", x + self._ffn(f"{p}.ffn", x))
        memory, y = x, self._embed(b.target)
        for layer in range(cfg.n_layers):
            p = f"decoder.{layer}"
            a, _ = self._attention(f"{p}.self_attn", y, y, b.target_keys)
            y = self._norm(f"{p}.norm1", y + a)
            last = layer == cfg.n_layers - 1
            a, cross = self._attention(
                f"{p}.cross_attn", y, memory, b.source_keys, keep_weights=last
            )
            y = self._norm(f"{p}.norm2", y + a)
            y = self._norm(f"{p}.norm3", y + self._ffn(f"{p}.ffn", y))
        logits = F.linear(y, self.w["embedding"])  # (N, T, V), tied (§3.4)
        ce = F.cross_entropy(
            logits.flatten(0, 1),
            b.labels.flatten(),
            ignore_index=self.pad_id,
            reduction="sum",
        )
        assert cross is not None
        a = cross[:, guide.head]  # (N, T, M), the last layer's
        log_a = torch.log(torch.where(b.linked, a, torch.ones_like(a)))
        align = -(b.alignment * log_a).sum()
        return ce / self.n, guide.weight * align / self.n_aligned

    def gradients(self) -> tuple[float, float, Params]:
        """(cross-entropy, alignment loss, gradients) at the current weights."""
        for t in self.w.values():
            t.grad = None
        ce, align = self._total()
        (ce + align).backward()
        grads = {name: t.grad.numpy().copy() for name, t in self.w.items()}
        return ce.item(), align.item(), grads

    def _total(self) -> tuple[torch.Tensor, torch.Tensor]:
        parts = [self._losses(b) for b in self.batches]
        return sum(c for c, _ in parts), sum(a for _, a in parts)

    def step(self) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        ce, align = self._total()
        (ce + align).backward()
        self.optimizer.step()
        self.schedule.step()
        return ce.item()

    def weights(self) -> Params:
        return {name: t.detach().numpy().copy() for name, t in self.w.items()}


# --- checking and timing --------------------------------------------------------------


def relative_error(ours: np.ndarray, theirs: np.ndarray, floor: float = 0.0) -> float:
    """max |ours − theirs| ÷ max(max |theirs|, ``floor``) (0 when both are 0)."""
    scale = max(float(np.max(np.abs(theirs))), floor)
    diff = float(np.max(np.abs(ours - theirs)))
    return diff / scale if scale else diff


def gradient_errors(ours: Params, theirs: Params) -> dict[str, float]:
    """:func:`relative_error` of each parameter's gradient, against at least
    :data:`ZERO_FLOOR` of the largest gradient entry: the key biases b_k have a
    gradient that is 0 in exact arithmetic (a softmax row does not change when
    every score in it moves by q·b_k), so both sides hold rounding noise there
    (~10⁻¹⁸) whose ratio means nothing."""
    floor = ZERO_FLOOR * max(float(np.max(np.abs(g))) for g in theirs.values())
    return {name: relative_error(g, theirs[name], floor) for name, g in ours.items()}


def check(problem: Problem) -> dict[str, Any]:
    """Losses, gradients and the weights after :data:`CHECK_STEPS` Adam steps, NumPy
    against torch; stops the benchmark if any differs by more than TOLERANCE."""
    ours, theirs = NumpyTrainer(problem), TorchTrainer(problem)
    ce, align, grads = ours.gradients()
    t_ce, t_align, t_grads = theirs.gradients()
    loss_err = {
        "cross_entropy": abs(ce - t_ce) / abs(t_ce),
        "alignment": abs(align - t_align) / abs(t_align),
    }
    grad_err = gradient_errors(grads, t_grads)
    for _ in range(CHECK_STEPS):
        ours.step()
        theirs.step()
    after = theirs.weights()
    weight_err = {
        name: relative_error(value, after[name]) for name, value in ours.params.items()
    }
    worst = {
        "loss": max(loss_err.values()),
        "gradient": max(grad_err.values()),
        f"weights after {CHECK_STEPS} steps": max(weight_err.values()),
    }
    print(
        f"  cross-entropy {ce:.6f} (torch {t_ce:.6f}), alignment {align:.6f} "
        f"(torch {t_align:.6f})"
    )
    for what, err in worst.items():
        print(f"  max relative difference, {what}: {err:.1e} (tolerance {TOLERANCE:g})")
    bad = [name for name, e in {**grad_err, **weight_err}.items() if not e <= TOLERANCE]
    if not all(e <= TOLERANCE for e in worst.values()):
        raise SystemExit(
            f"error: NumPy and torch disagree ({', '.join(bad) or 'the loss'}); "
            "not timing"
        )
    return {
        "cross_entropy": ce,
        "alignment_loss": align,
        "relative_error": {"loss": loss_err, "gradients": grad_err, **worst},
        "parameters": len(grads),
        "tolerance": TOLERANCE,
    }


def measure(
    sides: dict[str, NumpyTrainer | TorchTrainer], budget: Budget
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU seconds per training step of each side. The sides take turns
    in blocks; each block restarts from the initial weights (so that a long run
    never goes past the schedule's last step) and begins with ``budget.warmup``
    untimed steps. CPU time (the process's, all threads) is kept beside the wall
    time: on a busy machine it counts only the time this process ran."""
    wall: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    limit = next(iter(sides.values())).problem.settings.steps - budget.warmup
    for _ in range(budget.blocks):
        for name, side in sides.items():
            side.reset()
            time.sleep(budget.pause)
            for _ in range(budget.warmup):
                side.step()
            share = budget.seconds / budget.blocks
            start, steps = time.perf_counter(), 0
            while steps < limit and (steps < 2 or time.perf_counter() - start < share):
                t0, c0 = time.perf_counter(), time.process_time()
                side.step()
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(time.process_time() - c0)
                steps += 1
    return wall, cpu


def summary_ms(seconds: list[float]) -> dict[str, float]:
    q1, median, q3 = statistics.quantiles(seconds, n=4)
    return {
        "median": 1e3 * median,
        "min": 1e3 * min(seconds),
        "q1": 1e3 * q1,
        "q3": 1e3 * q3,
        "steps_per_second": 1 / median,
    }


def time_cli(steps: int | None) -> dict[str, Any]:
    """``explainer train --preset default -q`` in a fresh process: its wall time,
    its CPU time, and whether it wrote the shipped weights (the full run only)."""
    exe = Path(sys.executable).with_name("explainer")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "explainer"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{PRESET}.safetensors"
        args = [*command, "train", "--preset", PRESET, "-q", "--out", str(out)]
        if steps is not None:
            args += ["--steps", str(steps)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        run = subprocess.run(args, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if run.returncode != 0:
            raise SystemExit(f"error: {' '.join(args)} failed:\n{run.stderr}")
        shipped = package_files.files("explainer") / "data/weights"
        shipped = shipped / f"{PRESET}.safetensors"
        same = None if steps is not None else out.read_bytes() == shipped.read_bytes()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "command": f"explainer train --preset {PRESET} -q --out TMP"
        + (f" --steps {steps}" if steps is not None else ""),
        "steps": steps or Settings().steps,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "output": run.stdout.strip(),
        "same_bytes_as_shipped": same,
    }


# --- environment, report, entry point -------------------------------------------------


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
        "load_average": list(os.getloadavg()),
    }


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
        f"NumPy BLAS: {blas or 'unknown'}"
    )


def print_table(
    ms: dict[str, dict[str, float]],
    ratio: float,
    cpu_ratio: float,
    cli: dict[str, Any] | None,
) -> None:
    rows = [("side", "ms per step", "q1–q3", "steps/s", "CPU ms", "steps timed")]
    for name, s in ms.items():
        rows.append(
            (
                name,
                f"{s['median']:.2f}",
                f"{s['q1']:.2f}–{s['q3']:.2f}",
                f"{s['steps_per_second']:.1f}",
                f"{s['cpu_median']:.2f}",
                str(int(s["steps"])),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for j, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))
        if j == 0:
            print("  ".join("-" * w for w in widths))
    met = "yes" if ratio <= TARGET_RATIO else "NO"
    print(
        f"NumPy ÷ torch (time per step, medians): {ratio:.2f}× "
        f"(goal ≤ {TARGET_RATIO}: {met}); CPU time per step: {cpu_ratio:.2f}×"
    )
    if cli is None:
        return
    same = cli["same_bytes_as_shipped"]
    print(
        f"{cli['command']}: {cli['wall_seconds']:.1f} s wall, "
        f"{cli['cpu_seconds']:.1f} s CPU"
        + ("" if same is None else f"; same bytes as the shipped weights: {same}")
    )


def parse_args(argv: list[str] | None) -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        description="Time a training step, NumPy against PyTorch on the same "
        "model and batches, and the explainer train command.",
        epilog="example: .venv/bin/python benchmarks/train.py --quick "
        "--out /tmp/train.json",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON file to write (default: {DEFAULT_OUT}); its folder must exist",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few steps only, and the command trains 20 steps: a smoke run",
    )
    parser.add_argument(
        "--no-command",
        action="store_true",
        help="skip timing the explainer train command (about a minute on 2 idle cores)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads for torch and for NumPy's BLAS (default: 1; see above)",
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
    budget = Budget(1.0, 1, 1, 0.2) if args.quick else Budget(15.0, 3)
    start = time.perf_counter()
    with ExitStack() as stack:
        set_threads(args.threads, stack)
        env = environment()
        print_environment(env)
        problem = make_problem()
        shapes = [f"{b.source_ids.shape[0]}×{b.source_ids.shape[1]}→"
                  f"{b.target_ids.shape[1]}" for b in problem.batches]  # fmt: skip
        print(f"buckets (sentences × source → target length): {', '.join(shapes)}")
        print("checking NumPy against torch:")
        checked = check(problem)
        print("timing:")
        sides = {
            "numpy": NumpyTrainer(problem),
            "torch": TorchTrainer(problem),
        }
        times, cpu_times = measure(sides, budget)
    ms = {name: {**summary_ms(t), "steps": len(t)} for name, t in times.items()}
    cpu_ms = {name: summary_ms(t) for name, t in cpu_times.items()}
    for name, s in cpu_ms.items():
        ms[name]["cpu_median"] = s["median"]
    ratio = ms["numpy"]["median"] / ms["torch"]["median"]
    cpu_ratio = cpu_ms["numpy"]["median"] / cpu_ms["torch"]["median"]
    cli = None
    if not args.no_command:
        print(f"running explainer train (load average {os.getloadavg()[0]:.2f}) …")
        cli = time_cli(20 if args.quick else None)
    env["load_average_after"] = list(os.getloadavg())
    print()
    print_table(ms, ratio, cpu_ratio, cli)
    data = {
        "schema": SCHEMA,
        "quick": args.quick,
        "environment": env,
        "work_timed": "one training step of the default preset on all buckets: "
        "forward, cross-entropy + guided alignment, every gradient, one Adam update",
        "buckets": shapes,
        "check": checked,
        "ms_per_step": ms,
        "numpy_over_torch": ratio,
        "numpy_over_torch_cpu": cpu_ratio,
        "target_met": ratio <= TARGET_RATIO,
        "train_command": cli,
        "seconds_total": time.perf_counter() - start,
    }
    write_atomic(out, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out} ({data['seconds_total']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
