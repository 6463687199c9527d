"""Each forward-pass op as a function *generated from its SymPy definition*.

The SymPy objects come from :mod:`explainer.symbolic` (one definition per formula);
here they are turned into functions with ``sp.lambdify`` — once, cached — and
applied to the arrays recorded in a trace. Two back-ends evaluate the same
expressions: NumPy (float64) and mpmath (50 significant digits, on object arrays).

Element formulas in index symbols (softmax, LayerNorm, PE, masks) are evaluated with
index arrays that broadcast; matrix formulas (QKᵀ, AV, xW + b) one head at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from sympy.printing.numpy import NumPyPrinter, SciPyPrinter

from explainer.symbolic import attention as sym_attention
from explainer.symbolic import embedding as sym_embedding
from explainer.symbolic import feed_forward as sym_ffn
from explainer.symbolic import gqa as sym_gqa
from explainer.symbolic import layer_norm as sym_layer_norm
from explainer.symbolic import learned_embedding as sym_learned
from explainer.symbolic import multi_head as sym_multi_head
from explainer.symbolic import output as sym_output
from explainer.symbolic import pooling as sym_pooling
from explainer.symbolic import positional_encoding as sym_pe
from explainer.symbolic import rms_norm as sym_rms_norm
from explainer.symbolic import rope as sym_rope
from explainer.symbolic import softmax as sym_softmax
from explainer.symbolic import swiglu as sym_swiglu
from explainer.symbolic.positional_encoding import col
from explainer.symbolic.symbols import (
    beta,
    d_model,
    eps,
    gamma,
    i,
    j,
    n,
    pos,
    t,
    x,
    z,
)
from explainer.trace import Op

DIGITS = 50  # significant digits of the high-precision back-end

# Matrix symbols of symbolic size: lambdify prints their products as ``.dot``.
_R, _C, _K = sp.symbols("R C K", positive=True, integer=True)
X = sp.MatrixSymbol("X", _R, _K)
Y = sp.MatrixSymbol("Y", _R, _K)
W = sp.MatrixSymbol("W", _K, _C)
B = sp.MatrixSymbol("b", 1, _C)
Q = sp.MatrixSymbol("Q", _R, _K)
KM = sp.MatrixSymbol("K", _C, _K)
S = sp.MatrixSymbol("S", _R, _C)
A = sp.MatrixSymbol("A", _R, _C)
V = sp.MatrixSymbol("V", _C, _K)
H = sp.MatrixSymbol("H", _R, _K)
EM = sp.MatrixSymbol("E", _C, _K)
OH = sp.MatrixSymbol("O", _R, _C)
dk = sp.Symbol("d_k", positive=True)
pad = sp.Symbol("pad", integer=True)
_h, _d = sp.symbols("h d", integer=True, nonnegative=True)
_even, _odd, _angle, _up = sp.symbols("x_even x_odd theta u", real=True)
_ROPE = sym_rope.rope_pair(_even, _odd, _angle)  # the rotated pair (2i, 2i+1)


def _vectorise(func: Callable[..., Any]) -> Callable[..., Any]:
    vec = np.vectorize(func, otypes=[object])

    def apply(arg: Any) -> Any:
        return vec(arg) if isinstance(arg, np.ndarray) else func(arg)

    return apply


_MPMATH = {
    name: _vectorise(getattr(mpmath, name))
    for name in ("exp", "sqrt", "sin", "cos", "erf", "floor")
}


@dataclass(frozen=True)
class Backend:
    """Where a formula is evaluated: NumPy float64, or mpmath at ``DIGITS``."""

    name: str

    def array(self, value: np.ndarray) -> np.ndarray:
        if self.name == "numpy":
            return np.asarray(value, dtype=np.float64)
        arr = np.asarray(value)
        if arr.dtype == object:
            return arr
        return _to_mpf(arr.astype(np.float64))

    def compile(self, args: tuple[Any, ...], expr: sp.Basic) -> Callable[..., Any]:
        return _compiled(self.name, args, expr)


NUMPY = Backend("numpy")
MPMATH = Backend("mpmath")


@functools.cache
def _compiled(backend: str, args: tuple[Any, ...], expr: sp.Basic) -> Callable:
    if backend != "numpy":
        modules: Any = [_MPMATH, "numpy"]
    else:  # scipy only where needed (erf): importing scipy.special takes 0.2 s
        modules = ["scipy", "numpy"] if expr.has(sp.erf) else ["numpy"]
    printer = (_SciPySums if "scipy" in modules else _NumPySums)(
        {
            "fully_qualified_modules": False,
            "inline": True,
            "allow_unknown_functions": True,
            "user_functions": {name: name for name in _MPMATH}
            if backend != "numpy"
            else {},
        }
    )  # lambdify's own settings for its printer
    return sp.lambdify(args, expr, modules=modules, cse=True, printer=printer)


class _ArraySums:
    """Prints ``Sum(f(x[k]), (k, a, b))`` as one array operation,
    ``sum(f(x[arange(a, b + 1)]), axis=0)``, where ``k`` only indexes the first
    axis; lambdify's own loop (``builtins.sum(… for k in range(…))``) made one
    NumPy call per term: 49,152 of them for a softmax over SmolLM2's vocabulary.
    Terms are added in the same order (NumPy reduces axis 0 term by term, except
    for a 1-D array, where it adds pairwise)."""

    def _print_Sum(self, expr: sp.Sum) -> str:
        if len(expr.limits) != 1 or not _first_index_only(
            expr.function, expr.limits[0][0]
        ):
            return super()._print_Sum(expr)  # type: ignore[misc]
        k, a, b = (self._print(v) for v in expr.limits[0])  # type: ignore[attr-defined]
        body = self._print(expr.function)  # type: ignore[attr-defined]
        total = self._module_format("numpy.sum")  # type: ignore[attr-defined]
        arange = self._module_format("numpy.arange")  # type: ignore[attr-defined]
        return f"({total}((lambda {k}: {body})({arange}({a}, {b}+1)), axis=0))"


class _NumPySums(_ArraySums, NumPyPrinter):
    pass


class _SciPySums(_ArraySums, SciPyPrinter):
    pass


def _first_index_only(expr: sp.Basic, k: sp.Symbol) -> bool:
    """``k`` occurs in ``expr`` only as the first index of an indexed array."""
    if k not in expr.free_symbols:
        return True
    if isinstance(expr, sp.Indexed):
        first, *rest = expr.indices
        return (first == k or k not in first.free_symbols) and all(
            k not in r.free_symbols for r in rest
        )
    if isinstance(expr, sp.Symbol):
        return False
    return all(_first_index_only(arg, k) for arg in expr.args)


_to_mpf = np.vectorize(lambda v: mpmath.mpf(float(v)), otypes=[object])


def _idx(size: int, axis: int, ndim: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = size
    return np.arange(size).reshape(shape)


# --- the formulas, one per op ---------------------------------------------------------

FORMULAS: dict[Op, sp.Basic] = {
    Op.ONE_HOT: sp.KroneckerDelta(t, col).rewrite(sp.Piecewise),
    Op.EMBEDDING: OH * EM,
    Op.SCALE_EMBEDDING: sym_embedding.scale_embedding(z, d_model),
    Op.POSITIONAL_ENCODING: sym_pe.positional_encoding_expr(),
    Op.ADD: X + Y,
    Op.PROJECT_HEADS: X * W + sp.OneMatrix(_R, 1) * B,
    Op.QK: Q * KM.T,
    Op.SCALE: z / sp.sqrt(dk),
    Op.CAUSAL_MASK: sym_attention.causal_mask(i, j),
    Op.NO_MASK: sp.true,
    Op.PADDING_MASK: sp.Ne(t, pad),
    Op.APPLY_MASK: sym_attention.masked_score(z, sp.Symbol("allowed")),
    Op.SOFTMAX: sym_softmax.softmax(x, i, n),
    Op.ATTEND: A * V,
    Op.CONCAT_HEADS: sym_multi_head.head_column(_h, col, _d),
    Op.LINEAR: X * W + sp.OneMatrix(_R, 1) * B,
    Op.LAYER_NORM: sym_layer_norm.layer_norm(x, i, n, gamma, beta, eps),
    Op.RELU: sym_ffn.relu(z),
    Op.GELU: sym_ffn.gelu(z),
    Op.LOGITS: sym_output.logits(H, EM),
    Op.POSITION_EMBEDDING: sym_learned.position_embedding(sym_learned.P, pos, col),
    Op.SEGMENT_EMBEDDING: sym_learned.segment_embedding(
        sym_learned.S, sym_learned.segment, col
    ),
    Op.MEAN_POOL: sym_pooling.mean_pool(x, n),
    Op.L2_NORMALIZE: sym_pooling.l2_normalize(x, i, n),
    Op.RMS_NORM: sym_rms_norm.rms_norm(x, i, n, gamma, eps),
    Op.ROPE_ANGLES: sym_rope.angle(pos, z),
    Op.ROPE: sp.Tuple(_ROPE[0], _ROPE[1]),
    Op.REPEAT_KV: sym_gqa.kv_head(sym_gqa.head, sym_gqa.ratio),
    Op.SWIGLU: sym_swiglu.swiglu(z, _up),
}
"""The SymPy expression behind each op (what reports show and verify evaluates)."""


@dataclass(frozen=True)
class Context:
    """What an op needs besides its input arrays."""

    n_heads: int
    d_k: int
    d_model: int
    eps: float
    pad_id: int
    shape: tuple[int, ...]  # the recorded output's shape (for PE and masks)


def evaluate(
    op: Op, inputs: Sequence[np.ndarray], ctx: Context, backend: Backend = NUMPY
) -> np.ndarray:
    """The value the formula of ``op`` gives on ``inputs``."""
    return _EVALUATORS[op](inputs, ctx, backend)


def _rows(arr: np.ndarray) -> list[np.ndarray]:
    """Split leading axes so that each piece is a 2-D matrix."""
    return list(arr.reshape(-1, *arr.shape[-2:]))


def _matrix_op(
    expr: sp.Basic, args: tuple[sp.Basic, ...]
) -> Callable[[Sequence[np.ndarray], Context, Backend], np.ndarray]:
    """A 2-D matrix formula applied to every head/batch slice of its first input.

    When the formula mentions the row count ``R`` (a bias broadcast over rows), it
    is passed as a last argument."""
    if _R in expr.free_symbols:
        args = (*args, _R)
    column = expr.shape[1]  # axes of each input that index the output's columns
    axes = [
        [k for k, size in enumerate(a.shape) if size == column]
        if isinstance(a, sp.MatrixSymbol)
        else []
        for a in args
    ]

    def run(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
        f = be.compile(args, expr)
        if (
            be.name == "numpy"
            and max(np.size(a) for a in inputs) > _BLOCK
            and all(np.ndim(a) <= 2 for a in inputs)
        ):
            return _by_columns(f, [_as2d(np.asarray(a)) for a in inputs], axes)
        arrays = [be.array(a) for a in inputs]
        first = arrays[0]
        rows = (first.shape[-2],) if _R in args else ()
        if first.ndim == 2 and all(a.ndim <= 2 for a in arrays):
            return np.asarray(f(*[_as2d(a) for a in arrays], *rows))
        lead = first.shape[:-2]
        parts = []
        for idx in np.ndindex(*lead):
            parts.append(
                f(
                    *[_as2d(a[idx] if a.ndim == first.ndim else a) for a in arrays],
                    *rows,
                )
            )
        return np.stack([np.asarray(p) for p in parts]).reshape(
            *lead, *np.asarray(parts[0]).shape
        )

    return run


_BLOCK = 1 << 22
"""Entries: a larger input (SmolLM2's 49,152 × 576 embedding) is widened to
float64 a block of output columns at a time, not whole (226 MB more at peak)."""


def _by_columns(
    f: Callable[..., Any], arrays: list[np.ndarray], axes: list[list[int]]
) -> np.ndarray:
    """``f(*arrays)`` in float64, one block of output columns at a time: each
    block gets the columns of every input that index the output's columns (the
    same products and sums per entry as the whole call)."""
    rows = (arrays[0].shape[0],) if len(axes) > len(arrays) else ()
    pairs = list(zip(arrays, axes[: len(arrays)], strict=True))
    width = next(a.shape[ax[0]] for a, ax in pairs if ax)
    per_column = max(a.size // width for a, ax in pairs if ax)
    step = max(1, _BLOCK // max(per_column, 1))
    parts = []
    for start in range(0, width, step):
        block = slice(start, start + step)
        cut = [
            a[tuple(block if k in ax else slice(None) for k in range(a.ndim))]
            if ax
            else a
            for a, ax in pairs
        ]
        args = [np.asarray(a, dtype=np.float64) for a in cut]
        parts.append(np.asarray(f(*args, *rows)))
    return np.concatenate(parts, axis=1)


def _as2d(a: np.ndarray) -> np.ndarray:
    return a.reshape(1, -1) if a.ndim == 1 else a


def _one_hot(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
    ids = np.asarray(inputs[0])
    f = be.compile((t, col), FORMULAS[Op.ONE_HOT])
    vocab = ctx.shape[-1]
    value = f(ids[..., None], _idx(vocab, ids.ndim, ids.ndim + 1))
    return np.broadcast_to(value, (*ids.shape, vocab))


def _scale_embedding(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((z, d_model), FORMULAS[Op.SCALE_EMBEDDING])
    return f(be.array(inputs[0]), ctx.d_model)


def _positional_encoding(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((pos, col, d_model), FORMULAS[Op.POSITIONAL_ENCODING])
    seq_len, width = ctx.shape[-2:]
    positions = be.array(np.arange(seq_len, dtype=np.float64)[:, None])
    columns = np.arange(width)[None, :]
    if be.name != "numpy":
        columns = be.array(columns.astype(np.float64))
        return f(positions, columns, mpmath.mpf(width))
    return f(positions, columns, width)


def _head_columns(head: int, d_head: int) -> np.ndarray:
    """Columns of the concatenation that belong to ``head`` (an index formula)."""
    f = _compiled("numpy", (_h, col, _d), FORMULAS[Op.CONCAT_HEADS])
    return np.asarray(f(head, np.arange(d_head), d_head))


def _project_heads(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    full = _matrix_op(FORMULAS[Op.PROJECT_HEADS], (X, W, B))(inputs, ctx, be)
    n_heads = ctx.shape[-3]  # the recorded heads: fewer for the K/V heads of GQA
    d_head = full.shape[-1] // n_heads
    heads = [full[..., _head_columns(h, d_head)] for h in range(n_heads)]
    return np.stack(heads, axis=-3)  # (..., h, T, d_head)


def _concat_heads(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    heads = be.array(inputs[0])  # (..., h, T, d_v)
    n_heads, seq_len, d_v = heads.shape[-3:]
    out = np.empty((*heads.shape[:-3], seq_len, n_heads * d_v), dtype=heads.dtype)
    for h in range(n_heads):
        out[..., _head_columns(h, d_v)] = heads[..., h, :, :]
    return out


def _scale(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((z, dk), FORMULAS[Op.SCALE])
    return f(
        be.array(inputs[0]), ctx.d_k if be.name == "numpy" else mpmath.mpf(ctx.d_k)
    )


def _causal_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = _compiled("numpy", (i, j), FORMULAS[Op.CAUSAL_MASK])
    rows, cols = ctx.shape[-2:]
    return np.broadcast_to(f(_idx(rows, 0, 2), _idx(cols, 1, 2)), (rows, cols))


def _no_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    return np.full(ctx.shape, bool(FORMULAS[Op.NO_MASK]))


def _padding_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = _compiled("numpy", (t, pad), FORMULAS[Op.PADDING_MASK])
    ids = np.asarray(inputs[0])
    return np.asarray(f(ids, ctx.pad_id))[..., None, None, :]


def _apply_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    scores, *masks = inputs
    allowed = np.logical_and.reduce(
        np.broadcast_arrays(*[np.asarray(m) for m in masks])
    )
    f = be.compile((z, sp.Symbol("allowed")), FORMULAS[Op.APPLY_MASK])
    scores = be.array(scores)
    allowed = np.broadcast_to(allowed, scores.shape)
    if be.name == "numpy":
        return f(scores, allowed)
    out = scores.copy()
    out[~allowed] = -mpmath.inf
    return out


def _softmax(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    return _along_last(FORMULAS[Op.SOFTMAX], (x, i, n), inputs[0], be)


def _layer_norm(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    xs, g, b = inputs
    width = xs.shape[-1]
    f = be.compile((x, i, n, gamma, beta, eps), FORMULAS[Op.LAYER_NORM])
    moved = np.moveaxis(be.array(xs), -1, 0)  # (d, ...)
    extra = (1,) * (moved.ndim - 1)
    e = ctx.eps if be.name == "numpy" else mpmath.mpf(ctx.eps)
    out = f(
        moved,
        np.arange(width),
        width,
        be.array(g).reshape(width, *extra),
        be.array(b).reshape(width, *extra),
        e,
    )
    return np.moveaxis(np.asarray(out), 0, -1)


def _table_rows(op: Op, index: sp.Symbol):
    """P[pos, col] / S[s_t, col]: the formula indexes the table at every (row, col)
    of the recorded shape; the row index is the position, or segment 0."""
    table_symbol = sym_learned.P if op == Op.POSITION_EMBEDDING else sym_learned.S

    def run(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
        f = be.compile((table_symbol, index, col), FORMULAS[op])
        rows, width = ctx.shape[-2:]
        where = _idx(rows, 0, 2) if op == Op.POSITION_EMBEDDING else np.zeros((1, 1))
        value = f(be.array(inputs[0]), where.astype(int), _idx(width, 1, 2))
        return np.broadcast_to(np.asarray(value), (rows, width))

    return run


def _mean_pool(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((x, n), FORMULAS[Op.MEAN_POOL])
    moved = np.moveaxis(be.array(inputs[0]), -2, 0)  # (T, ..., d)
    count = moved.shape[0] if be.name == "numpy" else mpmath.mpf(moved.shape[0])
    return np.asarray(f(moved, count))


def _l2_normalize(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    return _along_last(FORMULAS[Op.L2_NORMALIZE], (x, i, n), inputs[0], be)


def _along_last(
    expr: sp.Basic, args: tuple[sp.Basic, ...], arr: np.ndarray, be: Backend
) -> np.ndarray:
    f = be.compile(args, expr)
    moved = np.moveaxis(be.array(arr), -1, 0)  # (n, ...)
    width = moved.shape[0]
    return np.moveaxis(np.asarray(f(moved, np.arange(width), width)), 0, -1)


def _elementwise(op: Op) -> Callable[[Sequence[np.ndarray], Context, Backend], Any]:
    def run(inputs: Sequence[np.ndarray], ctx: Context, be: Backend) -> np.ndarray:
        f = be.compile((z,), FORMULAS[op])
        arr = be.array(inputs[0])
        if be.name != "numpy" and op == Op.RELU:
            return np.where(arr > 0, arr, mpmath.mpf(0))
        return np.asarray(f(arr))

    return run


def _add(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((X, Y), FORMULAS[Op.ADD])
    a, b = (be.array(v) for v in inputs)
    return f(a, b)


def _rms_norm(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    xs, g = inputs
    width = xs.shape[-1]
    f = be.compile((x, i, n, gamma, eps), FORMULAS[Op.RMS_NORM])
    moved = np.moveaxis(be.array(xs), -1, 0)  # (d, ...)
    extra = (1,) * (moved.ndim - 1)
    e = ctx.eps if be.name == "numpy" else mpmath.mpf(ctx.eps)
    out = f(moved, np.arange(width), width, be.array(g).reshape(width, *extra), e)
    return np.moveaxis(np.asarray(out), 0, -1)


def _rope_angles(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((pos, z), FORMULAS[Op.ROPE_ANGLES])
    positions = be.array(np.arange(ctx.shape[-2], dtype=np.float64)[:, None])
    return np.asarray(f(positions, be.array(inputs[0])[None, :]))  # (T, d_k/2)


def _rope(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    heads, angles = (be.array(v) for v in inputs)  # (..., h, T, d_k), (T, d_k/2)
    f = be.compile((_even, _odd, _angle), FORMULAS[Op.ROPE])
    first, second = f(heads[..., 0::2], heads[..., 1::2], angles)
    out = np.empty_like(heads)
    out[..., 0::2], out[..., 1::2] = first, second
    return out


def _repeat_kv(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    heads = be.array(inputs[0])  # (..., h_kv, T, d)
    ratio = ctx.shape[-3] // heads.shape[-3]
    f = _compiled("numpy", (sym_gqa.head, sym_gqa.ratio), FORMULAS[Op.REPEAT_KV])
    source = np.asarray(f(np.arange(ctx.shape[-3]), ratio)).astype(int)
    return np.take(heads, source, axis=-3)  # (..., h, T, d)


def _swiglu(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.compile((z, _up), FORMULAS[Op.SWIGLU])
    return np.asarray(f(be.array(inputs[0]), be.array(inputs[1])))


def _argmax(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    arr = be.array(inputs[0])
    if arr.dtype == object:  # mpmath numbers: Python's max, one row at a time
        rows = arr.reshape(-1, arr.shape[-1])
        best = [max(range(len(r)), key=r.__getitem__) for r in rows]
        return np.array(best).reshape(arr.shape[:-1])
    return np.argmax(arr, axis=-1)


_EVALUATORS: dict[Op, Callable[[Sequence[np.ndarray], Context, Backend], Any]] = {
    Op.ONE_HOT: _one_hot,
    Op.EMBEDDING: _matrix_op(FORMULAS[Op.EMBEDDING], (OH, EM)),
    Op.SCALE_EMBEDDING: _scale_embedding,
    Op.POSITIONAL_ENCODING: _positional_encoding,
    Op.ADD: _add,
    Op.PROJECT_HEADS: _project_heads,
    Op.QK: _matrix_op(FORMULAS[Op.QK], (Q, KM)),
    Op.SCALE: _scale,
    Op.CAUSAL_MASK: _causal_mask,
    Op.NO_MASK: _no_mask,
    Op.PADDING_MASK: _padding_mask,
    Op.APPLY_MASK: _apply_mask,
    Op.SOFTMAX: _softmax,
    Op.ATTEND: _matrix_op(FORMULAS[Op.ATTEND], (A, V)),
    Op.CONCAT_HEADS: _concat_heads,
    Op.LINEAR: _matrix_op(FORMULAS[Op.LINEAR], (X, W, B)),
    Op.LAYER_NORM: _layer_norm,
    Op.RELU: _elementwise(Op.RELU),
    Op.GELU: _elementwise(Op.GELU),
    Op.LOGITS: _matrix_op(FORMULAS[Op.LOGITS], (H, EM)),
    Op.ARGMAX: _argmax,
    Op.POSITION_EMBEDDING: _table_rows(Op.POSITION_EMBEDDING, pos),
    Op.SEGMENT_EMBEDDING: _table_rows(Op.SEGMENT_EMBEDDING, sym_learned.segment),
    Op.MEAN_POOL: _mean_pool,
    Op.L2_NORMALIZE: _l2_normalize,
    Op.RMS_NORM: _rms_norm,
    Op.ROPE_ANGLES: _rope_angles,
    Op.ROPE: _rope,
    Op.REPEAT_KV: _repeat_kv,
    Op.SWIGLU: _swiglu,
}

EXACT_OPS = frozenset(
    {Op.TOKEN_IDS, Op.ARGMAX, Op.CAUSAL_MASK, Op.NO_MASK, Op.PADDING_MASK, Op.ONE_HOT}
)
"""Ops whose values are integers or booleans: compared exactly."""
