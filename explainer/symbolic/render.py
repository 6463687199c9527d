"""Rendering: SymPy objects as Unicode art and LaTeX, for ``explainer derive``.

>>> x = sp.IndexedBase("x")
>>> print(pretty(x[sp.Symbol("i")] + 1))
xᵢ + 1
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict


class _UnicodePrinter(PrettyPrinter):
    """SymPy's pretty printer, with ``x[i]`` shown as ``xᵢ`` where Unicode allows."""

    def _print_Indexed(self, expr: sp.Indexed) -> prettyForm:
        labels = [sp.sstr(index).replace(" ", "") for index in expr.indices]
        short = all(len(label) == 1 for label in labels)
        joined = "".join(labels) if short else ",".join(labels)
        return self._print(sp.Symbol(f"{expr.base.label}_{joined}"))

    def _print_MatrixElement(self, expr: sp.MatrixElement) -> prettyForm:
        if not isinstance(expr.parent, sp.MatrixSymbol):
            return super()._print_MatrixElement(expr)
        return self._print_Indexed(sp.IndexedBase(expr.parent.name)[expr.i, expr.j])


_SETTINGS = {"use_unicode": True, "wrap_line": False}


def pretty(expr: sp.Basic) -> str:
    """``expr`` as Unicode art (no line wrapping)."""
    return _UnicodePrinter(_SETTINGS).doprint(expr)


def pretty_equation(lhs: sp.Basic, rhs: sp.Basic, show_lhs: bool) -> str:
    """``lhs = rhs`` as Unicode art; with ``show_lhs`` False the lhs is blanked, so a
    chain of steps reads ``= rhs`` aligned under the first equation."""
    printer = _UnicodePrinter(_SETTINGS)
    left = printer._print(lhs)
    if not show_lhs:
        left = prettyForm(" " * left.width())
    joined = prettyForm(*stringPict.next(left, " = ", printer._print(rhs)))
    return joined.render(wrap_line=False)


_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_text(text: str) -> str:
    """Plain text escaped for LaTeX's text mode (``\\text{…}``, ``\\paragraph``).

    >>> print(latex_text("d_k & 50%"))
    d\\_k \\& 50\\%
    """
    return "".join(_LATEX_SPECIALS.get(char, char) for char in text)
