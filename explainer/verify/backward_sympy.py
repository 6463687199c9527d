"""Each backward stage of a trace against its SymPy rule (issue 13, point 3, the
first of three ways): the rule of explainer/symbolic/backward_*.py, the one its
derivation proves, turned into a function with ``sp.lambdify`` (once, cached) and
evaluated in float64 on the stage's recorded inputs.

The NumPy rules (:mod:`explainer.backward.rules`) wrote the stages; these rows do
not call them, so a wrong NumPy rule (dW = dY Xᵀ, a softmax VJP without ⟨dy, p⟩)
fails here even though re-evaluating it by itself agrees.

Matrix rules are lambdified on ``MatrixSymbol``s of symbolic size (the sizes are
arguments), and applied to each head's matrix in turn; the split and concat of
heads and LayerNorm's rows on explicit matrices of the trace's sizes. No SymPy
rule exists for three ops, which get no row here: ``labels`` (integers, checked
exactly by the re-evaluation), ``cross_entropy`` (the loss, checked by the finite
differences) and ``grad_sum`` (the chain rule's sum of a stage's uses).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from explainer.backward.rules import Context
from explainer.symbolic import (
    attention,
    backward_activations,
    backward_attention,
    backward_cross_entropy,
    backward_embedding,
    backward_layer_norm,
    backward_linear,
    backward_multi_head,
    backward_residual,
    embedding,
)
from explainer.symbolic.symbols import eps, matrix, vector
from explainer.trace import Op, Stage, Trace
from explainer.verify.error_model import judge
from explainer.verify.result import CheckResult

CHECK = "SymPy rule"
"""The check kind of these rows (``gradient`` is the NumPy re-evaluation's)."""

RELATIVE = {"float64": 1e-9, "float32": 1e-5}
FLOOR = {"float64": 1e-12, "float32": 1e-5}
"""As for the NumPy re-evaluation (:mod:`explainer.verify.backward`): each entry
may differ by this much of its own size, plus FLOOR of the size of the terms the
rule adds up (the rule on |inputs|)."""

_R, _C, _K = sp.symbols("r c k", integer=True, positive=True)  # sizes
_z, _dy, _p, _y, _n = sp.symbols("z dy p y n", real=True)
_allowed = sp.Symbol("allowed")


def _lambdify(args: Sequence, expr: sp.Basic, modules=("numpy",)) -> Callable:
    return sp.lambdify(args, expr, modules=list(modules), cse=True)


def _ms(name: str, rows: sp.Expr, cols: sp.Expr) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, rows, cols)


# --------------------------------------------- rules of symbolic size, cached


@functools.cache
def _matrix_rule(which: str) -> Callable:
    """A rule on MatrixSymbols, lambdified; called with its matrices and sizes."""
    X, W = _ms("X", _R, _C), _ms("W", _C, _K)
    dY = _ms("dY", _R, _K)
    if which == "input_grad":  # dX = dY Wᵀ
        return _lambdify((dY, W), backward_linear.input_grad(dY, W))
    if which == "weight_grad":  # dW = Xᵀ dY
        return _lambdify((X, dY), backward_linear.weight_grad(X, dY))
    if which == "bias_grad":  # db = 1ᵀ dY
        return _lambdify((dY, _R), backward_linear.bias_grad(dY))
    P, dP = _ms("P", _R, _C), _ms("dP", _R, _C)
    V, dO = _ms("V", _C, _K), _ms("dO", _R, _K)
    if which == "weights_grad":  # dP = dO Vᵀ
        return _lambdify((dO, V), backward_attention.weights_grad(dO, V))
    if which == "value_grad":  # dV = Pᵀ dO
        return _lambdify((P, dO), backward_attention.value_grad(P, dO))
    if which == "scores_grad":  # the softmax VJP of every row
        return _lambdify((P, dP, _C), backward_attention.scores_grad(P, dP))
    dS, K = _ms("dS", _R, _C), _ms("K", _C, _K)
    if which == "query_grad":  # dQ = dS K / √d_k
        return _lambdify((dS, K, _n), backward_attention.query_grad(dS, K, _n))
    Q = _ms("Q", _R, _K)
    if which == "key_grad":  # dK = dSᵀ Q / √d_k
        return _lambdify((dS, Q, _n), backward_attention.key_grad(dS, Q, _n))
    if which == "scale":  # dS' / √d_k: query_grad with K = I
        eye = sp.Identity(_C)
        return _lambdify((dS, _C, _n), backward_attention.query_grad(dS, eye, _n))
    if which == "table_grad":  # dE = Oᵀ dX
        hot, dX = _ms("O", _R, _C), _ms("dX", _R, _K)
        return _lambdify((hot, dX), backward_embedding.table_grad(hot, dX))
    if which == "residual":  # (dY, dY)
        return _lambdify((dY,), backward_residual.residual_grads(dY)[0])
    raise KeyError(which)


