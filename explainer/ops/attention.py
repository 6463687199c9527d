"""The ops of multi-head attention (§3.2): the projections split into heads,
Q Kᵀ, ÷ √d_k, the masks, softmax, weights · V, Concat; and their gradients."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import MappingProxyType as frozen

import numpy as np

from explainer import numeric
from explainer.backward import attention as grad
from explainer.backward import linear as grad_linear
from explainer.i18n import N_
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.formula import Formula, later, symbols
from explainer.ops.lambdified import (
    Backend,
    along_last,
    as_rows,
    each,
    idx,
    matrices,
    matrix_formula,
    matrix_op,
)
from explainer.ops.layers import linear_rule
from explainer.ops.spec import OpSpec
from explainer.trace import Op

sp = later("sympy")
rules = later("explainer.ops.sympy_rules")
sym_attention = later("explainer.symbolic.attention")
sym_multi_head = later("explainer.symbolic.multi_head")
sym_softmax = later("explainer.symbolic.softmax")
sym_pe = later("explainer.symbolic.positional_encoding")
backward_attention = later("explainer.symbolic.backward_attention")
backward_multi_head = later("explainer.symbolic.backward_multi_head")
m = matrices


def _concat_heads_formula() -> tuple[tuple, object]:
    h, d = sp.symbols("h d", integer=True, nonnegative=True)
    return (h, sym_pe.col, d), sym_multi_head.head_column(h, sym_pe.col, d)


def _apply_mask_formula() -> tuple[tuple, object]:
    z, allowed = symbols().z, sp.Symbol("allowed")
    return (z, allowed), sym_attention.masked_score(z, allowed)


def _softmax_formula() -> tuple[tuple, object]:
    x, i, n = symbols().x, symbols().i, symbols().n
    return (x, i, n), sym_softmax.softmax(x, i, n)


PROJECT_HEADS = matrix_formula(
    "project_heads", lambda: (m.X * m.W + sp.OneMatrix(m.R, 1) * m.B, (m.X, m.W, m.B))
)
QK = matrix_formula("qk", lambda: (m.Q * m.KM.T, (m.Q, m.KM)))
SCALE = Formula("scale", lambda: ((symbols().z, m.dk), symbols().z / sp.sqrt(m.dk)))
CAUSAL_MASK = Formula(
    "causal_mask",
    lambda: (
        (symbols().i, symbols().j),
        sym_attention.causal_mask(symbols().i, symbols().j),
    ),
)
NO_MASK = Formula("no_mask", lambda: ((), sp.true))
PADDING_MASK = Formula(
    "padding_mask", lambda: ((symbols().t, m.pad), sp.Ne(symbols().t, m.pad))
)
APPLY_MASK = Formula("apply_mask", _apply_mask_formula)
SOFTMAX = Formula("softmax", _softmax_formula)
ATTEND = matrix_formula("attend", lambda: (m.A * m.V, (m.A, m.V)))
CONCAT_HEADS = Formula("concat_heads", _concat_heads_formula)


def _head_columns(head: int, d_head: int) -> np.ndarray:
    """Columns of the concatenation that belong to ``head`` (an index formula)."""
    f = CONCAT_HEADS.function("numpy")
    return np.asarray(f(head, np.arange(d_head), d_head))


def _project_heads(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    full = matrix_op(PROJECT_HEADS)(inputs, ctx, be)
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
    f = be.function(SCALE)
    return f(be.array(inputs[0]), be.number(ctx.d_k))


def _causal_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = CAUSAL_MASK.function("numpy")
    rows, cols = ctx.shape[-2:]
    return np.broadcast_to(f(idx(rows, 0, 2), idx(cols, 1, 2)), (rows, cols))


def _no_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    return np.full(ctx.shape, bool(NO_MASK.function("numpy")()))


def _padding_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = PADDING_MASK.function("numpy")
    ids = np.asarray(inputs[0])
    return np.asarray(f(ids, ctx.pad_id))[..., None, None, :]


def _apply_mask(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    scores, *masks = inputs
    allowed = np.logical_and.reduce(
        np.broadcast_arrays(*[np.asarray(m) for m in masks])
    )
    scores = be.array(scores)
    allowed = np.broadcast_to(allowed, scores.shape)
    if be.name == "numpy":
        return be.function(APPLY_MASK)(scores, allowed)
    import mpmath  # the 50-digit back-end: −∞ where a key is masked

    out = scores.copy()
    out[~allowed] = -mpmath.inf
    return out


def _softmax(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    return along_last(SOFTMAX, inputs[0], be)


# --- the SymPy rules of the gradients, lambdified --------------------------------


def _matrices(*names: str) -> tuple[tuple[str, sp.Expr, sp.Expr], ...]:
    """The rule's matrices by name, each of its symbolic size."""
    R, C, K = rules.R, rules.C, rules.K
    sizes = {
        "P": (R, C), "dP": (R, C), "dS": (R, C), "V": (C, K),
        "dO": (R, K), "K": (C, K), "Q": (R, K),
    }  # fmt: skip
    return tuple((name, *sizes[name]) for name in names)


