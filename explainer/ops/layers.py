"""The ops of a layer around attention: x W + b, LayerNorm (Ba et al. 2016), the
feed-forward network's ReLU (§3.3, Eq. 2) or GELU (Hendrycks & Gimpel 2016); and
their gradients."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import MappingProxyType as frozen

import numpy as np

from explainer import numeric
from explainer.backward import activations as grad_act
from explainer.backward import layer_norm as grad_norm
from explainer.backward import linear as grad_linear
from explainer.i18n import N_
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.formula import Formula, later, symbols
from explainer.ops.lambdified import (
    Backend,
    as_rows,
    each,
    matrices,
    matrix_formula,
    matrix_op,
)
from explainer.ops.spec import OpSpec
from explainer.trace import Op

sp = later("sympy")
rules = later("explainer.ops.sympy_rules")
backward_activations = later("explainer.symbolic.backward_activations")
backward_layer_norm = later("explainer.symbolic.backward_layer_norm")
backward_linear = later("explainer.symbolic.backward_linear")
sym_ffn = later("explainer.symbolic.feed_forward")
sym_layer_norm = later("explainer.symbolic.layer_norm")
m = matrices


def _layer_norm_formula() -> tuple[tuple, object]:
    s = symbols()
    args = (s.x, s.i, s.n, s.gamma, s.beta, s.eps)
    return args, sym_layer_norm.layer_norm(*args)


LINEAR = matrix_formula(
    "linear", lambda: (m.X * m.W + sp.OneMatrix(m.R, 1) * m.B, (m.X, m.W, m.B))
)
LAYER_NORM = Formula("layer_norm", _layer_norm_formula)
RELU = Formula("relu", lambda: ((symbols().z,), sym_ffn.relu(symbols().z)))
GELU = Formula("gelu", lambda: ((symbols().z,), sym_ffn.gelu(symbols().z)))


def _layer_norm(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    xs, g, b = inputs
    width = xs.shape[-1]
    f = be.function(LAYER_NORM)
    moved = np.moveaxis(be.array(xs), -1, 0)  # (d, ...)
    extra = (1,) * (moved.ndim - 1)
    out = f(
        moved,
        np.arange(width),
        width,
        be.array(g).reshape(width, *extra),
        be.array(b).reshape(width, *extra),
        be.number(ctx.eps),
    )
    return np.moveaxis(np.asarray(out), 0, -1)


def _relu(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(RELU)
    arr = be.array(inputs[0])
    if be.name != "numpy":
        return np.where(arr > 0, arr, be.number(0))
    return np.asarray(f(arr))


def _gelu(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    f = be.function(GELU)
    return np.asarray(f(be.array(inputs[0])))


# --- the SymPy rules of the gradients, lambdified --------------------------------


def input_grad() -> Callable:
    """dX = dY Wᵀ (backward_linear.input_grad)."""
    return rules.rule(
        backward_linear.input_grad, ("dY", rules.R, rules.K), ("W", rules.C, rules.K)
    )


def weight_grad() -> Callable:
    """dW = Xᵀ dY (backward_linear.weight_grad)."""
    return rules.rule(
        backward_linear.weight_grad, ("X", rules.R, rules.C), ("dY", rules.R, rules.K)
    )


def bias_grad() -> Callable:
    """db = 1ᵀ dY (backward_linear.bias_grad), called with the row count too."""
    return rules.rule(
        backward_linear.bias_grad, ("dY", rules.R, rules.K), sizes=(rules.R,)
    )


def linear_rule(kind: str, a: Sequence[np.ndarray]) -> np.ndarray:
    """The gradient of x W + b for the input ``x``, ``w`` or ``b``."""
    if kind == "x":
        return each(input_grad(), a)
    if kind == "w":
        return weight_grad()(as_rows(a[0]), as_rows(a[1]))
    dy = as_rows(a[0])
    return np.ravel(bias_grad()(dy, dy.shape[0]))


@functools.cache
def _layer_norm_rules(size: int) -> tuple[Callable, Callable, Callable]:
    """dx, dγ and dβ of ``layer_norm_backward_expr`` for one row."""
    s = symbols()
    row, grads = s.matrix("x", 1, size), s.matrix("dy", 1, size)
    gains = s.vector("gamma", size)
    args = (list(row), list(gains), list(grads), s.eps)
    exprs = backward_layer_norm.layer_norm_backward_expr(1, size)
    return tuple(rules.lambdified(args, exprs[k]) for k in ("dx", "dgamma", "dbeta"))


def _layer_norm_x(a: Sequence[np.ndarray], c) -> np.ndarray:
    x, gamma, dy = as_rows(a[0]), np.ravel(a[1]), as_rows(a[2])
    fn = _layer_norm_rules(x.shape[1])[0]
    out = [np.ravel(fn(x[r], gamma, dy[r], c.eps)) for r in range(x.shape[0])]
    return np.stack(out).reshape(a[0].shape)


def _layer_norm_param(which: int, a: Sequence[np.ndarray], c) -> np.ndarray:
    """dγ or dβ: the rule's sum over rows, one row's term at a time (the rule is
    lambdified for one row; for all rows at once SymPy takes seconds)."""
    x, dy = as_rows(a[0]), as_rows(a[-1])
    fn = _layer_norm_rules(x.shape[1])[which]
    ones = np.ones(x.shape[1])
    terms = [np.ravel(fn(x[r], ones, dy[r], c.eps)) for r in range(x.shape[0])]
    return np.sum(terms, axis=0)


def _relu_vjp(z: sp.Expr, dy: sp.Expr) -> sp.Expr:
    return dy * backward_activations.relu_grad(z)


def _gelu_vjp(z: sp.Expr, dy: sp.Expr) -> sp.Expr:
    return dy * backward_activations.gelu_grad(z)


_T, _D, _F = ex.T, ex.D_MODEL, 2 * ex.D_MODEL  # F: a hidden width (d_ff)
_ROWS = ex.context(_T, _F)


def _rows(r: np.random.Generator, width: int = _D) -> np.ndarray:
    return ex.normal(r, _T, width)


def _gain(r: np.random.Generator) -> np.ndarray:
    return 1 + 0.1 * ex.normal(r, _D)


SPECS = (
    OpSpec(
        Op.LINEAR,
        numeric=lambda a, c: numeric.linear(*a),
        formula=LINEAR,
        evaluate=matrix_op(LINEAR),
        gloss=N_("X: the input rows; 1_R b adds b to each row"),
        grads=frozen(
            {
                0: (Op.LINEAR_BACKWARD_X, ("dy", "in1")),
                1: (Op.LINEAR_BACKWARD_W, ("in0", "dy")),
                2: (Op.LINEAR_BACKWARD_B, ("dy",)),
            }
        ),
        section="ffn",
        caption="x W + b",
        scene="feed-forward",
        example=lambda r: ([_rows(r), ex.normal(r, _D, _F), ex.normal(r, _F)], _ROWS),
    ),
    OpSpec(
        Op.LAYER_NORM,
        numeric=lambda a, c: numeric.layer_norm(*a, c.eps),
        formula=LAYER_NORM,
        evaluate=_layer_norm,
        gloss=N_("entry i of each row x of length n"),
        grads=frozen(
            {
                0: (Op.LAYER_NORM_BACKWARD_X, ("in0", "in1", "dy")),
                1: (Op.LAYER_NORM_BACKWARD_GAMMA, ("in0", "dy")),
                2: (Op.LAYER_NORM_BACKWARD_BETA, ("dy",)),
            }
        ),
        section="norm",
        scene="layer-norm",
        example=lambda r: (
            [_rows(r), _gain(r), 0.1 * ex.normal(r, _D)],
            ex.context(_T, _D),
        ),
    ),
    OpSpec(
        Op.RELU,
        numeric=lambda a, c: numeric.relu(a[0]),
        formula=RELU,
        evaluate=_relu,
        gloss=N_("each entry z"),
        grads=frozen({0: (Op.RELU_BACKWARD, ("in0", "dy"))}),
        section="ffn",
        caption="ReLU",
        scene="feed-forward",
        example=lambda r: ([_rows(r, _F)], _ROWS),
    ),
    OpSpec(
        Op.GELU,
        numeric=lambda a, c: numeric.gelu(a[0]),
        formula=GELU,
        evaluate=_gelu,
        gloss=N_("each entry z"),
        grads=frozen({0: (Op.GELU_BACKWARD, ("in0", "dy"))}),
        section="ffn",
        caption="GELU",
        scene="feed-forward",
        example=lambda r: ([_rows(r, _F)], _ROWS),
    ),
    # --- gradients -----------------------------------------------------------------
    OpSpec(
        Op.LINEAR_BACKWARD_X,
        backward=True,
        numeric=lambda a, c: grad_linear.linear_backward_x(*a),
        rule="backward_linear.input_grad: dX = dY Wᵀ",
        sympy=lambda a, c: linear_rule("x", a),
        example=lambda r: ([_rows(r, _F), ex.normal(r, _D, _F)], ex.GRAD),
    ),
    OpSpec(
        Op.LINEAR_BACKWARD_W,
        backward=True,
        numeric=lambda a, c: grad_linear.linear_backward_w(*a),
        rule="backward_linear.weight_grad: dW = Xᵀ dY",
        sympy=lambda a, c: linear_rule("w", a),
        example=lambda r: ([_rows(r), _rows(r, _F)], ex.GRAD),
    ),
    OpSpec(
        Op.LINEAR_BACKWARD_B,
        backward=True,
        numeric=lambda a, c: grad_linear.linear_backward_b(*a),
        rule="backward_linear.bias_grad: db = 1ᵀ dY",
        sympy=lambda a, c: linear_rule("b", a),
        example=lambda r: ([_rows(r, _F)], ex.GRAD),
    ),
    OpSpec(
        Op.LAYER_NORM_BACKWARD_X,
        backward=True,
        numeric=lambda a, c: grad_norm.layer_norm_backward_x(*a, c.eps),
        rule="backward_layer_norm.input_grad_entry: (ĝ − mean ĝ − x̂·mean(ĝx̂))/σ̂",
        sympy=_layer_norm_x,
        example=lambda r: ([_rows(r), _gain(r), _rows(r)], ex.GRAD),
    ),
    OpSpec(
        Op.LAYER_NORM_BACKWARD_GAMMA,
        backward=True,
        numeric=lambda a, c: grad_norm.layer_norm_backward_gamma(*a, c.eps),
        rule="backward_layer_norm: dγ = Σ_rows dy ⊙ x̂",
        sympy=lambda a, c: _layer_norm_param(1, a, c),
        example=lambda r: ([_rows(r), _rows(r)], ex.GRAD),
    ),
    OpSpec(
        Op.LAYER_NORM_BACKWARD_BETA,
        backward=True,
        numeric=lambda a, c: grad_norm.layer_norm_backward_beta(*a),
        rule="backward_layer_norm: dβ = Σ_rows dy",
        sympy=lambda a, c: _layer_norm_param(2, [a[0], a[0]], c),
        example=lambda r: ([_rows(r)], ex.GRAD),
    ),
    OpSpec(
        Op.RELU_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad_act.relu_backward(*a),
        rule="backward_activations.relu_grad: dy·H(z)",
        sympy=lambda a, c: rules.rule(_relu_vjp, rules.z, rules.dy)(*a),
        example=lambda r: ([_rows(r, _F), _rows(r, _F)], ex.GRAD),
    ),
    OpSpec(
        Op.GELU_BACKWARD,
        backward=True,
        numeric=lambda a, c: grad_act.gelu_backward(*a),
        rule="backward_activations.gelu_grad: dy·(Φ(z) + z φ(z))",
        sympy=lambda a, c: rules.rule(
            _gelu_vjp,
            rules.z,
            rules.dy,
            modules=("scipy", "numpy"),  # erf
        )(*a),
        example=lambda r: ([_rows(r, _F), _rows(r, _F)], ex.GRAD),
    ),
)