@functools.cache
def _scalar_rule(which: str) -> Callable:
    """An entry-by-entry rule, lambdified (NumPy broadcasts it)."""
    if which == "relu":
        return _lambdify((_z, _dy), _dy * backward_activations.relu_grad(_z))
    if which == "gelu":
        gelu = _dy * backward_activations.gelu_grad(_z)
        return _lambdify((_z, _dy), gelu, modules=("scipy", "numpy"))  # erf
    if which == "logits_grad":
        return _lambdify((_p, _y, _n), backward_cross_entropy.logits_grad(_p, _y, _n))
    if which == "scale_embedding":  # ∂(x·√d_model)/∂x, times dy
        forward = embedding.scale_embedding(_z, _n)
        return _lambdify((_dy, _n), _dy * sp.diff(forward, _z))
    raise KeyError(which)


@functools.cache
def _mask_rule(masks: int) -> Callable:
    """dy · ∂(the masked score)/∂(score), the mask the forward formula's Piecewise."""
    allowed = sp.symbols(f"a0:{masks}")
    masked = _z
    for a in allowed:
        masked = attention.masked_score(masked, a)
    return _lambdify((_z, _dy, *allowed), _dy * sp.diff(masked, _z))


# ------------------------------------------- rules on explicit matrices, cached


@functools.cache
def _concat(heads: int, rows: int, width: int) -> Callable:
    """[dY_1 … dY_h] from the heads' gradients (the split's backward pass)."""
    blocks = [matrix(f"h{a}x", rows, width) for a in range(heads)]
    args = [list(b) for b in blocks]
    return _lambdify(args, backward_multi_head.concat_grad(blocks))


@functools.cache
def _split(heads: int, rows: int, width: int) -> Callable:
    """Each head's gradient from ∂L/∂Concat (concat's backward pass)."""
    dC = matrix("dC", rows, heads * width)
    return _lambdify([list(dC)], backward_multi_head.concat_backward_expr(
        rows, heads, width
    ))  # fmt: skip


@functools.cache
def _layer_norm(size: int) -> tuple[Callable, Callable, Callable]:
    """dx, dγ and dβ of ``layer_norm_backward_expr`` for one row."""
    X, G = matrix("x", 1, size), matrix("dy", 1, size)
    gains = vector("gamma", size)
    args = (list(X), list(gains), list(G), eps)
    exprs = backward_layer_norm.layer_norm_backward_expr(1, size)
    return tuple(_lambdify(args, exprs[key]) for key in ("dx", "dgamma", "dbeta"))


# ---------------------------------------------------------------- the table


def _each(fn: Callable, arrays: Sequence[np.ndarray], *extra) -> np.ndarray:
    """``fn`` on each head's matrices (arrays of shape (…, rows, cols)) in turn."""
    lead = arrays[0].shape[:-2]
    if not lead:
        return np.asarray(fn(*arrays, *extra), dtype=np.float64)
    out = [fn(*(a[i] for a in arrays), *extra) for i in np.ndindex(*lead)]
    return np.stack(out).reshape(*lead, *np.shape(out[0]))


def _rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])


def _concat_heads(dy_heads: np.ndarray) -> np.ndarray:
    heads, rows, width = dy_heads.shape
    fn = _concat(heads, rows, width)
    return np.asarray(fn(*(h.ravel() for h in dy_heads)), dtype=np.float64)


def _linear(kind: str, a: Sequence[np.ndarray]) -> np.ndarray:
    if kind == "x":
        return _each(_matrix_rule("input_grad"), a)
    if kind == "w":
        return _matrix_rule("weight_grad")(_rows(a[0]), _rows(a[1]))
    dy = _rows(a[0])
    return np.ravel(_matrix_rule("bias_grad")(dy, dy.shape[0]))


def _layer_norm_x(a: Sequence[np.ndarray], c: Context) -> np.ndarray:
    x, gamma, dy = _rows(a[0]), np.ravel(a[1]), _rows(a[2])
    fn = _layer_norm(x.shape[1])[0]
    out = [np.ravel(fn(x[r], gamma, dy[r], c.eps)) for r in range(x.shape[0])]
    return np.stack(out).reshape(a[0].shape)


