"""What a learner needs when a stage fails: where it is most wrong and, when a
known slip explains the numbers, which one.

The worst cell is named by head, row and column, with the tokens they stand for
(the query and key tokens of an attention matrix, the vocabulary entry of a
logit), and given with the formula's value and the trace's. Then the common
mistakes of the failing stage's op are tried on the same recorded inputs — the
formula evaluated as written with one thing changed (√d_model for √d_k, the
weights transposed, softmax over the other axis, …) — and the first one that
matches the trace within the row's tolerance is named: ``looks like: …``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

from explainer.i18n import N_
from explainer.trace import Op, Stage, Trace
from explainer.verify.formulas import Context, evaluate
from explainer.verify.result import CheckResult
from explainer.verify.tokens import position
from explainer.wording import Words, joined, words

Variant = Callable[[Sequence[np.ndarray], Context], np.ndarray | None]

ATTENTION_OPS = frozenset(
    {
        Op.QK,
        Op.SCALE,
        Op.CAUSAL_MASK,
        Op.NO_MASK,
        Op.PADDING_MASK,
        Op.APPLY_MASK,
        Op.SOFTMAX,
    }
)
"""Ops whose last axis runs over the keys (for attention stages)."""


def diagnose(
    trace: Trace,
    stage: Stage,
    result: CheckResult,
    expected: np.ndarray,
    ctx: Context,
    head: int | None = None,
) -> CheckResult:
    """``result`` (a failing row of ``stage``) with its worst cell, the values
    there and, if a known slip matches the trace, a hint."""
    want, got = _part(expected, head), _part(stage.value, head)
    if want.shape != got.shape:
        return result
    index = worst_cell(want, got)
    if index is None:
        return result
    return dataclasses.replace(
        result,
        cell=describe_cell(trace, stage, index, head),
        expected=_number(want[index]),
        actual=_number(got[index]),
        hint=_hint(trace, stage, ctx, result.max_abs_err, head),
    )


def worst_cell(want: np.ndarray, got: np.ndarray) -> tuple[int, ...] | None:
    """The index of the largest |want − got| (a NaN or one-sided infinity is the
    largest); None if all agree.

    >>> worst_cell(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1, 2.5], [3, 4]]))
    (0, 1)
    """
    want = np.asarray(want, dtype=np.float64)
    got = np.asarray(got, dtype=np.float64)
    same = (want == got) | (np.isnan(want) & np.isnan(got))
    if same.all():
        return None
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(want - got))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return tuple(int(v) for v in np.unravel_index(np.argmax(diff), diff.shape))


def describe_cell(
    trace: Trace, stage: Stage, index: tuple[int, ...], head: int | None = None
) -> Words:
    """``"head 1, row 2 'win', column 0 'you'"``: the cell at ``index`` of the
    stage (of ``head``'s slice, for a per-head row)."""
    parts: list[Words] = [] if head is None else [words(N_("head {h}"), h=head)]
    shape = stage.shape if head is None else stage.shape[:-3] + stage.shape[-2:]
    rows, cols = _row_tokens(trace, stage), _column_tokens(trace, stage)
    if len(index) == 1:
        n = index[0]
        label = rows if rows is not None and len(rows) == shape[0] else None
        parts.append(position(n, label[n]) if label else words(N_("entry {n}"), n=n))
        return joined(parts)
    lead, row, col = index[:-2], index[-2], index[-1]
    if lead:
        parts.append(words(N_("index {i}"), i=", ".join(str(v) for v in lead)))
    row_words = words(N_("row {n}"), n=row)
    column_words = words(N_("column {n}"), n=col)
    parts.append(joined([row_words, _token(rows, row, shape[-2])], ""))
    parts.append(joined([column_words, _token(cols, col, shape[-1])], ""))
    return joined(parts)


def _token(tokens: Sequence[str] | None, n: int, size: int) -> str:
    return f" {tokens[n]!r}" if tokens is not None and len(tokens) == size else ""


def _row_tokens(trace: Trace, stage: Stage) -> Sequence[str] | None:
    """The tokens the rows stand for: the decoder reads the target, if any."""
    if stage.name.startswith("encoder") or trace.target is None:
        return trace.source.tokens
    return trace.target.tokens


def _column_tokens(trace: Trace, stage: Stage) -> Sequence[str] | None:
    """The keys of an attention matrix, or the vocabulary of a logit row."""
    if stage.op in ATTENTION_OPS and stage.shape[-1] != len(trace.vocab):
        keys = trace.source if "cross" in stage.name else None
        return keys.tokens if keys else _row_tokens(trace, stage)
    if stage.shape[-1] == len(trace.vocab):
        return trace.vocab
    return None


def _part(value: np.ndarray, head: int | None) -> np.ndarray:
    value = np.asarray(value)
    return value if head is None else value[..., head, :, :]


def _number(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


# --- the known slips ---------------------------------------------------------------


LOOSE = {"float64": 1e-9, "float32": 1e-4}
"""A slip "matches" when it reproduces the trace to this fraction of
max(1, largest |value|) and at least ten times better than the formula does."""


def _hint(
    trace: Trace, stage: Stage, ctx: Context, formula_err: float, head: int | None
) -> str:
    inputs = [np.asarray(trace[name]) for name in stage.inputs]
    loose = LOOSE.get(trace.config.dtype, LOOSE["float32"])
    for label, variant in VARIANTS.get(stage.op, ()):
        try:
            with np.errstate(all="ignore"):
                value = variant(inputs, ctx)
        except (ValueError, IndexError):
            continue
        if value is None:
            continue
        value = np.asarray(value)
        if value.shape != stage.shape:
            continue
        want, got = _part(value, head), _part(stage.value, head)
        if _matches(want, got, formula_err, loose):
            slip = label if isinstance(label, Words) else words(label)
            return words(N_("looks like: {slip}"), slip=slip)
    return ""


def _matches(
    want: np.ndarray, got: np.ndarray, formula_err: float, loose: float
) -> bool:
    if want.dtype == bool or got.dtype == bool:
        return bool(np.array_equal(want.astype(got.dtype), got))
    want = want.astype(np.float64)
    got = got.astype(np.float64)
    same = (want == got) | (np.isnan(want) & np.isnan(got))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(want - got))
    if not np.all(np.isfinite(diff)):
        return False
    err = float(diff.max(initial=0.0))
    scale = float(np.abs(want[np.isfinite(want)]).max(initial=0.0))
    return err <= loose * max(1.0, scale) and err * 10 <= formula_err


def _formula(op: Op) -> Callable[[Sequence[np.ndarray], Context], np.ndarray]:
    return lambda inputs, ctx: np.asarray(evaluate(op, inputs, ctx))


def _scale_by(root_of: Callable[[Context], float]) -> Variant:
    """Scores divided by √(something else) instead of √d_k."""

    def run(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
        return _formula(Op.SCALE)(inputs, dataclasses.replace(ctx, d_k=root_of(ctx)))

    return run


def _large_negative(fill: float) -> Variant:
    """``fill`` (−1e9, say) where the mask forbids: exp(−1e9 − max) is 0 too, but
    the score is not −∞ (and a fully masked row would share its weight evenly)."""

    def run(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
        value = _formula(Op.APPLY_MASK)(inputs, ctx)
        return np.where(np.isneginf(value), fill, value)

    return run


FILLS = (
    ("−1e9", -1e9),
    ("−1e4", -1e4),
    ("−1e30", -1e30),
    (N_("float32's lowest value"), float(np.finfo(np.float32).min)),
    (N_("float64's lowest value"), float(np.finfo(np.float64).min)),
)
"""Large negative numbers written in place of −∞ by common implementations."""


def _transposed(op: Op) -> Variant:
    """x Wᵀ + b: a square weight matrix stored the other way round."""

    def run(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray | None:
        x, w, *rest = inputs
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            return None
        return _formula(op)([x, w.T, *rest], ctx)

    return run


def _no_bias(op: Op) -> Variant:
    def run(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray | None:
        if len(inputs) < 3:
            return None
        x, w, b = inputs
        return _formula(op)([x, w, np.zeros_like(b)], ctx)

    return run


def _mask_ignored(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
    return np.asarray(inputs[0])


def _heads_reversed(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
    return _formula(Op.CONCAT_HEADS)([np.asarray(inputs[0])[..., ::-1, :, :]], ctx)


def _softmax_other_axis(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
    swapped = np.swapaxes(inputs[0], -1, -2)
    return np.swapaxes(_formula(Op.SOFTMAX)([swapped], ctx), -1, -2)


def _layer_norm(ddof: int = 0, eps_outside: bool = False) -> Variant:
    """LayerNorm with the variance over n − ``ddof`` values, or ε added after the
    square root: the two slips of a hand-written LayerNorm."""

    def run(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
        x, gamma, beta = (np.asarray(v, dtype=np.float64) for v in inputs)
        centred = x - x.mean(axis=-1, keepdims=True)
        var = (centred**2).sum(axis=-1, keepdims=True) / (x.shape[-1] - ddof)
        spread = np.sqrt(var) + ctx.eps if eps_outside else np.sqrt(var + ctx.eps)
        return gamma * centred / spread + beta

    return run


def _gelu_tanh(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
    """GELU's tanh approximation (Hendrycks & Gimpel 2016), not x Φ(x)."""
    z = np.asarray(inputs[0], dtype=np.float64)
    inner = math.sqrt(2 / math.pi) * (z + 0.044715 * z**3)
    return 0.5 * z * (1 + np.tanh(inner))


def _pe_swapped(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
    value = np.array(_formula(Op.POSITIONAL_ENCODING)(inputs, ctx))
    even, odd = value[..., 0::2].copy(), value[..., 1::2]
    width = odd.shape[-1]
    value[..., 0::2][..., :width], value[..., 1::2] = odd, even[..., :width]
    return value


def _causal(offset: int) -> Variant:
    def run(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
        rows, cols = ctx.shape[-2:]
        return np.tri(rows, cols, offset, dtype=bool)

    return run


def _causal_transposed(inputs: Sequence[np.ndarray], ctx: Context) -> np.ndarray:
    rows, cols = ctx.shape[-2:]
    return np.tri(cols, rows, 0, dtype=bool).T


VARIANTS: dict[Op, tuple[tuple[str, Variant], ...]] = {  # the slip, in English
    Op.SCALE: (
        (N_("√d_model instead of √d_k"), _scale_by(lambda c: c.d_model)),
        (N_("the scores not divided by √d_k"), _scale_by(lambda c: 1)),
        (N_("divided by d_k instead of √d_k"), _scale_by(lambda c: c.d_k**2)),
    ),
    Op.APPLY_MASK: (
        *(
            (
                words(
                    N_("{fill} instead of −∞ for the masked scores"), fill=words(name)
                ),
                _large_negative(fill),
            )
            for name, fill in FILLS
        ),
        (N_("the mask not applied"), _mask_ignored),
    ),
    Op.CONCAT_HEADS: (
        (N_("the heads concatenated in reverse order"), _heads_reversed),
    ),
    Op.SOFTMAX: (
        (N_("softmax over the wrong axis (the queries)"), _softmax_other_axis),
    ),
    Op.LAYER_NORM: (
        (N_("n − 1 in the variance (unbiased) instead of n"), _layer_norm(ddof=1)),
        (N_("ε added outside the square root"), _layer_norm(eps_outside=True)),
    ),
    Op.LINEAR: (
        (N_("the weights transposed (x Wᵀ)"), _transposed(Op.LINEAR)),
        (N_("the bias left out"), _no_bias(Op.LINEAR)),
    ),
    Op.PROJECT_HEADS: (
        (N_("the weights transposed (x Wᵀ)"), _transposed(Op.PROJECT_HEADS)),
        (N_("the bias left out"), _no_bias(Op.PROJECT_HEADS)),
    ),
    Op.GELU: ((N_("GELU's tanh approximation instead of x Φ(x)"), _gelu_tanh),),
    Op.POSITIONAL_ENCODING: ((N_("sin and cos swapped"), _pe_swapped),),
    Op.CAUSAL_MASK: (
        (N_("a query may not see itself (j < i)"), _causal(-1)),
        (N_("a query sees one key ahead (j ≤ i + 1)"), _causal(1)),
        (N_("the mask transposed (keys after the query allowed)"), _causal_transposed),
    ),
}
"""Known slips per op, tried in order on a failing stage's recorded inputs."""
