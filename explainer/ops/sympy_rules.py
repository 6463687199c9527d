"""The backward pass's SymPy rules (explainer/symbolic/backward_*.py, the ones
their derivations prove) turned into functions with ``sp.lambdify`` (once, cached)
that take a backward stage's input arrays.

Matrix rules are lambdified on ``MatrixSymbol``s of symbolic size (the sizes are
arguments), and applied to each head's matrix in turn (:func:`each`); the split and
concat of heads and LayerNorm's rows on explicit matrices of the trace's sizes.
The ops' entries (``explainer/ops/*.py``) name which rule each backward op uses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import sympy as sp

from explainer.ops.context import GradContext as Context
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

_R, _C, _K = sp.symbols("r c k", integer=True, positive=True)  # sizes
_z, _dy, _p, _y, _n = sp.symbols("z dy p y n", real=True)
_allowed = sp.Symbol("allowed")


def _lambdify(args: Sequence, expr: sp.Basic, modules=("numpy",)) -> Callable:
    return sp.lambdify(args, expr, modules=list(modules), cse=True)


def _ms(name: str, rows: sp.Expr, cols: sp.Expr) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, rows, cols)


# --------------------------------------------- rules of symbolic size, cached


@functools.cache
def matrix_rule(which: str) -> Callable:
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
def scalar_rule(which: str) -> Callable:
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
def mask_rule(masks: int) -> Callable:
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


# ------------------------------------------- applied to a stage's arrays


def each(fn: Callable, arrays: Sequence[np.ndarray], *extra) -> np.ndarray:
    """``fn`` on each head's matrices (arrays of shape (…, rows, cols)) in turn."""
    lead = arrays[0].shape[:-2]
    if not lead:
        return np.asarray(fn(*arrays, *extra), dtype=np.float64)
    out = [fn(*(a[i] for a in arrays), *extra) for i in np.ndindex(*lead)]
    return np.stack(out).reshape(*lead, *np.shape(out[0]))


def as_rows(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])


def concat_heads(dy_heads: np.ndarray) -> np.ndarray:
    heads, rows, width = dy_heads.shape
    fn = _concat(heads, rows, width)
    return np.asarray(fn(*(h.ravel() for h in dy_heads)), dtype=np.float64)


def linear(kind: str, a: Sequence[np.ndarray]) -> np.ndarray:
    if kind == "x":
        return each(matrix_rule("input_grad"), a)
    if kind == "w":
        return matrix_rule("weight_grad")(as_rows(a[0]), as_rows(a[1]))
    dy = as_rows(a[0])
    return np.ravel(matrix_rule("bias_grad")(dy, dy.shape[0]))


def layer_norm_x(a: Sequence[np.ndarray], c: Context) -> np.ndarray:
    x, gamma, dy = as_rows(a[0]), np.ravel(a[1]), as_rows(a[2])
    fn = _layer_norm(x.shape[1])[0]
    out = [np.ravel(fn(x[r], gamma, dy[r], c.eps)) for r in range(x.shape[0])]
    return np.stack(out).reshape(a[0].shape)


def layer_norm_param(which: int, a: Sequence[np.ndarray], c: Context) -> np.ndarray:
    """dγ or dβ: the rule's sum over rows, one row's term at a time (the rule is
    lambdified for one row; for all rows at once SymPy takes seconds)."""
    x, dy = as_rows(a[0]), as_rows(a[-1])
    fn = _layer_norm(x.shape[1])[which]
    ones = np.ones(x.shape[1])
    terms = [np.ravel(fn(x[r], ones, dy[r], c.eps)) for r in range(x.shape[0])]
    return np.sum(terms, axis=0)


def split_heads(dy: np.ndarray, c: Context) -> np.ndarray:
    rows, width = dy.shape[-2], dy.shape[-1] // c.n_heads
    return np.stack(_split(c.n_heads, rows, width)(dy.ravel())).astype(np.float64)


def cross_entropy(a: Sequence[np.ndarray]) -> np.ndarray:
    probs, labels = a
    target = np.zeros_like(probs)
    np.put_along_axis(target, labels[..., None], 1.0, axis=-1)  # one-hot y
    return scalar_rule("logits_grad")(probs, target, labels.size)


def softmax(a: Sequence[np.ndarray]) -> np.ndarray:
    p, dy = a
    fn = matrix_rule("scores_grad")
    return fn(as_rows(p), as_rows(dy), p.shape[-1]).reshape(p.shape)