def _layer_norm_param(which: int, a: Sequence[np.ndarray], c: Context) -> np.ndarray:
    """dγ or dβ: the rule's sum over rows, one row's term at a time (the rule is
    lambdified for one row; for all rows at once SymPy takes seconds)."""
    x, dy = _rows(a[0]), _rows(a[-1])
    fn = _layer_norm(x.shape[1])[which]
    ones = np.ones(x.shape[1])
    terms = [np.ravel(fn(x[r], ones, dy[r], c.eps)) for r in range(x.shape[0])]
    return np.sum(terms, axis=0)


def _split_heads(dy: np.ndarray, c: Context) -> np.ndarray:
    rows, width = dy.shape[-2], dy.shape[-1] // c.n_heads
    return np.stack(_split(c.n_heads, rows, width)(dy.ravel())).astype(np.float64)


def _cross_entropy(a: Sequence[np.ndarray]) -> np.ndarray:
    probs, labels = a
    target = np.zeros_like(probs)
    np.put_along_axis(target, labels[..., None], 1.0, axis=-1)  # one-hot y
    return _scalar_rule("logits_grad")(probs, target, labels.size)


def _softmax(a: Sequence[np.ndarray]) -> np.ndarray:
    p, dy = a
    fn = _matrix_rule("scores_grad")
    return fn(_rows(p), _rows(dy), p.shape[-1]).reshape(p.shape)


A = Sequence[np.ndarray]
RULES: dict[Op, tuple[str, Callable[[A, Context], np.ndarray]]] = {
    Op.CROSS_ENTROPY_BACKWARD: (
        "backward_cross_entropy.logits_grad: (p − y)/T",
        lambda a, c: _cross_entropy(a),
    ),
    Op.LOGITS_BACKWARD_H: (
        "backward_linear.input_grad with W = Eᵀ: dh = dZ E",
        lambda a, c: _each(_matrix_rule("input_grad"), [a[0], a[1].T]),
    ),
    Op.LOGITS_BACKWARD_E: (
        "backward_linear.weight_grad with W = Eᵀ: dE = (hᵀ dZ)ᵀ",
        lambda a, c: _matrix_rule("weight_grad")(_rows(a[0]), _rows(a[1])).T,
    ),
    Op.LINEAR_BACKWARD_X: (
        "backward_linear.input_grad: dX = dY Wᵀ",
        lambda a, c: _linear("x", a),
    ),
    Op.LINEAR_BACKWARD_W: (
        "backward_linear.weight_grad: dW = Xᵀ dY",
        lambda a, c: _linear("w", a),
    ),
    Op.LINEAR_BACKWARD_B: (
        "backward_linear.bias_grad: db = 1ᵀ dY",
        lambda a, c: _linear("b", a),
    ),
    Op.PROJECT_HEADS_BACKWARD_X: (
        "backward_multi_head.concat_grad, then backward_linear.input_grad",
        lambda a, c: _linear("x", [_concat_heads(a[0]), a[1]]),
    ),
    Op.PROJECT_HEADS_BACKWARD_W: (
        "backward_multi_head.concat_grad, then backward_linear.weight_grad",
        lambda a, c: _linear("w", [a[0], _concat_heads(a[1])]),
    ),
    Op.PROJECT_HEADS_BACKWARD_B: (
        "backward_multi_head.concat_grad, then backward_linear.bias_grad",
        lambda a, c: _linear("b", [_concat_heads(a[0])]),
    ),
    Op.CONCAT_HEADS_BACKWARD: (
        "backward_multi_head.split_grad: dC's columns back to their heads",
        lambda a, c: _split_heads(a[0], c),
    ),
    Op.ATTEND_BACKWARD_WEIGHTS: (
        "backward_attention.weights_grad: dP = dO Vᵀ",
        lambda a, c: _each(_matrix_rule("weights_grad"), a),
    ),
    Op.ATTEND_BACKWARD_V: (
        "backward_attention.value_grad: dV = Pᵀ dO",
        lambda a, c: _each(_matrix_rule("value_grad"), a),
    ),
    Op.SOFTMAX_BACKWARD: (
        "backward_attention.scores_grad: P ⊙ (dP − rowsum(P ⊙ dP))",
        lambda a, c: _softmax(a),
    ),
    Op.APPLY_MASK_BACKWARD: (
        "∂ attention.masked_score / ∂ score: dy where allowed, else 0",
        lambda a, c: _mask_rule(len(a) - 1)(np.zeros_like(a[0]), *a),
    ),
    Op.SCALE_BACKWARD: (
        "backward_attention.query_grad's 1/√d_k: dS'/√d_k",
        lambda a, c: _each(_matrix_rule("scale"), a, a[0].shape[-1], c.d_k),
    ),
    Op.QK_BACKWARD_Q: (
        "backward_attention.query_grad, √d_k in its own stage: dQ = dS K",
        lambda a, c: _each(_matrix_rule("query_grad"), a, 1),
    ),
    Op.QK_BACKWARD_K: (
        "backward_attention.key_grad, √d_k in its own stage: dK = dSᵀ Q",
        lambda a, c: _each(_matrix_rule("key_grad"), a, 1),
    ),
    Op.LAYER_NORM_BACKWARD_X: (
        "backward_layer_norm.input_grad_entry: (ĝ − mean ĝ − x̂·mean(ĝx̂))/σ̂",
        _layer_norm_x,
    ),
    Op.LAYER_NORM_BACKWARD_GAMMA: (
        "backward_layer_norm: dγ = Σ_rows dy ⊙ x̂",
        lambda a, c: _layer_norm_param(1, a, c),
    ),
    Op.LAYER_NORM_BACKWARD_BETA: (
        "backward_layer_norm: dβ = Σ_rows dy",
        lambda a, c: _layer_norm_param(2, [a[0], a[0]], c),
    ),
    Op.RELU_BACKWARD: (
        "backward_activations.relu_grad: dy·H(z)",
        lambda a, c: _scalar_rule("relu")(*a),
    ),
    Op.GELU_BACKWARD: (
        "backward_activations.gelu_grad: dy·(Φ(z) + z φ(z))",
        lambda a, c: _scalar_rule("gelu")(*a),
    ),
    Op.ADD_BACKWARD: (
        "backward_residual.residual_grads: dY to both branches",
        lambda a, c: _matrix_rule("residual")(a[0]),
    ),
    Op.SCALE_EMBEDDING_BACKWARD: (
        "∂ embedding.scale_embedding / ∂ row: dy·√d_model",
        lambda a, c: _scalar_rule("scale_embedding")(a[0], c.d_model),
    ),
    Op.EMBEDDING_BACKWARD: (
        "backward_embedding.table_grad: dE = Oᵀ dX",
        lambda a, c: _matrix_rule("table_grad")(_rows(a[0]), _rows(a[1])),
    ),
}
"""Backward op → (the SymPy rule, its lambdified form on the stage's inputs)."""


