"""The ops at the end of the pass: the logits h Eᵀ (§3.4, the output projection
tied to the embedding), the predicted token; and the loss with its gradient."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType as frozen

import numpy as np

from explainer import numeric
from explainer.backward import linear as grad_linear
from explainer.backward import loss
from explainer.i18n import N_
from explainer.ops import examples as ex
from explainer.ops.context import Context
from explainer.ops.formula import later
from explainer.ops.lambdified import Backend, matrices, matrix_formula, matrix_op
from explainer.ops.layers import input_grad, weight_grad
from explainer.ops.spec import OpSpec
from explainer.trace import Op

rules = later("explainer.ops.sympy_rules")
backward_cross_entropy = later("explainer.symbolic.backward_cross_entropy")
sym_output = later("explainer.symbolic.output")
m = matrices

LOGITS = matrix_formula("logits", lambda: (sym_output.logits(m.H, m.EM), (m.H, m.EM)))


def _argmax(inputs: Sequence[np.ndarray], ctx: Context, be: Backend):
    arr = be.array(inputs[0])
    if arr.dtype == object:  # mpmath numbers: Python's max, one row at a time
        rows = arr.reshape(-1, arr.shape[-1])
        best = [max(range(len(r)), key=r.__getitem__) for r in rows]
        return np.array(best).reshape(arr.shape[:-1])
    return np.argmax(arr, axis=-1)


def _cross_entropy_grad(a: Sequence[np.ndarray]) -> np.ndarray:
    """backward_cross_entropy.logits_grad, (p − y)/T, with y the labels' one-hot
    rows."""
    probs, labels = a
    target = np.zeros_like(probs)
    np.put_along_axis(target, labels[..., None], 1.0, axis=-1)  # one-hot y
    fn = rules.rule(backward_cross_entropy.logits_grad, rules.p, rules.y, rules.n)
    return fn(probs, target, labels.size)


_T, _D, _V = ex.T, ex.D_MODEL, ex.VOCAB

SPECS = (
    OpSpec(
        Op.LOGITS,
        numeric=lambda a, c: numeric.logits(*a),
        formula=LOGITS,
        evaluate=matrix_op(LOGITS),
        gloss=N_("H: the last rows, E: the embedding matrix"),
        grads=frozen(
            {
                0: (Op.LOGITS_BACKWARD_H, ("dy", "in1")),
                1: (Op.LOGITS_BACKWARD_E, ("in0", "dy")),
            }
        ),
        section="logits",
        scene="output",
        example=lambda r: (
            [ex.normal(r, _T, _D), ex.normal(r, _V, _D)],
            ex.context(_T, _V),
        ),
    ),
    OpSpec(
        Op.ARGMAX,  # no SymPy formula: verify takes NumPy's (or mpmath's) largest
        numeric=lambda a, c: numeric.argmax(a[0]),
        evaluate=_argmax,
        exact=True,
        section="prediction",
        scene="output",
    ),
    # --- the loss and its gradient -----------------------------------------------
    OpSpec(
        Op.LABELS,  # integers: checked exactly, no SymPy rule
        backward=True,
        numeric=lambda a, c: loss.next_token_labels(a[0], c.eos_id, shift=c.shift),
        exact=True,
    ),
    OpSpec(
        Op.CROSS_ENTROPY,  # the loss: checked by the finite differences
        backward=True,
        numeric=lambda a, c: loss.cross_entropy(a[0], a[1]),
    ),
    OpSpec(
        Op.CROSS_ENTROPY_BACKWARD,
        backward=True,
        numeric=lambda a, c: loss.cross_entropy_backward(*a),
        rule="backward_cross_entropy.logits_grad: (p − y)/T",
        sympy=lambda a, c: _cross_entropy_grad(a),
        example=lambda r: ([ex.probs(r, _T, _V), ex.ids(r)], ex.GRAD),
    ),
    OpSpec(
        Op.LOGITS_BACKWARD_H,
        backward=True,
        numeric=lambda a, c: grad_linear.logits_backward_h(*a),
        rule="backward_linear.input_grad with W = Eᵀ: dh = dZ E",
        sympy=lambda a, c: rules.each(input_grad(), [a[0], a[1].T]),
        example=lambda r: ([ex.normal(r, _T, _V), ex.normal(r, _V, _D)], ex.GRAD),
    ),
    OpSpec(
        Op.LOGITS_BACKWARD_E,
        backward=True,
        numeric=lambda a, c: grad_linear.logits_backward_e(*a),
        rule="backward_linear.weight_grad with W = Eᵀ: dE = (hᵀ dZ)ᵀ",
        sympy=lambda a, c: weight_grad()(rules.as_rows(a[0]), rules.as_rows(a[1])).T,
        example=lambda r: ([ex.normal(r, _T, _D), ex.normal(r, _T, _V)], ex.GRAD),
    ),
)
