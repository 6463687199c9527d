"""The FFN's formula as the scene shows it, for each activation the models use:
ReLU (the paper), GELU (BERT) and SwiGLU (Llama), built from the SymPy objects of
:mod:`explainer.symbolic.feed_forward` and :mod:`explainer.symbolic.swiglu`.

>>> ffn_lines("gelu")[0]
'\\\\mathrm{FFN}(x) = \\\\mathrm{GELU}\\\\left(x W_{1} + b_{1}\\\\right) W_{2} + b_{2}'
"""

from __future__ import annotations

import sympy as sp
from explainer.scenes.common import formula_lines

from explainer.symbolic import get_derivation
from explainer.symbolic.render import latex
from explainer.symbolic.swiglu import silu, swiglu
from explainer.symbolic.symbols import d_ff, d_model, z

x_row = sp.MatrixSymbol("x", 1, d_model)
W_1, W_2 = sp.MatrixSymbol("W_1", d_model, d_ff), sp.MatrixSymbol("W_2", d_ff, d_model)
b_1, b_2 = sp.MatrixSymbol("b_1", 1, d_ff), sp.MatrixSymbol("b_2", 1, d_model)
W_gate = sp.MatrixSymbol("W_gate", d_model, d_ff)
W_up = sp.MatrixSymbol("W_up", d_model, d_ff)
gate, up = sp.symbols("g u", real=True)  # one entry of x W_gate and of x W_up


def ffn_lines(activation: str) -> list[str]:
    """LaTeX lines: the FFN, then its activation entry by entry."""
    paper = formula_lines(get_derivation("feed-forward").formula)
    if activation == "relu":
        return paper[:1]
    if activation == "gelu":
        inner = latex(x_row * W_1 + b_1)
        ffn = (
            rf"\mathrm{{FFN}}(x) = \mathrm{{GELU}}\left({inner}\right) "
            rf"{latex(W_2)} + {latex(b_2)}"
        )
        return [ffn, paper[1]]
    if activation == "swiglu":
        gated, lifted = latex(x_row * W_gate), latex(x_row * W_up)
        ffn = (
            rf"\mathrm{{FFN}}(x) = \left(\mathrm{{SiLU}}\left({gated}\right) "
            rf"\odot {lifted}\right) {latex(W_2)}"
        )
        entry = latex(sp.Eq(sp.Function("SwiGLU")(gate, up), swiglu(gate, up)))
        return [ffn, entry]
    raise ValueError(f"no FFN formula for activation {activation!r}")


def silu_latex() -> str:
    """SiLU(z) = z / (1 + e^(−z))."""
    return latex(sp.Eq(sp.Function("SiLU")(z), silu(z)))
