"""Every stage of a trace against the formula of its op, evaluated on the stage's
recorded inputs (one row per head for the per-head stages)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from explainer.i18n import N_
from explainer.trace import Op, Stage, Trace
from explainer.verify import error_model
from explainer.verify.diagnose import diagnose
from explainer.verify.formulas import EXACT_OPS, Context, evaluate
from explainer.verify.result import CheckResult
from explainer.wording import Words, words

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
    for stage in trace.stages:
        if stage.op == Op.TOKEN_IDS:
            yield _check_ids(trace, stage)
            continue
        inputs = [trace[name] for name in stage.inputs]
        ctx = context(trace, stage)
        expected = np.asarray(evaluate(stage.op, inputs, ctx))
        if stage.op in EXACT_OPS:
            yield _check_exact(trace, stage, expected)
            continue
        if expected.shape != stage.shape:
            yield CheckResult(
                "formula", str(stage.op), stage.name, np.inf, 0.0, False,
                detail=gives_shape(expected),
            )  # fmt: skip
            continue
        # Each entry's own rounding-error bound (explainer.verify.error_model).
        bound = error_model.bound(stage.op, inputs, expected, ctx, trace.config.dtype)
        parts = (
            _by_head(stage, expected, bound)
            if stage.value.ndim >= 3 and (stage.op in HEAD_OPS)
            else [("", expected, stage.value, bound)]
        )
        for label, want, got, most in parts:
            err, limit, ok = error_model.judge(want, got, most)
            where = head_of(stage.name, label) if label else stage.name
            row = CheckResult("formula", str(stage.op), where, err, limit, ok)
            yield row if row.ok else _diagnosed(trace, stage, row, expected, label)


def _by_head(
    stage: Stage, expected: np.ndarray, bound: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    n_heads = stage.value.shape[-3]
    return [
        (
            f" [head {h}]",
            expected[..., h, :, :],
            stage.value[..., h, :, :],
            bound[..., h, :, :],
        )
        for h in range(n_heads)
    ]


def head_of(stage: str, label: str) -> Words:
    """``encoder.0.self_attn.q [head 1]``: a per-head row's place (``label`` is
    `` [head 1]``)."""
    h = int(label.split()[-1].rstrip("]"))
    return words(N_("{stage} [head {h}]"), stage=stage, h=h)


def gives_shape(expected: np.ndarray) -> Words:
    return words(N_("formula gives shape {shape}"), shape=list(expected.shape))


def _diagnosed(
    trace: Trace, stage: Stage, row: CheckResult, expected: np.ndarray, label: str
) -> CheckResult:
    """A failing row with its worst cell, the values there and a hint."""
    head = int(label.split()[-1].rstrip("]")) if label else None
    return diagnose(trace, stage, row, expected, context(trace, stage), head)


def _check_exact(trace: Trace, stage: Stage, expected: np.ndarray) -> CheckResult:
    """Ids, masks, one-hot rows, predictions: equal entry by entry. The row counts
    the entries that differ (its "error" is the largest difference, 1 for a mask)."""
    entries = int(stage.value.size)
    if expected.shape != stage.shape:
        return CheckResult(
            "formula", str(stage.op), stage.name, np.inf, 0.0, False,
            detail=gives_shape(expected), entries=entries,
        )  # fmt: skip
    differ = int(np.sum(expected.astype(stage.value.dtype) != stage.value))
    row = CheckResult(
        "formula", str(stage.op), stage.name, 0.0, 0.0, not differ,
        detail=entries_differ(differ, entries) if differ else "",
        differ=differ, entries=entries,
    )  # fmt: skip
    if not differ:
        return row
    err, _ = compare(expected.astype(np.float64), stage.value.astype(np.float64))
    row = dataclasses.replace(row, max_abs_err=err)
    return diagnose(trace, stage, row, expected, context(trace, stage))


def entries_differ(differ: int, entries: int) -> Words:
    return words(
        N_("{differ} of {entries} entries differ"), differ=differ, entries=entries
    )


def _check_ids(trace: Trace, stage: Stage) -> CheckResult:
    part = trace.target if stage.name.startswith("decoder") and trace.target else None
    tokens = part or trace.source
    recorded = [int(v) for v in stage.value.reshape(-1)]
    ids = list(tokens.ids)
    differ = sum(a != b for a, b in zip(recorded, ids, strict=False))
    differ += abs(len(recorded) - len(ids))
    where = "tokens.target" if part else "tokens.source"
    if not differ:
        return CheckResult(
            "tokens", "token_ids", stage.name, 0.0, 0.0, True, differ=0,
            entries=len(ids),
        )  # fmt: skip
    at = next(
        (n for n, (a, b) in enumerate(zip(recorded, ids, strict=False)) if a != b),
        min(len(recorded), len(ids)),
    )
    detail = words(N_("{differ} ids differ from {where}"), differ=differ, where=where)
    if at < min(len(recorded), len(ids)):
        first = words(
            N_("first at position {at}: {here} here, {there} there"),
            at=at, here=recorded[at], there=ids[at],
        )  # fmt: skip
        detail = words(N_("{detail}; {more}"), detail=detail, more=first)
    return CheckResult(
        "tokens", "token_ids", stage.name, 0.0, 0.0, False, detail=detail,
        differ=differ, entries=max(len(recorded), len(ids)),
    )  # fmt: skip
