"""Every stage of a trace against the formula of its op, evaluated on the stage's
recorded inputs (one row per head for the per-head stages)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explainer.trace import Op, Stage, Trace
from explainer.verify.formulas import EXACT_OPS, Context, evaluate
from explainer.verify.result import TOLERANCE, CheckResult

HEAD_OPS = frozenset(
    {
        Op.PROJECT_HEADS,
        Op.ROPE,
        Op.REPEAT_KV,
        Op.QK,
        Op.SCALE,
        Op.APPLY_MASK,
        Op.SOFTMAX,
        Op.ATTEND,
    }
)


_LAST_VOCAB: list[tuple[tuple[str, ...], int]] = [((), 0)]  # (vocab, its pad id)


def pad_id(trace: Trace) -> int:
    """The id of ``<pad>`` (0 if the vocabulary has none), remembered for the last
    vocabulary seen: a scan of a real one (49,152 tokens) for each of 728 stages
    took 0.7 s."""
    vocab, pad = _LAST_VOCAB[0]
    if vocab is not trace.vocab:
        vocab = trace.vocab
        pad = vocab.index("<pad>") if "<pad>" in vocab else 0
        _LAST_VOCAB[0] = (vocab, pad)
    return pad


def context(trace: Trace, stage: Stage) -> Context:
    cfg = trace.config
    return Context(
        cfg.n_heads, cfg.d_k, cfg.d_model, cfg.eps, pad_id(trace), stage.shape
    )


def compare(expected: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    """(max |expected − actual|, the largest |expected|), with equal infinities
    counting as equal."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    same = (expected == actual) | (np.isnan(expected) & np.isnan(actual))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(expected - actual))
    err = float(np.where(np.isnan(diff), np.inf, diff).max(initial=0.0))
    finite = np.abs(expected[np.isfinite(expected)])
    return err, float(finite.max(initial=0.0))


def check_stages(trace: Trace) -> Iterator[CheckResult]:
    tol = TOLERANCE[trace.config.dtype]
    for stage in trace.stages:
        if stage.op == Op.TOKEN_IDS:
            yield _check_ids(trace, stage)
            continue
        inputs = [trace[name] for name in stage.inputs]
        expected = np.asarray(evaluate(stage.op, inputs, context(trace, stage)))
        if stage.op in EXACT_OPS:
            same = expected.shape == stage.shape and np.array_equal(
                expected.astype(stage.value.dtype), stage.value
            )
            wrong = 0 if same else int(np.sum(expected != stage.value))
            yield CheckResult(
                "formula", str(stage.op), stage.name, float(wrong), 0.0, same,
                detail="" if same else f"{wrong} entries differ",
            )  # fmt: skip
            continue
        if expected.shape != stage.shape:
            yield CheckResult(
                "formula", str(stage.op), stage.name, np.inf, tol, False,
                detail=f"formula gives shape {list(expected.shape)}",
            )  # fmt: skip
            continue
        parts = (
            _by_head(stage, expected)
            if stage.value.ndim >= 3 and (stage.op in HEAD_OPS)
            else [("", expected, stage.value)]
        )
        for label, want, got in parts:
            err, scale = compare(want, got)
            limit = tol * max(1.0, scale)
            yield CheckResult(
                "formula", str(stage.op), stage.name + label, err, limit, err <= limit
            )


def _by_head(
    stage: Stage, expected: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    n_heads = stage.value.shape[-3]
    return [
        (f" [head {h}]", expected[..., h, :, :], stage.value[..., h, :, :])
        for h in range(n_heads)
    ]


def _check_ids(trace: Trace, stage: Stage) -> CheckResult:
    part = trace.target if stage.name.startswith("decoder") and trace.target else None
    tokens = part or trace.source
    ok = list(stage.value.reshape(-1)) == list(tokens.ids)
    return CheckResult(
        "tokens", "token_ids", stage.name, 0.0 if ok else 1.0, 0.0, ok,
        detail="" if ok else "ids differ from the tokens section",
    )  # fmt: skip
