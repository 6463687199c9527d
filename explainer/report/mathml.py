"""MathML from the SymPy objects that ``verify`` checks and ``derive`` proves.

SymPy's presentation-MathML printer, with the few objects it prints poorly (or
not at all in MathML Core, the part Chromium renders natively) given a proper form:
``Piecewise`` as a brace with cases, ``Subs`` as a vertical bar, expectations and
variances, the row-wise softmax, and entities replaced by the characters they name.
Sums and products print in reading order (``x − μ``, ``γ(x − μ)``, ``x W + b``; see
:func:`~explainer.symbolic.render.reading_terms`), with ``·`` where digits or words
would run together (``2·10000``, ``z·erfc(z)``) and fractions in exponents inline
(``10000^(2i/d_model)``), so no script is smaller than one level down.
No JavaScript math library is needed: the browser lays out ``<math>`` itself.

>>> import sympy as sp
>>> print(mathml(sp.sqrt(sp.Symbol("d_k"))))
<math display="block"><msqrt><msub><mi>d</mi><mi>k</mi></msub></msqrt></math>
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import TYPE_CHECKING
from xml.dom import minidom

import sympy as sp
from markupsafe import Markup
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.printing.precedence import PRECEDENCE

from explainer.symbolic.render import (
    reading_terms,
    split_product,
    word_call,
)
from explainer.symbolic.symbols import _Named

if TYPE_CHECKING:  # sympy.stats takes 0.1 s to import; printers dispatch by name
    from sympy.stats.rv import RandomSymbol
    from sympy.stats.symbolic_probability import Expectation, Variance

__all__ = ["equation", "mathml"]


class _Printer(MathMLPresentationPrinter):
    """Presentation MathML restricted to what MathML Core renders."""

    def __init__(self) -> None:
        super().__init__({"fold_frac_powers": True})  # x^(3/2) with 3/2 inline

    def _el(self, tag: str, *children: minidom.Node, text: str | None = None):
        node = self.dom.createElement(tag)
        if text is not None:
            node.appendChild(self.dom.createTextNode(text))
        for child in children:
            node.appendChild(child)
        return node

    def _row(self, *children: minidom.Node) -> minidom.Element:
        return self._el("mrow", *children)

    def _mo(self, text: str) -> minidom.Element:
        return self._el("mo", text=text)

    def _call(self, name: str, *args: sp.Basic, brackets: str = "()"):
        inner = [self._print(args[0])]
        for arg in args[1:]:
            inner += [self._mo(","), self._print(arg)]
        return self._row(
            self._el("mi", text=name),
            self._row(self._mo(brackets[0]), *inner, self._mo(brackets[1])),
        )

    def _print_Symbol(self, sym: sp.Symbol, style: str = "plain") -> minidom.Element:
        """As SymPy prints it, with ``xhat`` shown as x̂ and a name like ``LN(x)_i``
        as the upright word applied to its arguments."""
        call = word_call(sym.name)
        if call is not None:
            word, sub, args, after = call
            head: minidom.Element = self._el("mi", text=word)
            if sub:
                head = self._el("msub", head, self._el("mi", text=sub))
            inner: list[minidom.Node] = []
            for arg in args.split(","):
                if inner:
                    inner.append(self._mo(","))
                inner.append(self._el("mi", text=arg.strip()))
            node = self._row(head, self._mo("("), *inner, self._mo(")"))
            if after:
                node = self._el("msub", node, self._el("mi", text=after))
            return node
        hat = re.match(r"^([^\W\d_]+?)hat(.*)$", sym.name)
        if hat:
            sym = sp.Symbol(f"{hat[1]}\u0302{hat[2]}")
        return super()._print_Symbol(sym, style=style)

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> minidom.Element:
        """Terms in reading order: ``x − μ``, ``x W + b``."""
        parts: list[minidom.Node] = []
        for term in reading_terms(expr):
            if parts and term.could_extract_minus_sign():
                parts += [self._mo("-"), self._print(-term)]
                continue
            if parts:
                parts.append(self._mo("+"))
            parts.append(self._print(term))
        return self._row(*parts)

    def _product(self, factors: list[sp.Basic]) -> minidom.Element:
        """Factors side by side, with an invisible times between letters and a
        ``·`` where digits or words would run together."""
        if len(factors) == 1:
            return self._print(factors[0])
        parts: list[minidom.Node] = []
        for factor in factors:
            node = self.parenthesize(factor, PRECEDENCE["Mul"])
            if parts:
                dot = _merges(_leaf(parts[-1], last=True), _leaf(node, last=False))
                parts.append(self._mo("\u22c5" if dot else "\u2062"))
            parts.append(node)
        return self._row(*parts)

    def _print_Mul(self, expr: sp.Mul) -> minidom.Element:
        """Factors in reading order (``γ(x − μ)``, ``2π·10000^…``); a fraction when
        there is a denominator."""
        if expr.could_extract_minus_sign():
            positive = -expr
            inner = self._print(positive)
            if isinstance(positive, sp.Add):
                inner = self._row(self._mo("("), inner, self._mo(")"))
            return self._row(self._mo("-"), inner)
        numer, denom = split_product(expr)
        if not denom:
            return self._product(numer)
        top = self._product(numer) if numer else self._el("mn", text="1")
        if self._in_exponent:  # 2i/d_model in 10000^(2i/d_model): inline
            under = self._product(denom)
            if len(denom) > 1:
                under = self._row(self._mo("("), under, self._mo(")"))
            return self._row(top, self._mo("/"), under)
        return self._el("mfrac", top, self._product(denom))

    def _print_Pow(self, expr: sp.Pow) -> minidom.Element:
        """The exponent one script level down, any fraction in it written inline
        (``10000^(2i/d_model)``): a built-up fraction there would be two levels down."""
        exp = expr.exp
        if (exp.is_Rational and exp.q != 1) or (exp.is_number and exp.is_negative):
            return super()._print_Pow(expr)  # √, ∛, x^(3/2), 1/x²
        base = self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)
        return self._el("msup", base, self._exponent(exp))

    def _get_printed_Rational(self, e: sp.Rational, folded: bool | None = None):
        """A folded rational exponent as ``3/2`` in a row (MathML Core has no
        bevelled fractions)."""
        if not folded:
            return super()._get_printed_Rational(e, folded)
        sign = [self._mo("-")] if e.p < 0 else []
        digits = (self._el("mn", text=str(abs(part))) for part in (e.p, e.q))
        return self._row(*sign, next(digits), self._mo("/"), next(digits))

    _in_exponent = False

    def _exponent(self, expr: sp.Basic) -> minidom.Element:
        """An exponent, with any fraction in it written inline."""
        outer, self._in_exponent = self._in_exponent, True
        try:
            return self._print(expr)
        finally:
            self._in_exponent = outer

    def _print_MatMul(self, expr: sp.MatMul) -> minidom.Element:
        """``QKᵀ/√d_k`` rather than ``1/√d_k · QKᵀ``."""
        scalar, matrices = expr.as_coeff_matrices()
        if scalar != 1 and not scalar.could_extract_minus_sign():
            numer, denom = split_product(sp.Mul(scalar, sp.Dummy()))
            if denom:
                numer = [f for f in numer if not isinstance(f, sp.Dummy)]
                body = self._print(sp.MatMul(*matrices))
                top = self._row(self._product(numer), self._mo("\u2062"), body)
                return self._el("mfrac", top if numer else body, self._product(denom))
        return super()._print_MatMul(expr)

    def _print_Derivative(self, expr: sp.Derivative) -> minidom.Element:
        """d/dx f, with f in parentheses when it is a sum."""
        node = super()._print_Derivative(expr)
        body = node.lastChild
        if isinstance(expr.expr, sp.Add):
            node.removeChild(body)
            node.appendChild(self._row(self._mo("("), body, self._mo(")")))
        return node

    def _print_BlockMatrix(self, expr: sp.BlockMatrix) -> minidom.Element:
        return self._print(expr.blocks)

    def _print_Function(self, expr: sp.Function) -> minidom.Element:
        """Names as written (``PE``, ``R_i``, ``λ``), not lower-cased; a
        :func:`~explainer.symbolic.symbols.depending` quantity as its bare name."""
        name = self._print(sp.Symbol(type(expr).__name__))
        if isinstance(expr, _Named):
            return name
        return self._row(name, self._paren_comma_separated(*expr.args))

    def _print_Indexed(self, expr: sp.Indexed) -> minidom.Element:
        indices: list[minidom.Node] = []
        for index in expr.indices:
            if indices:
                indices.append(self._mo(","))
            indices.append(self._print(index))
        return self._el("msub", self._print(expr.base.label), self._row(*indices))

    def _print_MatrixElement(self, expr: sp.MatrixElement) -> minidom.Element:
        i, j = (self._print(a) for a in expr.indices)
        parent = self.parenthesize(expr.parent, PRECEDENCE["Atom"], strict=True)
        return self._el("msub", parent, self._row(i, self._mo(","), j))

    def _print_MatrixSlice(self, expr: sp.MatrixSlice) -> minidom.Element:
        """X[t, :] as X with the subscript t, : (row t, every column)."""
        parts: list[minidom.Node] = []
        for (start, stop, step), size in zip(
            (expr.rowslice, expr.colslice), expr.parent.shape, strict=True
        ):
            if parts:
                parts.append(self._mo(","))
            if (start, stop, step) == (0, size, 1):
                parts.append(self._mo(":"))
            elif stop == start + 1:
                parts.append(self._print(start))
            else:
                parts += [self._print(start), self._mo(":"), self._print(stop - 1)]
        return self._el("msub", self._print(expr.parent), self._row(*parts))

    def _print_ZeroMatrix(self, expr: sp.ZeroMatrix) -> minidom.Element:
        return self._el("mn", text="0")

    def _print_BlockDiagMatrix(self, expr: sp.BlockDiagMatrix) -> minidom.Element:
        return self._print(expr.blocks)

    def _print_Piecewise(self, expr: sp.Piecewise) -> minidom.Element:
        table = self._el("mtable")
        for value, cond in expr.args:
            when = (
                self._el("mtext", text="otherwise")
                if cond == sp.true
                else self._row(self._el("mtext", text="if\u00a0"), self._print(cond))
            )
            table.appendChild(
                self._el(
                    "mtr", self._el("mtd", self._print(value)), self._el("mtd", when)
                )
            )
        return self._row(self._mo("{"), table)

    def _print_Subs(self, expr: sp.Subs) -> minidom.Element:
        pairs: list[minidom.Node] = []
        for var, point in zip(expr.variables, expr.point, strict=True):
            if pairs:
                pairs.append(self._mo(","))
            pairs += [self._print(var), self._mo("="), self._print(point)]
        bar = self._el("msub", self._mo("|"), self._row(*pairs))
        return self._row(self._print(expr.expr), bar)

    def _print_Expectation(self, expr: Expectation) -> minidom.Element:
        return self._call("E", expr.args[0], brackets="[]")

    def _print_Variance(self, expr: Variance) -> minidom.Element:
        return self._call("Var", expr.args[0])

    def _print_RandomSymbol(self, expr: RandomSymbol) -> minidom.Element:
        return self._print(expr.symbol)

    def _print_RowSoftmax(self, expr: sp.Basic) -> minidom.Element:
        return self._call("softmax", expr.args[0])

    def _print_MatrixRelu(self, expr: sp.Basic) -> minidom.Element:
        return self._call("max", sp.S.Zero, expr.args[0])

    def _print_UnevaluatedExpr(self, expr: sp.UnevaluatedExpr) -> minidom.Element:
        return self._print(expr.args[0])  # a decimal constant, shown as written

    def _print_Max(self, expr: sp.Max) -> minidom.Element:
        return self._call("max", *expr.args)

    def _print_Min(self, expr: sp.Min) -> minidom.Element:
        return self._call("min", *expr.args)

    def _print_BooleanTrue(self, expr: sp.Basic) -> minidom.Element:
        return self._el("mtext", text="true")

    def _print_BooleanFalse(self, expr: sp.Basic) -> minidom.Element:
        return self._el("mtext", text="false")

    def _print_KroneckerDelta(self, expr: sp.KroneckerDelta) -> minidom.Element:
        i, j = (self._print(a) for a in expr.args)
        return self._el(
            "msub", self._el("mi", text="δ"), self._row(i, self._mo(","), j)
        )

    def _print_KroneckerProduct(self, expr: sp.Basic) -> minidom.Element:
        """A ⊗ B (SymPy's MathML spells out ``kroneckerproduct(A, B)``)."""
        parts: list[minidom.Node] = []
        for arg in expr.args:
            if parts:
                parts.append(self._mo("\u2297"))
            parts.append(self.parenthesize(arg, PRECEDENCE["Mul"]))
        return self._row(*parts)

    def _print_Identity(self, expr: sp.Identity) -> minidom.Element:
        """I with its size, I₃, as the 1₃ beside it."""
        return self._el("msub", self._el("mi", text="I"), self._print(expr.rows))

    def _print_Gradient(self, expr: sp.Basic) -> minidom.Element:
        """The backward pass's ∂f/∂W as the Derivative it stands for (SymPy's
        MathML would take it for a vector field's ∇ and fail)."""
        derivative = getattr(expr, "_derivative", None)
        if derivative is None:
            return super()._print_Gradient(expr)
        return self._print(derivative())

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> minidom.Element:
        return self._el("msub", self._el("mn", text="1"), self._print(expr.rows))

    def _print_Exp1(self, expr: sp.Basic) -> minidom.Element:
        node = self._el("mi", text="e")
        node.setAttribute("mathvariant", "normal")
        return node

    def _print_exp(self, expr: sp.Basic) -> minidom.Element:
        return self._el("msup", self._print_Exp1(sp.E), self._exponent(expr.args[0]))

    def _print_Mod(self, expr: sp.Mod) -> minidom.Element:
        a, b = expr.args
        return self._row(self._print(a), self._el("mo", text="mod"), self._print(b))

    def render(self, expr: sp.Basic) -> minidom.Element:
        node = self._print(expr)
        _clean(node)
        _inline_script_fractions(node)
        _tight_fences(node)
        return node


def _leaf(node: minidom.Node, last: bool) -> minidom.Node | None:
    """The first (or last) token element (``mi``, ``mn``, ``mo``) of a printed node."""
    if getattr(node, "tagName", "") in ("mi", "mn", "mo", "mtext"):
        return node
    if getattr(node, "tagName", "") in ("msqrt", "mroot", "mfrac", "mtable"):
        return None  # a radical sign, a bar or a brace keeps its neighbours apart
    children = [c for c in node.childNodes if c.nodeType == c.ELEMENT_NODE]
    for child in reversed(children) if last else children:
        leaf = _leaf(child, last)
        if leaf is not None:
            return leaf
    return None


def _letters(text: str) -> str:
    """The characters of a token that take room (x̂ is one letter)."""
    return "".join(c for c in html.unescape(text) if not unicodedata.combining(c))


def _merges(left: minidom.Node | None, right: minidom.Node | None) -> bool:
    """Whether two tokens side by side would read as one: digits after digits, a
    word (``erfc``, ``pos``) next to a letter, or a word after a closing bracket
    (``|z|·erfc``)."""
    if left is None or right is None:
        return False
    a, b = (_letters(node.firstChild.data) for node in (left, right))
    if right.tagName == "mi" and len(b) > 1 and left.tagName == "mo":
        return a in (")", "]", "|", "⌋", "⌉")
    if left.tagName == "mo" or right.tagName == "mo":
        return False
    if right.tagName == "mn":
        return True
    return (len(a) > 1 and left.tagName == "mi") or (
        len(b) > 1 and right.tagName == "mi"
    )


_SCRIPTED = ("msub", "msup", "msubsup", "munder", "mover", "munderover")


def _in_script(node: minidom.Node) -> bool:
    """Whether ``node`` lies in a script or a limit (not the base)."""
    while node.parentNode is not None and node.parentNode.nodeType == node.ELEMENT_NODE:
        parent = node.parentNode
        if parent.tagName in _SCRIPTED and parent.firstChild is not node:
            return True
        node = parent
    return False


def _inline_script_fractions(node: minidom.Node) -> None:
    """A fraction in a script or a limit (``d_model/2 − 1`` over a sum) written
    inline: built up, it would be a second script level, too small to read."""
    for frac in list(node.getElementsByTagName("mfrac")):
        if not _in_script(frac):
            continue
        doc = frac.ownerDocument
        parts = []
        for part in list(frac.childNodes):
            frac.removeChild(part)
            if any(
                mo.firstChild is not None and mo.firstChild.data in "+−-"
                for mo in getattr(part, "getElementsByTagName", lambda _: [])("mo")
            ):
                row = doc.createElement("mrow")
                for text, child in (("(", None), (None, part), (")", None)):
                    if child is None:
                        mo = doc.createElement("mo")
                        mo.appendChild(doc.createTextNode(text))
                        child = mo
                    row.appendChild(child)
                part = row
            parts.append(part)
        slash = doc.createElement("mo")
        slash.appendChild(doc.createTextNode("/"))
        row = doc.createElement("mrow")
        for child in (parts[0], slash, parts[1]):
            row.appendChild(child)
        frac.parentNode.replaceChild(row, frac)


_FENCES = set("()[]{}|⌊⌋⌈⌉")
_TALL = ("mfrac", "munderover", "munder", "mover", "mtable", "mroot")


def _tight_fences(node: minidom.Node) -> None:
    """Brackets around a single line of symbols as plain characters
    (``stretchy="false"``): Chromium pads a stretchy one as if it had grown, which
    spreads ``PE(pos, 2i)`` into ``PE ( pos, 2i )``.  Around a fraction, a sum
    with limits or a matrix they still stretch."""
    for mo in node.getElementsByTagName("mo"):
        text = mo.firstChild.data if mo.firstChild is not None else ""
        parent = mo.parentNode
        if (
            text in _FENCES
            and parent.tagName == "mrow"
            and not any(parent.getElementsByTagName(tag) for tag in _TALL)
        ):
            mo.setAttribute("stretchy", "false")


def _clean(node: minidom.Node) -> None:
    """Entities (``&InvisibleTimes;``) as the characters they name; ``e`` upright;
    a true minus sign."""
    for child in node.childNodes:
        if child.nodeType == child.TEXT_NODE:
            child.data = html.unescape(child.data).replace("\u2147", "e")
            child.data = child.data.replace("\u2146", "d")
            if getattr(node, "tagName", "") == "mo" and child.data == "-":
                child.data = "\u2212"
        else:
            _clean(child)
    if getattr(node, "tagName", "") == "mi" and node.firstChild is not None:
        if node.firstChild.nodeType == node.TEXT_NODE and node.firstChild.data == "e":
            node.setAttribute("mathvariant", "normal")


def _math(content: minidom.Element, display: bool, style: bool = False) -> Markup:
    printer = _Printer()
    root = printer.dom.createElement("math")
    if display:
        root.setAttribute("display", "block")
    elif style:
        root.setAttribute("displaystyle", "true")
    root.appendChild(content)
    # minidom escapes text and attribute values; every name comes from SymPy
    return Markup(root.toxml())


def mathml(expr: sp.Basic, *, display: bool = True, style: bool = False) -> Markup:
    """``expr`` as a ``<math>`` element (safe to insert into a template);
    ``style`` asks for display style in an inline formula.

    >>> print(mathml(sp.Symbol("x") / 2, display=False))
    <math><mfrac><mi>x</mi><mn>2</mn></mfrac></math>
    """
    return _math(_Printer().render(expr), display, style)


def equation(lhs: sp.Basic | None, rhs: sp.Basic, *, display: bool = False) -> Markup:
    """``lhs = rhs`` (or ``= rhs`` when ``lhs`` is None) as one ``<math>``, in
    display style (full-size sums and fractions) even when inline."""
    printer = _Printer()
    parts = [] if lhs is None else [printer.render(lhs)]
    parts += [printer._mo("="), printer.render(rhs)]
    return _math(printer._row(*parts), display, style=True)