def _scale_grad(dS: sp.Expr, root: sp.Expr) -> sp.Expr:
    """dS'/√d_k: backward_attention.query_grad with K = I."""
    return backward_attention.query_grad(dS, sp.Identity(rules.C), root)


@functools.cache
def _mask_rule(masks: int) -> Callable:
    """dy · ∂(the masked score)/∂(score), the mask the forward formula's Piecewise."""
    allowed = sp.symbols(f"a0:{masks}")
    masked = rules.z
    for a in allowed:
        masked = sym_attention.masked_score(masked, a)
    grad = rules.dy * sp.diff(masked, rules.z)
    return rules.lambdified((rules.z, rules.dy, *allowed), grad)


@functools.cache
def _concat(heads: int, rows: int, width: int) -> Callable:
    """[dY_1 … dY_h] from the heads' gradients (the split's backward pass)."""
    blocks = [symbols().matrix(f"h{a}x", rows, width) for a in range(heads)]
    args = [list(b) for b in blocks]
    return rules.lambdified(args, backward_multi_head.concat_grad(blocks))


@functools.cache
def _split(heads: int, rows: int, width: int) -> Callable:
    """Each head's gradient from ∂L/∂Concat (concat's backward pass)."""
    dC = symbols().matrix("dC", rows, heads * width)
    grads = backward_multi_head.concat_backward_expr(rows, heads, width)
    return rules.lambdified([list(dC)], grads)


def _concat_head_grads(dy_heads: np.ndarray) -> np.ndarray:
    heads, rows, width = dy_heads.shape
    fn = _concat(heads, rows, width)
    return np.asarray(fn(*(h.ravel() for h in dy_heads)), dtype=np.float64)


def _split_heads(dy: np.ndarray, c) -> np.ndarray:
    rows, width = dy.shape[-2], dy.shape[-1] // c.n_heads
    return np.stack(_split(c.n_heads, rows, width)(dy.ravel())).astype(np.float64)


def _softmax_grad(a: Sequence[np.ndarray]) -> np.ndarray:
    p, dy = a
    fn = rules.rule(
        backward_attention.scores_grad, *_matrices("P", "dP"), sizes=(rules.C,)
    )
    return fn(as_rows(p), as_rows(dy), p.shape[-1]).reshape(p.shape)


_H, _T, _DK, _D = ex.N_HEADS, ex.T, ex.D_K, ex.D_MODEL
_HEADS = ex.context(_H, _T, _DK)  # a (h, T, d_k) output
_SCORES = ex.context(_H, _T, _T)  # a (h, T, T) output


def _heads(r: np.random.Generator) -> np.ndarray:
    return ex.normal(r, _H, _T, _DK)


def _scores(r: np.random.Generator) -> np.ndarray:
    return ex.normal(r, _H, _T, _T)


