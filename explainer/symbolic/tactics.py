"""Proof tactics: SymPy transforms that map an expression to an equal one.

A :class:`~explainer.symbolic.derivation.Step` names the tactics (``by``) that
turn ``lhs - rhs`` into exactly zero.  Besides SymPy's own (``expand``,
``cancel``, ``simplify`` …) there are a few for sums over a symbolic length:
linearity with canonical index names (``sums``), summing out Kronecker deltas
(``deltas``, ``diff``), counting a sum's terms from its lower or upper end
(``shift``, ``reverse``), and exact expectations with sympy.stats (``stats``,
after ``linearity`` has written variances and covariances as expectations).

>>> from sympy.abc import n
>>> x = sp.IndexedBase("x")
>>> i, j = sp.symbols("i j", integer=True)
>>> twice = sp.Sum(2 * x[i], (i, 0, n - 1)) - 2 * sp.Sum(x[j], (j, 0, n - 1))
>>> TRANSFORMS["sums"](twice)
0
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import sympy as sp

Definition = tuple[sp.Basic, sp.Basic]
"""(abbreviation, meaning): a Symbol and an expression; an IndexedBase and a
``sp.Lambda`` of its index (``p`` and ``Lambda(i, softmax…)`` for p_i); or an
undefined function and a ``sp.Lambda`` (``P`` and ``Lambda((h, d_k), …)``)."""


def _doit(expr: sp.Basic) -> sp.Basic:
    """Evaluate sums, limits, derivatives, expectations; repeat until stable."""
    for _ in range(4):
        new = expr.doit()
        if new == expr:
            break
        expr = new
    return expr


def _split_sum(total: sp.Sum) -> sp.Basic:
    """Σ(a + b) = Σa + Σb and Σ c·f = c·Σf when c does not involve the index."""
    if len(total.limits) != 1:
        return total
    index, lo, hi = total.limits[0]
    out = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(total.function)):
        const, rest = term.as_independent(index, as_Add=False)
        out += const * (hi - lo + 1 if rest == 1 else sp.Sum(rest, (index, lo, hi)))
    return out


def _height(expr: sp.Basic) -> int:
    """How deeply sums nest inside ``expr`` (0 when there is none)."""
    inner = [_height(arg) for arg in expr.args]
    return max(inner, default=0) + isinstance(expr, sp.Sum)


def canonical_sums(expr: sp.Basic) -> sp.Basic:
    """Rename bound summation indices canonically: Σ_i x_i and Σ_j x_j become equal.

    A sum's index becomes ``ι<h>`` where h is the nesting depth of the sums in
    its body, so the new name never collides with an index bound inside it.
    """
    if not isinstance(expr, sp.Basic) or not expr.args:
        return expr
    args = [canonical_sums(arg) for arg in expr.args]
    if not isinstance(expr, sp.Sum) or len(expr.limits) != 1:
        return expr.func(*args) if args != list(expr.args) else expr
    body = args[0]
    index, lo, hi = expr.limits[0]
    new = sp.Symbol(f"ι{_height(body)}", integer=True)
    return sp.Sum(body.xreplace({index: new}), (new, lo, hi))


def _sums(expr: sp.Basic) -> sp.Basic:
    """Linearity of every sum, then canonical index names."""
    for _ in range(4):
        new = expr.replace(lambda e: isinstance(e, sp.Sum), _split_sum)
        if new == expr:
            break
        expr = new
    return canonical_sums(expr)


def _deltas(expr: sp.Basic) -> sp.Basic:
    """Linearity, then sum out Kronecker deltas: Σ_k δ_jk f(k) = f(j).

    Cheaper than ``doit``: sums with no delta (Σ_k x_k) are left alone instead of
    being sent to SymPy's closed-form search, which cannot evaluate them anyway.
    """
    return _sums(expr).replace(
        lambda e: isinstance(e, sp.Sum) and e.function.has(sp.KroneckerDelta),
        lambda e: e.doit(),
    )


def _diff(expr: sp.Basic) -> sp.Basic:
    """Differentiate (one level, no other evaluation), then sum out the deltas."""
    expr = expr.replace(
        lambda e: isinstance(e, sp.Derivative), lambda e: e.doit(deep=False)
    )
    return _deltas(expr)


def _stats(expr: sp.Basic) -> sp.Basic:
    """Compute every unevaluated E[·] and Var[·] exactly with sympy.stats."""
    from sympy import stats

    expr = expr.replace(
        lambda e: isinstance(e, stats.Variance), lambda e: stats.variance(e.args[0])
    )
    return expr.replace(
        lambda e: isinstance(e, stats.Expectation), lambda e: stats.E(e.args[0])
    )


def _linearity(expr: sp.Basic) -> sp.Basic:
    """Var, Cov and E expanded by linearity (SymPy's ``expand``), then every
    covariance written as E[XY] − E[X]E[Y], for ``stats`` to evaluate.

    >>> from sympy import stats
    >>> X, Y = stats.Normal("X", 0, 1), stats.Normal("Y", 0, 1)
    >>> _linearity(stats.Variance(X + Y))
    2*Expectation(X*Y) - 2*Expectation(X)*Expectation(Y) + Variance(X) + Variance(Y)
    """
    from sympy import stats

    kinds = (stats.Variance, stats.Covariance, stats.Expectation)
    expr = expr.replace(lambda e: isinstance(e, kinds), lambda e: e.expand())
    return sp.expand(
        expr.replace(
            lambda e: isinstance(e, stats.Covariance),
            lambda e: e.rewrite(stats.Expectation),
        )
    )


def _reindexed(total: sp.Sum, trafo: sp.Expr) -> sp.Sum:
    """``total`` with its index j replaced by u = trafo(j) (SymPy's
    ``change_index``); u runs over 0 … hi − lo, so it is declared non-negative."""
    index = total.limits[0][0]
    new = sp.Dummy("u", integer=True, nonnegative=True)
    return total.change_index(index, trafo, new)


def _shift(expr: sp.Basic) -> sp.Basic:
    """Every sum counted from its lower end: Σ_{j=a}^{b} f(j) = Σ_{u=0}^{b−a} f(a + u).

    >>> i, r = sp.symbols("i r", integer=True, nonnegative=True)
    >>> j = sp.Symbol("j", integer=True)
    >>> _shift(sp.Sum(sp.Piecewise((1, j <= i), (0, True)), (j, i + 1, i + r)))
    Sum(0, (_u, 0, r - 1))
    """
    return expr.replace(
        lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1,
        lambda e: _reindexed(e, e.limits[0][0] - e.limits[0][1]),
    )


def _reverse(expr: sp.Basic) -> sp.Basic:
    """Every sum counted from its upper end: Σ_{j=a}^{b} f(j) = Σ_{u=0}^{b−a} f(b − u).

    >>> i = sp.Symbol("i", integer=True, nonnegative=True)
    >>> j = sp.Symbol("j", integer=True)
    >>> _reverse(sp.Sum(sp.Piecewise((1, j <= i), (0, True)), (j, 0, i)))
    Sum(1, (_u, 0, i))
    """
    return expr.replace(
        lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1,
        lambda e: _reindexed(e, e.limits[0][2] - e.limits[0][0]),
    )


def _piecewise(expr: sp.Basic) -> sp.Basic:
    """Rewrite Max, Abs, Heaviside as Piecewise, fold, and simplify."""
    return sp.simplify(sp.piecewise_fold(expr.rewrite(sp.Piecewise)))


def decimal(text: str) -> sp.UnevaluatedExpr:
    """A published decimal constant, shown as written ("0.3275911") and kept apart
    from the arithmetic until the ``decimals`` tactic reads it as the exact
    fraction it names.

    >>> decimal("0.25") + decimal("0.5")
    0.25 + 0.5
    >>> TRANSFORMS["decimals"](decimal("0.25") + decimal("0.5"))
    3/4
    """
    digits = len(text.lstrip("-").replace(".", "").lstrip("0")) or 1
    return sp.UnevaluatedExpr(sp.Float(text, digits))


def _decimals(expr: sp.Basic) -> sp.Basic:
    """Every :func:`decimal` as the exact fraction its digits name."""
    return expr.replace(
        lambda e: isinstance(e, sp.UnevaluatedExpr) and isinstance(e.args[0], sp.Float),
        lambda e: sp.Rational(str(e.args[0])),
    )


TRANSFORMS: dict[str, Callable[[sp.Basic], sp.Basic]] = {
    "doit": _doit,
    "decimals": _decimals,
    "diff": _diff,
    "deltas": _deltas,
    "sums": _sums,
    "expand": sp.expand,
    "expand_trig": lambda e: sp.expand(e, trig=True),
    "exp": lambda e: sp.expand(e.rewrite(sp.exp)),
    "expand_log": lambda e: sp.expand_log(e, force=True),
    "erf": lambda e: sp.expand(e.rewrite(sp.erf)),
    "erfc": lambda e: sp.expand(e.rewrite(sp.erfc)),
    "stats": _stats,
    "linearity": _linearity,
    "shift": _shift,
    "reverse": _reverse,
    "floor": lambda e: e.rewrite(sp.floor),
    "cancel": sp.cancel,
    "together": sp.together,
    "powsimp": lambda e: sp.powsimp(e, force=True),
    "powdenest": lambda e: sp.powdenest(e, force=True),
    "trigsimp": sp.trigsimp,
    "simplify": sp.simplify,
    "piecewise": _piecewise,
    "block": sp.block_collapse,
}
"""Proof tactics by name, applied to ``lhs - rhs`` (entrywise for explicit matrices).

``expand_log``, ``powsimp`` and ``powdenest`` use ``force=True`` (log(a·b) =
log a + log b, (a^b)^c = a^(bc)): sound for positive bases, which is how the
steps use them.
"""


def apply_transform(name: str, expr: sp.Basic) -> sp.Basic:
    """Apply the tactic called ``name``, entry by entry to an explicit matrix."""
    func = TRANSFORMS[name]
    if isinstance(expr, sp.MatrixBase):
        return expr.applyfunc(func)
    return func(expr)


def is_zero(expr: sp.Basic) -> bool:
    """True only when ``expr`` is exactly zero (a zero scalar, matrix or block)."""
    if isinstance(expr, sp.BlockMatrix):
        return all(is_zero(block) for block in expr.blocks)
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(entry) for entry in expr)
    if isinstance(expr, sp.MatrixExpr):
        done = expr.doit()
        return isinstance(done, sp.ZeroMatrix) or (done != expr and is_zero(done))
    return expr == 0 or expr.is_zero is True


def explicit(expr: sp.Basic) -> sp.Basic:
    """A matrix expression of concrete shape multiplied out into one explicit matrix.

    Faster than ``as_explicit``, which builds every entry through symbolic sums.
    """
    if isinstance(expr, sp.MatrixBase) or not isinstance(expr, sp.MatrixExpr):
        return expr
    if isinstance(expr, sp.MatAdd):
        parts = [explicit(arg) for arg in expr.args]
        return sp.ImmutableMatrix(functools.reduce(lambda a, b: a + b, parts))
    if isinstance(expr, sp.MatMul):
        parts = [explicit(arg) for arg in expr.args]
        return sp.ImmutableMatrix(functools.reduce(lambda a, b: a * b, parts))
    if isinstance(expr, sp.Transpose):
        return explicit(expr.arg).T
    if isinstance(expr, sp.BlockDiagMatrix):
        return sp.ImmutableMatrix(sp.diag(*[explicit(b) for b in expr.args]))
    if isinstance(expr, sp.BlockMatrix):
        rows = [
            sp.Matrix.hstack(*[explicit(block) for block in expr.blocks.row(r)])
            for r in range(expr.blocks.rows)
        ]
        return sp.ImmutableMatrix(sp.Matrix.vstack(*rows))
    if isinstance(expr, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
        return sp.ImmutableMatrix(expr.as_explicit())
    if all(isinstance(arg, sp.MatrixExpr) for arg in expr.args):  # RowSoftmax, …
        return sp.ImmutableMatrix(
            expr.func(*[explicit(arg) for arg in expr.args]).doit()
        )
    return sp.ImmutableMatrix(expr.as_explicit())


def _fresh(meaning: sp.Basic) -> sp.Basic:
    """``meaning`` with every summation index renamed to a new Dummy.

    Unfolding z_k into Σ_k h_k E_kk would capture k; fresh indices prevent it.
    """
    if not isinstance(meaning, sp.Lambda):
        return meaning
    body = meaning.expr.replace(
        lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1,
        lambda e: _rebind(e, sp.Dummy(str(e.limits[0][0]), integer=True)),
    )
    return sp.Lambda(meaning.variables, body)


def _rebind(total: sp.Sum, new: sp.Symbol) -> sp.Sum:
    index, lo, hi = total.limits[0]
    return sp.Sum(total.function.xreplace({index: new}), (new, lo, hi))


def unfold(expr: sp.Basic, defs: Sequence[Definition]) -> sp.Basic:
    """Replace abbreviations by their meaning until none is left."""
    defs = [(name, _fresh(meaning)) for name, meaning in defs]
    for _ in range(len(defs) + 1):
        new = expr
        for name, meaning in defs:
            if isinstance(meaning, sp.Lambda) and isinstance(name, sp.IndexedBase):
                new = new.replace(
                    lambda e, base=name: isinstance(e, sp.Indexed) and e.base == base,
                    lambda e, f=meaning: f(*e.indices),
                )
            elif isinstance(meaning, sp.Lambda):  # an undefined function P(…)
                new = new.replace(name, meaning)
            else:
                new = new.xreplace({name: meaning})
        if new == expr:
            break
        expr = new
    return expr
