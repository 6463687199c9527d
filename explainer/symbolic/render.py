"""Rendering: SymPy objects as Unicode art and LaTeX, for ``explainer derive``.

>>> x = sp.IndexedBase("x")
>>> print(pretty(x[sp.Symbol("i")] + 1))
xᵢ + 1
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.core.add import _addsort
from sympy.core.mul import _mulsort
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import (
    LatexPrinter,
    accepted_latex_functions,
    greek_letters_set,
    modifier_dict,
)
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm, stringPict

from .symbols import _Named


class _UnicodePrinter(PrettyPrinter):
    """SymPy's pretty printer, with ``x[i]`` shown as ``xᵢ`` where Unicode allows,
    and sums in reading order (:func:`reading_terms`)."""

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list:
        return reading_terms(expr)

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


def use_ascii(on: bool = True) -> None:
    """Draw with ASCII characters only (for a terminal that cannot show Unicode),
    or with Unicode again."""
    from sympy.printing.pretty.pretty_symbology import pretty_use_unicode

    _SETTINGS["use_unicode"] = not on
    pretty_use_unicode(not on)


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


# --- reading order -----------------------------------------------------------------
# SymPy stores an evaluated sum or product in its canonical order (``-mu + x``,
# ``(x - mu)*gamma``).  A learner reads the paper's order: ``x − μ``, ``γ(x − μ)``.
# An expression built unevaluated (``sp.Add(..., evaluate=False)``) prints as built;
# a canonical one is reordered by the rules below.  The object is never changed:
# the printers only choose the order in which to print its arguments.


def _canonical(expr: sp.Basic) -> bool:
    """Whether ``expr``'s arguments are in SymPy's canonical (evaluated) order."""
    args = list(expr.args)
    if isinstance(expr, sp.Add):
        _addsort(args)
    else:
        _mulsort(args)
    return args == list(expr.args)


def _bias_like(term: sp.Basic) -> bool:
    """A matrix term added last: a bare symbol (``b``) or broadcast (``1_R b``)."""
    if isinstance(term, sp.MatrixSymbol):
        return True
    return isinstance(term, sp.MatMul) and isinstance(term.args[0], sp.OneMatrix)


def reading_terms(expr: sp.Basic) -> list[sp.Basic]:
    """The terms of a sum in reading order: as built when built unevaluated in an
    order SymPy would not keep; otherwise SymPy's order with subtracted terms after
    added ones (``x − μ``), lone letters after products (``γ x̂ + β``; but
    ``x + Sublayer(x)`` and ``a² + 2a + 1`` as SymPy orders them) and a matrix sum's
    bias last (``x W + b``).

    >>> mu, x = sp.symbols("mu x")
    >>> reading_terms(x - mu)
    [x, -mu]
    >>> reading_terms(sp.Add(mu, x, evaluate=False))
    [mu, x]
    """
    if isinstance(expr, sp.MatAdd):
        terms = list(expr.args)
    elif not _canonical(expr):
        return list(expr.args)
    else:
        terms = expr.as_ordered_terms()
    products = any(isinstance(t, sp.Mul | sp.MatMul) for t in terms)

    def rank(term: sp.Basic) -> tuple[bool, bool, bool]:
        """Added before subtracted; in a sum with products, a lone letter after
        them (γ x̂ + β, Σ/n + ε); a matrix bias last."""
        lone = isinstance(term, sp.Symbol | sp.Indexed | sp.MatrixSymbol)
        return term.could_extract_minus_sign(), products and lone, _bias_like(term)

    return sorted(terms, key=rank)


def _factor_rank(factor: sp.Basic) -> int:
    """Numbers, then letters (x, π, σ², x_k), then functions and powers of numbers
    (sin, erfc, 10000^…), then parenthesised sums."""
    if factor.is_Number:
        return 0
    base = factor.base if isinstance(factor, sp.Pow) else factor
    if isinstance(base, sp.Add) or (
        isinstance(factor, sp.Pow) and isinstance(base, sp.Mul)
    ):
        return 3
    if base.is_Number or (isinstance(base, sp.Function) and not _is_name(base)):
        return 2
    return 1


def _is_name(expr: sp.Basic) -> bool:
    """A function printed as a bare name (``depending``'s μ)."""
    return isinstance(expr, _Named)


def reading_factors(expr: sp.Mul) -> list[sp.Basic]:
    """The factors of a product in reading order: as built when built unevaluated;
    otherwise number, letters, functions, sums (``2iπ``, ``γ(x − μ)``,
    ``z erfc(z)``).

    >>> gamma, mu, x = sp.symbols("gamma mu x")
    >>> reading_factors(gamma * (x - mu))
    [gamma, -mu + x]
    """
    if not _canonical(expr):
        return list(expr.args)
    return sorted(expr.args, key=_factor_rank)


def split_product(expr: sp.Mul) -> tuple[list[sp.Basic], list[sp.Basic]]:
    """The factors of the numerator and the denominator, each in reading order
    (``pos·10000^(−2i/d)`` has ``10000^(2i/d)`` below the bar).

    >>> split_product(3 * sp.Symbol("x") / (2 * sp.Symbol("y")))
    ([3, x], [2, y])
    """
    numer: list[sp.Basic] = []
    denom: list[sp.Basic] = []
    for factor in reading_factors(expr):
        if factor.is_Rational and not factor.is_Integer:
            if factor.p != 1:
                numer.append(sp.Integer(factor.p))
            denom.insert(0, sp.Integer(factor.q))
        elif isinstance(factor, sp.Pow) and factor.exp.could_extract_minus_sign():
            exp = -factor.exp
            denom.append(factor.base if exp == 1 else sp.Pow(factor.base, exp))
        else:
            numer.append(factor)
    return numer, denom


_WORD = re.compile(r"^([^\W\d_]{2,})(?:_(\w+))?\((.*)\)(?:_\{?(.*?)\}?)?$")


def word_call(name: str) -> tuple[str, str, str, str] | None:
    """(word, its subscript, arguments, subscript after) for a symbol named like a
    call, ``LN(x)_i`` or ``GELU_tanh(z)``: the word is printed upright.

    >>> word_call("LN(x)_i"), word_call("GELU_tanh(z)"), word_call("x")
    (('LN', '', 'x', 'i'), ('GELU', 'tanh', 'z', ''), None)
    """
    match = _WORD.match(name)
    return tuple(part or "" for part in match.groups()) if match else None  # type: ignore[return-value]


def is_word(text: str) -> bool:
    """A name of two or more letters that is not a Greek letter nor ``xhat``-like.

    >>> is_word("pos"), is_word("mu"), is_word("xhat"), is_word("x")
    (True, False, False, False)
    """
    if len(text) < 2 or not text.isalpha() or text.lower() in greek_letters_set:
        return False
    return not any(
        text.lower().endswith(mod) and len(text) > len(mod) for mod in modifier_dict
    )


class ReadingLatexPrinter(LatexPrinter):
    """SymPy's LaTeX in reading order (:func:`reading_terms`,
    :func:`reading_factors`), with ``·`` where digits or words would run together,
    fractions in exponents written inline (``10000^{2i/d_{model}}``) and words
    upright (``\\mathrm{pos}``, ``\\operatorname{LN}(x)``)."""

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list:
        return reading_terms(expr)

    def _product(self, factors: list[sp.Basic]) -> str:
        if len(factors) == 1:
            return self._print(factors[0])
        tex = ""
        for index, factor in enumerate(factors):
            term = self._print(factor)
            if self._needs_mul_brackets(
                factor, first=index == 0, last=index == len(factors) - 1
            ):
                term = rf"\left({term}\right)"
            if tex:
                words = tex.endswith("}") and r"\mathrm{" in tex.rsplit(" ", 1)[-1]
                if term[0].isdigit() or term.startswith("-"):
                    tex += r" \cdot "
                elif words or term.startswith(r"\mathrm"):
                    tex += r" \, "
                else:
                    tex += " "
            tex += term
        return tex or "1"

    def _print_Mul(self, expr: sp.Expr) -> str:
        if not isinstance(expr, sp.Mul):
            return super()._print_Mul(expr)
        if expr.could_extract_minus_sign():
            positive = -expr
            tex = self._print(positive)
            return f"- {tex}" if not isinstance(positive, sp.Add) else rf"- ({tex})"
        numer, denom = split_product(expr)
        if not denom:
            return self._product(numer)
        return rf"\frac{{{self._product(numer)}}}{{{self._product(denom)}}}"

    def _print_Pow(self, expr: sp.Pow) -> str:
        if isinstance(expr.exp, sp.Mul):
            sign = "- " if expr.exp.could_extract_minus_sign() else ""
            numer, denom = split_product(-expr.exp if sign else expr.exp)
            if denom:
                base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)
                over = self._product(denom)
                if len(denom) > 1:
                    over = rf"\left({over}\right)"
                return f"{base}^{{{sign}{self._product(numer)} / {over}}}"
        return super()._print_Pow(expr)

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        """``QKᵀ/√d_k`` rather than ``1/√d_k QKᵀ``; on one line (``QKᵀ / √d_k``)
        with the setting ``fold_short_frac=True``."""
        scalar, matrices = expr.as_coeff_matrices()
        if scalar != 1 and not scalar.could_extract_minus_sign():
            numer, denom = split_product(sp.Mul(scalar, sp.Dummy()))
            if denom:
                numer = [f for f in numer if not isinstance(f, sp.Dummy)]
                top = " ".join(
                    [self._product(numer)] * bool(numer)
                    + [self._print(sp.MatMul(*matrices))]
                )
                if self._settings.get("fold_short_frac"):
                    return f"{top} / {self._product(denom)}"
                return rf"\frac{{{top}}}{{{self._product(denom)}}}"
        return super()._print_MatMul(expr)

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        call = word_call(expr.name)
        if call is not None:
            word, sub, args, after = call
            tex = rf"\operatorname{{{word}}}"
            if sub:
                tex += f"_{{{self._word(sub)}}}"
            tex += rf"\left({args}\right)"
            return tex + (f"_{{{after}}}" if after else "")
        name, supers, subs = split_super_sub(expr.name)
        if name == "epsilon" and not supers and not subs:
            return r"\varepsilon"  # the paper's ε (SymPy prints ϵ)
        if is_word(name):
            tex = rf"\mathrm{{{name}}}"
            if subs:
                tex += "_{" + " ".join(self._word(s) for s in subs) + "}"
            if supers:
                tex += "^{" + " ".join(self._word(s) for s in supers) + "}"
            return tex
        if any(is_word(sub) for sub in subs):
            tex = self._print(sp.Symbol(name + "".join(f"^{p}" for p in supers)))
            return tex + "_{" + " ".join(self._word(s) for s in subs) + "}"
        return super()._print_Symbol(expr, style=style)

    def _word(self, text: str) -> str:
        if is_word(text) or re.fullmatch(r"[^\W\d_]{2,}\d+", text):
            return rf"\mathrm{{{text}}}"
        return self._print(sp.Symbol(text))

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        name = type(expr).__name__
        if is_word(name) and not hasattr(self, f"_print_{name}"):
            if name not in accepted_latex_functions:
                args = ", ".join(self._print(arg) for arg in expr.args)
                head = rf"\operatorname{{{name}}}"
                if exp is not None:
                    head += f"^{{{exp}}}"
                return rf"{head}\left({args}\right)"
        return super()._print_Function(expr, exp=exp)


def latex(expr: sp.Basic, **settings: object) -> str:
    """``expr`` as LaTeX in reading order (:class:`ReadingLatexPrinter`), for the
    videos and ``explainer derive --latex``.

    >>> gamma, beta, mu, x, eps, s2 = sp.symbols("gamma beta mu x epsilon sigma^2")
    >>> print(latex(sp.Add(gamma * (x - mu) / sp.sqrt(sp.Add(s2, eps, evaluate=False)),
    ...                    beta, evaluate=False)))
    \\frac{\\gamma \\left(x - \\mu\\right)}{\\sqrt{\\sigma^{2} + \\varepsilon}} + \\beta
    """
    return ReadingLatexPrinter(settings).doprint(expr)