SPECS = (
    OpSpec(
        Op.PROJECT_HEADS,
        numeric=lambda a, c: numeric.project_heads(*a, c.shape[-3]),
        formula=PROJECT_HEADS,
        evaluate=_project_heads,
        gloss=N_("X: the input rows; W, b: the weights; 1_R b adds b to each row"),
        grads=frozen(
            {
                0: (Op.PROJECT_HEADS_BACKWARD_X, ("dy", "in1")),
                1: (Op.PROJECT_HEADS_BACKWARD_W, ("in0", "dy")),
                2: (Op.PROJECT_HEADS_BACKWARD_B, ("dy",)),
            }
        ),
        section="qkv",
        scene="projections",
        example=lambda r: (
            [ex.normal(r, _T, _D), ex.normal(r, _D, _H * _DK), ex.normal(r, _H * _DK)],
            _HEADS,
        ),
    ),
    OpSpec(
        Op.QK,
        numeric=lambda a, c: numeric.qk(*a),
        formula=QK,
        evaluate=matrix_op(QK),
        gloss=N_("per head"),
        grads=frozen(
            {
                0: (Op.QK_BACKWARD_Q, ("dy", "in1")),
                1: (Op.QK_BACKWARD_K, ("dy", "in0")),
            }
        ),
        section="scores",
        scene="attention",
        example=lambda r: ([_heads(r), _heads(r)], _SCORES),
    ),
    OpSpec(
        Op.SCALE,
        numeric=lambda a, c: numeric.scale(a[0], c.d_k),
        formula=SCALE,
        evaluate=_scale,
        gloss=N_("each score z"),
        grads=frozen({0: (Op.SCALE_BACKWARD, ("dy",))}),
        section="scores",
        scene="attention",
        example=lambda r: ([_scores(r)], _SCORES),
    ),
    OpSpec(
        Op.CAUSAL_MASK,
        numeric=lambda a, c: numeric.causal_mask(c.shape[-1]),
        formula=CAUSAL_MASK,
        evaluate=_causal_mask,
        gloss=N_("query i may see key j"),
        exact=True,
        section="mask",
        scene="causal-mask",
        example=lambda r: ([], ex.context(_T, _T)),
    ),
    OpSpec(
        Op.NO_MASK,
        numeric=lambda a, c: numeric.no_mask(*c.shape[-2:]),
        formula=NO_MASK,
        evaluate=_no_mask,
        gloss=N_("every pair"),
        exact=True,
        section="mask",
        scene="attention",
        example=lambda r: ([], ex.context(_T, _T + 1)),
    ),
    OpSpec(
        Op.PADDING_MASK,
        numeric=lambda a, c: numeric.padding_mask(a[0], c.pad_id),
        formula=PADDING_MASK,
        evaluate=_padding_mask,
        gloss=N_("key id t"),
        exact=True,
        section="tokens",
        example=lambda r: ([ex.ids(r, 8)], ex.context(1, 1, 8)),
    ),
    OpSpec(
        Op.APPLY_MASK,
        numeric=lambda a, c: numeric.apply_mask(*a),
        formula=APPLY_MASK,
        evaluate=_apply_mask,
        gloss=N_("each score z"),
        grads=frozen({0: (Op.APPLY_MASK_BACKWARD, ("dy", "masks"))}),
        section="mask",
        scene="causal-mask",
        example=lambda r: ([_scores(r), ex.allowed(r, _T, _T)], _SCORES),
    ),
    OpSpec(
        Op.SOFTMAX,
        numeric=lambda a, c: numeric.softmax(a[0]),
        formula=SOFTMAX,
        evaluate=_softmax,
        gloss=N_("entry i of each row x of length n"),
        grads=frozen({0: (Op.SOFTMAX_BACKWARD, ("out", "dy"))}),
        section="softmax",
        scene="softmax",
        example=lambda r: ([_scores(r)], _SCORES),
    ),
    OpSpec(
        Op.ATTEND,
        numeric=lambda a, c: numeric.attend(*a),
        formula=ATTEND,
        evaluate=matrix_op(ATTEND),
        gloss=N_("A: the weights, V: the values, per head"),
        grads=frozen(
            {
                0: (Op.ATTEND_BACKWARD_WEIGHTS, ("dy", "in1")),
                1: (Op.ATTEND_BACKWARD_V, ("in0", "dy")),
            }
        ),
        section="weighted",
        scene="attention",
        example=lambda r: ([ex.probs(r, _H, _T, _T), _heads(r)], _HEADS),
    ),
    OpSpec(
        Op.CONCAT_HEADS,
        numeric=lambda a, c: numeric.concat_heads(a[0]),
        formula=CONCAT_HEADS,
        evaluate=_concat_heads,
        gloss=N_("column col of head h goes to this column (d = d_v)"),
        grads=frozen({0: (Op.CONCAT_HEADS_BACKWARD, ("dy",))}),
        section="concat",
        scene="multi-head",
        example=lambda r: ([_heads(r)], ex.context(_T, _H * _DK)),
    ),
    # --- gradients -----------------------------------------------------------------
    OpSpec(
        Op.PROJECT_HEADS_BACKWARD_X,
        backward=True,
        numeric=lambda a, c: grad_linear.project_heads_backward_x(*a),
        rule="backward_multi_head.concat_grad, then backward_linear.input_grad",
        sympy=lambda a, c: linear_rule("x", [_concat_head_grads(a[0]), a[1]]),
        example=lambda r: ([_heads(r), ex.normal(r, _D, _H * _DK)], ex.GRAD),
    ),
    OpSpec(
        Op.PROJECT_HEADS_BACKWARD_W,
        backward=True,
        numeric=lambda a, c: grad_linear.project_heads_backward_w(*a),
        rule="backward_multi_head.concat_grad, then backward_linear.weight_grad",
        sympy=lambda a, c: linear_rule("w", [a[0], _concat_head_grads(a[1])]),
        example=lambda r: ([ex.normal(r, _T, _D), _heads(r)], ex.GRAD),
    ),
    OpSpec(
        Op.PROJECT_HEADS_BACKWARD_B,
        backward=True,
        numeric=lambda a, c: grad_linear.project_heads_backward_b(*a),
        rule="backward_multi_head.concat_grad, then backward_linear.bias_grad",
        sympy=lambda a, c: linear_rule("b", [_concat_head_grads(a[0])]),
        example=lambda r: ([_heads(r)], ex.GRAD),
    ),
    OpSpec(
        Op.CONCAT_HEADS_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad_linear.concat_heads_backward(a[0], c.n_heads),
        rule="backward_multi_head.split_grad: dC's columns back to their heads",
        sympy=lambda a, c: _split_heads(a[0], c),
        example=lambda r: ([ex.normal(r, _T, _H * _DK)], ex.GRAD),
    ),
    OpSpec(
        Op.ATTEND_BACKWARD_WEIGHTS,
        backward=True,
        numeric=lambda a, c: grad.attend_backward_weights(*a),
        rule="backward_attention.weights_grad: dP = dO Vᵀ",
        sympy=lambda a, c: each(
            rules.rule(backward_attention.weights_grad, *_matrices("dO", "V")), a
        ),
        example=lambda r: ([_heads(r), _heads(r)], ex.GRAD),
    ),
    OpSpec(
        Op.ATTEND_BACKWARD_V,
        backward=True,
        numeric=lambda a, c: grad.attend_backward_v(*a),
        rule="backward_attention.value_grad: dV = Pᵀ dO",
        sympy=lambda a, c: each(
            rules.rule(backward_attention.value_grad, *_matrices("P", "dO")), a
        ),
        example=lambda r: ([ex.probs(r, _H, _T, _T), _heads(r)], ex.GRAD),
    ),
    OpSpec(
        Op.SOFTMAX_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad.softmax_backward(*a),
        rule="backward_attention.scores_grad: P ⊙ (dP − rowsum(P ⊙ dP))",
        sympy=lambda a, c: _softmax_grad(a),
        example=lambda r: ([ex.probs(r, _H, _T, _T), _scores(r)], ex.GRAD),
    ),
    OpSpec(
        Op.APPLY_MASK_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad.apply_mask_backward(*a),
        rule="∂ attention.masked_score / ∂ score: dy where allowed, else 0",
        sympy=lambda a, c: _mask_rule(len(a) - 1)(np.zeros_like(a[0]), *a),
        example=lambda r: ([_scores(r), ex.allowed(r, _T, _T)], ex.GRAD),
    ),
    OpSpec(
        Op.SCALE_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad.scale_backward(a[0], c.d_k),
        rule="backward_attention.query_grad's 1/√d_k: dS'/√d_k",
        sympy=lambda a, c: each(
            rules.rule(_scale_grad, *_matrices("dS"), rules.n, sizes=(rules.C,)),
            a,
            c.d_k,
            a[0].shape[-1],
        ),
        example=lambda r: ([_scores(r)], ex.GRAD),
    ),
    OpSpec(
        Op.QK_BACKWARD_Q,
        backward=True,
        numeric=lambda a, c: grad.qk_backward_q(*a),
        rule="backward_attention.query_grad, √d_k in its own stage: dQ = dS K",
        sympy=lambda a, c: each(
            rules.rule(backward_attention.query_grad, *_matrices("dS", "K"), rules.n),
            a,
            1,
        ),
        example=lambda r: ([_scores(r), _heads(r)], ex.GRAD),
    ),
    OpSpec(
        Op.QK_BACKWARD_K,
        backward=True,
        numeric=lambda a, c: grad.qk_backward_k(*a),
        rule="backward_attention.key_grad, √d_k in its own stage: dK = dSᵀ Q",
        sympy=lambda a, c: each(
            rules.rule(backward_attention.key_grad, *_matrices("dS", "Q"), rules.n),
            a,
            1,
        ),
        example=lambda r: ([_scores(r), _heads(r)], ex.GRAD),
    ),
)
