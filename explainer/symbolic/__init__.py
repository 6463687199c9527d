"""Every formula of the Transformer as SymPy, with derivation steps SymPy proves.

Each module defines one formula as plain functions that return SymPy objects
(named after what they return, citing their source, with a doctest), a small
concrete ``*_expr`` form to ``sp.lambdify`` and evaluate on arrays, and a
``derivation()`` whose steps :meth:`Derivation.check` proves.  The machinery:
``symbols`` (shared symbols), ``derivation`` (Step, Derivation), ``tactics``
(the SymPy transforms a step names) and ``render`` (Unicode and LaTeX).

>>> sorted(DERIVATIONS) == list_derivations()
True
>>> get_derivation("softmax").title
'Softmax'

Forward-pass ops and the formulas that specify them
----------------------------------------------------
Row-vector convention throughout: a row is a 1 × d matrix and W is d_in × d_out.
Names like ``matrix("Q", T_q, d_k)`` are the argument symbols of an ``*_expr``
(see :mod:`explainer.symbolic.symbols`); lambdify once per shape and reuse.

==================  ==========================================================
op                  formula
==================  ==========================================================
one_hot             ``embedding.one_hot_expr(V)`` (Piecewise in ``t``);
                    ``embedding.one_hot`` (Kronecker deltas)
embedding           ``embedding.embedding_expr(V, d_model)`` = one_hot @ E
scale_embedding     ``embedding.scale_embedding(row, d_model)`` = row·√d_model
positional_encoding ``positional_encoding.positional_encoding_expr()`` in
                    (pos, col, d_model); ``positional_encoding_matrix(n, d)``;
                    ``pe_sin``/``pe_cos`` for columns 2i and 2i+1
add                 ``residual.residual_expr(rows, cols)`` = x + y (residuals
                    and embedding + PE)
project_heads       ``multi_head.linear_expr(T, d_model, d_model)`` then column
                    split: column c of head h is ``multi_head.head_column(h, c,
                    d_k)``
qk, scale           ``attention.scores_expr(T_q, T_k, d_k)`` = QKᵀ/√d_k
causal_mask         ``attention.causal_mask(i, j)`` = (j ≤ i)
no_mask             every (i, j) allowed
apply_mask          ``attention.masked_score(score, allowed)`` (−∞ elsewhere)
softmax             ``softmax.softmax_expr(n)`` over the last axis
attend              ``attention.attention_expr(T_q, T_k, d_k, d_v)`` =
                    softmax(QKᵀ/√d_k)·V
concat_heads        ``multi_head.concat_heads_expr(T, n_heads, d_v)``
linear              ``multi_head.linear_expr(rows, d_in, d_out)`` = x W + b
layer_norm          ``layer_norm.layer_norm_expr(n)`` (biased variance, ε, γ, β)
relu                ``feed_forward.relu(z)`` = max(0, z);
                    ``feed_forward.feed_forward_expr(rows, d_model, d_ff)``
gelu                ``feed_forward.gelu(z)`` = z·Φ(z), exact erf form (the
                    float32 kernel's erfc form and error: ``gelu.gelu_erfc``)
logits              ``output.logits_expr(d_model, V)`` = h Eᵀ (tied)
rms_norm            ``rms_norm.rms_norm(x, i, n, gamma, eps)`` (Llama)
rope_angles, rope   ``rope.angle(m, omega)``; ``rope.rope_pair(x_2i, x_2i+1, θ)``
repeat_kv           ``gqa.kv_head(j, r)`` = ⌊j / r⌋
swiglu              ``swiglu.swiglu(gate, up)`` = SiLU(gate)·up
argmax              no formula: an index, compared exactly
==================  ==========================================================

Backward rules and the functions that give them
-----------------------------------------------
Each ``backward_*`` module (and ``adam``) defines its gradients once, as functions
of SymPy matrices (symbolic or explicit) plus an ``*_expr`` form to lambdify;
its derivation proves them (``build`` takes the rules, so a wrong one can be
planted).  dY is ∂L/∂(the forward output).

======================  ======================================================
derivation              rules
======================  ======================================================
backward-linear         ``input_grad(dY, W)``, ``weight_grad(X, dY)``,
                        ``bias_grad(dY)``; ``linear_backward_expr``
backward-softmax        ``softmax_vjp``, ``vjp_entry``; ``softmax_vjp_expr(n)``
backward-attention      ``value_grad``, ``weights_grad``, ``scores_grad``,
                        ``query_grad``, ``key_grad``; ``attention_backward_expr``
backward-multi-head     ``split_grad(dC, h)``, ``concat_grad(dheads)``
backward-layer-norm     ``input_grad_entry``; ``layer_norm_backward_expr``
backward-activations    ``relu_grad(z)``, ``gelu_grad(z)``;
                        ``activation_backward_expr``
backward-residual       ``residual_grads(dY)``
backward-embedding      ``table_grad``, ``tied_table_grad``;
                        ``embedding_backward_expr(tokens, V, d_model)``
backward-cross-entropy  ``logits_grad(p, y, count)``;
                        ``cross_entropy_backward_expr(n)``
adam                    ``first_moment``, ``second_moment``, ``bias_corrected``,
                        ``adam_step``; ``adam_update_expr()``
======================  ======================================================
"""

