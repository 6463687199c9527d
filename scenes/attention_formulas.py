"""The formulas the attention scenes show, as the trace computed them.

A causal self-attention adds the mask M to its scaled scores, so its formula shows
``+ M``; a projection whose bias the model has shows ``+ b`` (Llama, SmolLM2, has
none: its bias parameters are zeros). The choice reads the trace, as the report's
formulas do: the op that made the ``.mask`` stage, the bias parameters' values.
Heads are numbered from 0, as the report and the stage names number them (the
report's ``head 0`` is the paper's head_1), so that a learner finds the head of a
video in the report. The LaTeX comes from SymPy objects
(:mod:`explainer.symbolic.attention`).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from explainer.symbolic.attention import attention_equation, causal_mask, mask_entry
from explainer.symbolic.render import latex
from explainer.symbolic.symbols import T_k, T_q, d_k, d_model, i, j
from explainer.trace import Op, Trace


def is_masked(trace: Trace, prefix: str) -> bool:
    """Whether the attention at ``prefix`` adds a mask to its scores (a causal or
    padding mask; not an encoder's or cross-attention's allow-all)."""
    return trace.stage(f"{prefix}.mask").op != Op.NO_MASK


def has_bias(trace: Trace, prefix: str, which: str) -> bool:
    """Whether any of the biases ``b_<w>`` (w in ``which``, e.g. ``"qkv"``) of the
    attention at ``prefix`` is non-zero in the trace."""
    return any(np.any(trace[f"{prefix}.b_{w}"]) for w in which)


def attention_lines(masked: bool) -> list[str]:
    """Attention(Q, K, V) =, then softmax(QKᵀ/√d_k (+ M)) V: two lines, beside the
    title and the corner map."""
    formula = attention_equation(masked)
    return [latex(formula.lhs) + " =", r"\quad " + latex(formula.rhs)]


def mask_latex() -> str:
    """M_ij = 0 where j ≤ i, −∞ elsewhere: the causal mask as a matrix."""
    return f"M_{{ij}} = {latex(mask_entry(causal_mask(i, j)))}"


def scores_latex(scaled: bool = True, masked: bool = False) -> str:
    r"""QKᵀ, QKᵀ/√d_k or QKᵀ/√d_k + M: the names of the scores as they change, on
    one line (beside or under a matrix).

    >>> print(scores_latex(masked=True))
    Q K^{T} / \sqrt{d_{k}} + M
    """
    q, k = sp.MatrixSymbol("Q", T_q, d_k), sp.MatrixSymbol("K", T_k, d_k)
    scores = q * k.T / sp.sqrt(d_k) if scaled else q * k.T
    if masked:
        scores = scores + sp.MatrixSymbol("M", T_q, T_k)
    return latex(scores, fold_short_frac=True)


def head_latex(h: int) -> str:
    """head_h, numbered from 0 as in the report."""
    return latex(sp.Symbol(f"head_{h}"))


def multi_head_latex(n_heads: int, bias: bool = True) -> str:
    """MultiHead(X) = Concat(head_0, …, head_{h−1}) W^O + b^O for this many heads
    (without + b^O if the model has no bias), heads numbered from 0."""
    shown = min(n_heads, 3)
    heads = [sp.Symbol(f"head_{h}") for h in range(shown)]
    if n_heads > shown:
        heads += [sp.Symbol(r"\dots"), sp.Symbol(f"head_{n_heads - 1}")]
    concat = sp.Function("Concat")(*heads)
    rhs = sp.Mul(concat, sp.Symbol("W^O"), evaluate=False)
    if bias:
        rhs = sp.Add(rhs, sp.Symbol("b^O"), evaluate=False)
    lhs = sp.Function("MultiHead")(sp.Symbol("X"))
    return f"{latex(lhs)} = {latex(rhs, order='none')}"


def cross_parts(bias: bool = True) -> tuple[sp.Eq, sp.Eq, sp.Eq]:
    """Q from the decoder rows Y, K and V from the encoder output M, each
    ``+ b`` if the model has biases (every encoder-decoder here has them)."""
    y = sp.MatrixSymbol("Y", T_q, d_model)
    m = sp.MatrixSymbol("M", T_k, d_model)
    parts = []
    for name, src, rows in (("Q", y, T_q), ("K", m, T_k), ("V", m, T_k)):
        rhs = src * sp.MatrixSymbol(f"W^{name}", d_model, d_k)
        if bias:
            rhs = rhs + sp.MatrixSymbol(f"b^{name}", rows, d_k)
        parts.append(sp.Eq(sp.MatrixSymbol(name, rows, d_k), rhs))
    return tuple(parts)


def cross_latex(bias: bool) -> str:
    """Q from the decoder rows Y, K and V from the encoder output M."""
    return r",\quad ".join(latex(p) for p in cross_parts(bias))