def _float64(value: np.ndarray) -> np.ndarray:
    return value.astype(np.float64) if value.dtype.kind == "f" else value


def rule_value(op: Op, arrays: A, ctx: Context) -> np.ndarray:
    """The SymPy rule of ``op`` evaluated on ``arrays`` (float64)."""
    return np.asarray(RULES[op][1](arrays, ctx), dtype=np.float64)


def check_rule(trace: Trace, stage: Stage, ctx: Context) -> CheckResult | None:
    """The stage against its SymPy rule on its recorded inputs; None without one."""
    if stage.op not in RULES:
        return None
    name = RULES[stage.op][0]
    arrays = [_float64(trace[n]) for n in stage.inputs]
    want = rule_value(stage.op, arrays, ctx)
    got = _float64(stage.value)
    if want.shape != got.shape:
        return CheckResult(
            CHECK, name, stage.name, float("inf"), 0.0, False,
            detail=f"the rule gives shape {list(want.shape)}, "
            f"the stage has {list(got.shape)}",
        )  # fmt: skip
    absolute = [np.abs(a) if a.dtype.kind == "f" else a for a in arrays]
    size = max(
        float(np.abs(v).max(initial=0.0))
        for v in (rule_value(stage.op, absolute, ctx), want)
    )
    dtype = trace.config.dtype
    limit = RELATIVE[dtype] * np.abs(want) + FLOOR[dtype] * size
    err, tol, ok = judge(want, got, limit)
    if ok:
        return CheckResult(CHECK, name, stage.name, err, tol, True)
    diff = np.nan_to_num(np.abs(want - got) - limit, nan=np.inf)
    at = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    cell = ", ".join(str(int(i)) for i in at)
    return CheckResult(
        CHECK, name, stage.name, err, tol, False,
        detail="the SymPy rule on its recorded inputs gives other numbers",
        cell=f"[{cell}]", expected=float(want[at]), actual=float(got[at]),
    )  # fmt: skip


def check_rules(
    trace: Trace, stages: Sequence[Stage], ctx: Context
) -> list[CheckResult]:
    """One row per backward stage with a SymPy rule; a failing stage that reads a
    failing stage says to look there first."""
    rows, failed = [], set()
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        for stage in stages:
            row = check_rule(trace, stage, ctx)
            if row is None:
                continue
            if not row.ok:
                failed.add(stage.name)
                upstream = [n for n in stage.inputs if n in failed]
                if upstream:
                    row = dataclasses.replace(
                        row,
                        detail=f"reads {upstream[0]}, which fails too: "
                        "look there first",
                    )
            rows.append(row)
    return rows