from __future__ import annotations

from collections.abc import Callable

from explainer.i18n import _

from . import (
    adam,
    attention,
    backward_activations,
    backward_attention,
    backward_cross_entropy,
    backward_embedding,
    backward_layer_norm,
    backward_linear,
    backward_multi_head,
    backward_residual,
    backward_softmax,
    embedding,
    feed_forward,
    gelu,
    gqa,
    layer_norm,
    multi_head,
    output,
    positional_encoding,
    residual,
    rms_norm,
    rope,
    softmax,
    swiglu,
)
from .derivation import Derivation, Step, StepResult, passed
from .numpy_names import prefill

# lambdify's "numpy" namespace without `from numpy import *` (numpy_names.py)
prefill()

DERIVATIONS: dict[str, Callable[[], Derivation]] = {
    "softmax": softmax.derivation,
    "scaled-dot-product-attention": attention.derivation,
    "multi-head": multi_head.derivation,
    "positional-encoding": positional_encoding.derivation,
    "layer-norm": layer_norm.derivation,
    "feed-forward": feed_forward.derivation,
    "gelu": gelu.derivation,
    "residual-norm": residual.derivation,
    "embedding": embedding.derivation,
    "output": output.derivation,
    "rms-norm": rms_norm.derivation,
    "rope": rope.derivation,
    "gqa": gqa.derivation,
    "swiglu": swiglu.derivation,
    # Backward rules (issue 13): the gradients training needs.
    "backward-linear": backward_linear.derivation,
    "backward-softmax": backward_softmax.derivation,
    "backward-attention": backward_attention.derivation,
    "backward-activations": backward_activations.derivation,
    "backward-cross-entropy": backward_cross_entropy.derivation,
    "backward-multi-head": backward_multi_head.derivation,
    "backward-residual": backward_residual.derivation,
    "backward-layer-norm": backward_layer_norm.derivation,
    "adam": adam.derivation,
    "backward-embedding": backward_embedding.derivation,
}
"""Derivation factories by kebab-case name, in the order of the paper's data flow
through a block (each factory is cached: call it freely)."""


def list_derivations() -> list[str]:
    """The names ``explainer derive`` accepts, sorted.

    >>> list_derivations()[-3:]
    ['scaled-dot-product-attention', 'softmax', 'swiglu']
    """
    return sorted(DERIVATIONS)


def get_derivation(name: str) -> Derivation:
    """The derivation called ``name``.

    >>> get_derivation("attention")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown derivation 'attention'; valid: ..., embedding, feed-forward, ...
    """
    try:
        factory = DERIVATIONS[name]
    except KeyError:
        valid = ", ".join(list_derivations())
        raise ValueError(
            _("unknown derivation {name}; valid: {valid}").format(
                name=repr(name), valid=valid
            )
        ) from None
    return factory()


__all__ = [
    "DERIVATIONS",
    "Derivation",
    "Step",
    "StepResult",
    "get_derivation",
    "list_derivations",
    "passed",
]
