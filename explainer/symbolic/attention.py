"""Scaled dot-product attention.  Vaswani et al. 2017, §3.2.1, Eq. 1.

Attention(Q, K, V) = softmax(QKᵀ/√d_k) V, with softmax over the keys (last axis)
and, in the decoder, a causal mask: query i may attend key j only when j ≤ i.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step, chain, held
from .softmax import RowSoftmax, softmax
from .symbols import T_k, T_q, d_k, d_v, i, j, k, m, matrix, n, r, s, x

mu_q, mu_k = sp.symbols("mu_q mu_k", real=True)  # E[q_m], E[k_m]
sigma_q, sigma_k = sp.symbols("sigma_q sigma_k", positive=True)  # their spreads


def scaled_scores(Q: sp.MatrixExpr, K: sp.MatrixExpr) -> sp.MatrixExpr:
    """QKᵀ/√d_k with d_k the width of Q.  Vaswani et al. 2017, §3.2.1, Eq. 1.

    >>> from explainer.symbolic.symbols import T_q, T_k, d_k
    >>> Q, K = sp.MatrixSymbol("Q", T_q, d_k), sp.MatrixSymbol("K", T_k, d_k)
    >>> scaled_scores(Q, K).shape
    (T_q, T_k)
    """
    if Q.shape[1] != K.shape[1]:
        raise ValueError(f"Q width ({Q.shape[1]}) must equal K width ({K.shape[1]})")
    return Q * K.T / sp.sqrt(Q.shape[1])


def attention(Q: sp.MatrixExpr, K: sp.MatrixExpr, V: sp.MatrixExpr) -> sp.MatrixExpr:
    """softmax(QKᵀ/√d_k) V.  Vaswani et al. 2017, §3.2.1, Eq. 1.

    >>> Q, K, V = (sp.MatrixSymbol(name, 2, 2) for name in "QKV")
    >>> attention(Q, K, V).shape
    (2, 2)
    """
    return RowSoftmax(scaled_scores(Q, K)) * V


def masked_attention(
    Q: sp.MatrixExpr, K: sp.MatrixExpr, V: sp.MatrixExpr, M: sp.MatrixExpr
) -> sp.MatrixExpr:
    """softmax(QKᵀ/√d_k + M) V, the mask M added to the scaled scores: M_ij = 0
    where query i may attend key j, −∞ elsewhere (:func:`mask_entry`).  Vaswani et
    al. 2017, §3.2.3.

    >>> Q, K, V, M = (sp.MatrixSymbol(name, 2, 2) for name in "QKVM")
    >>> masked_attention(Q, K, V, M).shape
    (2, 2)
    """
    return RowSoftmax(scaled_scores(Q, K) + M) * V


def attention_equation(masked: bool = False) -> sp.Eq:
    """Attention(Q, K, V) = softmax(QKᵀ/√d_k) V, or with the mask M added to the
    scores (a masked self-attention).  Vaswani et al. 2017, §3.2.1, Eq. 1; §3.2.3.

    >>> attention_equation(masked=True).rhs.args[0].args[0].args[-1]
    M
    """
    Q = sp.MatrixSymbol("Q", T_q, d_k)
    K = sp.MatrixSymbol("K", T_k, d_k)
    V = sp.MatrixSymbol("V", T_k, d_v)
    rhs = (
        masked_attention(Q, K, V, sp.MatrixSymbol("M", T_q, T_k))
        if masked
        else attention(Q, K, V)
    )
    return sp.Eq(sp.Symbol("Attention(Q, K, V)"), rhs, evaluate=False)


def causal_mask(i: sp.Expr, j: sp.Expr) -> sp.Boolean:
    """Query i may attend key j iff j ≤ i.  Vaswani et al. 2017, §3.2.3.

    >>> causal_mask(2, 2), causal_mask(2, 3)
    (True, False)
    """
    return sp.Le(j, i)


def mask_entry(allowed: sp.Boolean) -> sp.Expr:
    """M_ij: 0 where attending is allowed, −∞ elsewhere, so that s_ij + M_ij is
    :func:`masked_score`.  Vaswani et al. 2017, §3.2.3.

    >>> [mask_entry(causal_mask(0, c)) for c in (0, 1)]
    [0, -oo]
    >>> added = sp.piecewise_fold(s + mask_entry(causal_mask(i, j)))
    >>> added == masked_score(s, causal_mask(i, j))
    True
    """
    return sp.Piecewise((0, allowed), (-sp.oo, True))


def masked_score(score: sp.Expr, allowed: sp.Boolean) -> sp.Expr:
    """The score where attending is allowed, −∞ elsewhere.  Vaswani et al. §3.2.3.

    >>> masked_score(s, causal_mask(0, 1))
    -oo
    """
    return sp.Piecewise((score, allowed), (-sp.oo, True))


def scores_expr(T_q: int, T_k: int, d_k: int) -> sp.ImmutableMatrix:
    """QKᵀ/√d_k in the symbols of ``matrix("Q", T_q, d_k)``, ``matrix("K", T_k, d_k)``.

    >>> scores_expr(1, 1, 2)
    Matrix([[sqrt(2)*(K_00*Q_00 + K_01*Q_01)/2]])
    """
    Q, K = matrix("Q", T_q, d_k), matrix("K", T_k, d_k)
    return (Q * K.T / sp.sqrt(d_k)).applyfunc(sp.factor_terms)


def attention_expr(T_q: int, T_k: int, d_k: int, d_v: int) -> sp.ImmutableMatrix:
    """softmax(QKᵀ/√d_k)V, a T_q × d_v matrix in the symbols of ``matrix("Q", T_q,
    d_k)``, ``matrix("K", T_k, d_k)`` and ``matrix("V", T_k, d_v)``, to lambdify.

    Vaswani et al. 2017, §3.2.1, Eq. 1.

    >>> A = attention_expr(1, 2, 1, 1)
    >>> keys = matrix("K", 2, 1)
    >>> A.shape, sp.simplify(A[0].subs({keys[0]: 0, keys[1]: 0}))
    ((1, 1), V_00/2 + V_10/2)
    """
    scores = scores_expr(T_q, T_k, d_k)
    weights = sp.ImmutableMatrix(
        T_q,
        T_k,
        lambda row, col: (
            sp.exp(scores[row, col])
            / sum(sp.exp(scores[row, key]) for key in range(T_k))
        ),
    )
    return weights * matrix("V", T_k, d_v)


def _dot(
    name_q: str, name_k: str, size: int, make: Callable[[str], sp.Expr]
) -> sp.Expr:
    """q·k for ``size`` independent components drawn by ``make(name)``."""
    return sum(make(f"{name_q}_{c}") * make(f"{name_k}_{c}") for c in range(size))


def _three_point(name: str) -> sp.Expr:
    """A non-Gaussian, non-binary unit-variance variable: 0 or ±√(3/2)."""
    a = sp.sqrt(sp.Rational(3, 2))
    third = sp.Rational(1, 3)
    from sympy import stats  # here, not at import: 0.1 s a report needs not wait

    return stats.FiniteRV(name, {-a: third, 0: third, a: third})


def _independent(*names: str) -> tuple[sp.Expr, ...]:
    """Independent real random variables with arbitrary densities f_<name>: what
    sympy.stats proves about them holds for every distribution."""
    from sympy import stats

    out = []
    for name in names:
        value = sp.Symbol(name, real=True)
        density = sp.Function(f"f_{name}")(value)
        out.append(stats.ContinuousRV(value, density, set=sp.Reals))
    return tuple(out)


def _mask_count(upper: sp.Expr, lower: sp.Expr = 0) -> sp.Sum:
    """How many keys lower … upper the causal mask lets query i see."""
    return sp.Sum(sp.Piecewise((1, causal_mask(i, j)), (0, True)), (j, lower, upper))


@functools.cache
def derivation() -> Derivation:
    """Attention: weights are distributions; why √d_k; masking by a limit."""
    from sympy import stats

    S = sp.MatrixSymbol("S", T_q, T_k)  # the scaled scores
    w = sp.exp(S[i, j]) / sp.Sum(sp.exp(S[i, k]), (k, 0, T_k - 1))
    v = sp.IndexedBase("v", real=True)
    c = sp.Symbol("c", integer=True, nonnegative=True)
    moments = (mu_q, mu_k, sigma_q, sigma_k)
    var_term = (sigma_q**2 + mu_q**2) * (sigma_k**2 + mu_k**2) - mu_q**2 * mu_k**2
    var_dot = d_k * (
        sigma_q**2 * sigma_k**2 + sigma_q**2 * mu_k**2 + mu_q**2 * sigma_k**2
    )
    rademacher = _dot("q", "k", 3, stats.Rademacher)
    q_m, k_m = _independent("q_m", "k_m")
    X, Y = _independent("X", "Y")
    three_point = _dot("u", "w", 2, _three_point)
    return Derivation(
        name="scaled-dot-product-attention",
        title=N_("Scaled dot-product attention"),
        source=N_(
            "Vaswani et al. 2017, §3.2.1, Eq. 1 and footnote 4; §3.2.3 (masking)"
        ),
        formula=attention_equation(),
        ops=(
            "qk",
            "scale",
            "causal_mask",
            "no_mask",
            "apply_mask",
            "softmax",
            "attend",
        ),
        steps=(
            Step(
                sp.Sum(w, (j, 0, T_k - 1)),
                1,
                N_("S = QKᵀ/√d_k; each row of weights is a softmax over the T_k keys"),
                by=("sums",),
                title=N_("Each query's weights sum to one"),
            ),
            Step(
                sp.Sum(w * v[c], (j, 0, T_k - 1)),
                v[c],
                N_(
                    "the output row is a weighted average of value rows: if every "
                    "value row is the same v, the output is v"
                ),
                by=("sums",),
            ),
            Step(
                sp.ImmutableMatrix(
                    [
                        [stats.Expectation(q_m), stats.Variance(q_m)],
                        [stats.Expectation(k_m), stats.Variance(k_m)],
                    ]
                ),
                sp.ImmutableMatrix([[0, 1], [0, 1]]),
                N_(
                    "footnote 4 assumes it: the components of q and k are independent, "
                    "with mean 0 and variance 1 (a model of the numbers, not a theorem)"
                ),
                kind="assumption",
                title=N_("Why √d_k (footnote 4): independent components"),
            ),
            Step(
                stats.Expectation(q_m * k_m),
                stats.Expectation(q_m) * stats.Expectation(k_m),
                N_(
                    "independent q_m, k_m with any densities f_q_m, f_k_m: the double "
                    "integral of q·k·f_q_m(q)·f_k_m(k) factors (sympy.stats)"
                ),
                by=("stats",),
            ),
            Step(
                stats.Expectation((q_m * k_m) ** 2),
                stats.Expectation(q_m**2) * stats.Expectation(k_m**2),
                N_(
                    "the same for the squares, so Var[q_m k_m] = E[q_m²]E[k_m²] − "
                    "(E[q_m]E[k_m])², with E[X²] = Var X + E[X]²"
                ),
                by=("stats",),
            ),
            Step(
                stats.Variance(X + Y),
                stats.Variance(X) + stats.Variance(Y),
                N_(
                    "independent X, Y with any densities: Var[X + Y] = Var X + Var Y + "
                    "2(E[XY] − E[X]E[Y]), and E[XY] = E[X]E[Y]. "
                    "With X = Σ_{m<l} q_m k_m "
                    "and Y = q_l k_l, by induction on l: Var[q·k] = Σ_m Var[q_m k_m]"
                ),
                by=("linearity", "stats"),
            ),
            *chain(
                sp.Sum(mu_q * mu_k, (m, 0, d_k - 1)),
                (
                    d_k * mu_q * mu_k,
                    N_(
                        "E[q·k] = Σ_m E[q_m]E[k_m]: linearity, and "
                        "the independence above"
                    ),
                    ("doit",),
                ),
                title=N_("Why √d_k: the mean of q·k"),
            ),
            Step(
                sp.Subs(d_k * mu_q * mu_k, (mu_q, mu_k), (0, 0)),
                0,
                N_("zero-mean components (the assumption above): E[q·k] = 0"),
                by=("doit",),
                kind="definition",
            ),
            Step(
                sp.Sum(var_term, (m, 0, d_k - 1)),
                var_dot,
                N_(
                    "Var[q·k] = Σ_m Var[q_m k_m] (independent terms), and "
                    "Var[q_m k_m] = E[q_m²]E[k_m²] − (E[q_m]E[k_m])², "
                    "E[X²] = Var X + E[X]²"
                ),
                by=("doit", "expand"),
                title=N_("… and its variance grows like d_k"),
            ),
            Step(
                sp.Subs(var_dot, moments, (0, 0, 1, 1)),
                d_k,
                N_(
                    "unit-variance, zero-mean components (the "
                    "assumption): Var[q·k] = d_k"
                ),
                by=("doit",),
                kind="definition",
            ),
            Step(
                held(sp.Pow(1 / sp.sqrt(d_k), 2, evaluate=False), d_k),
                1,
                N_(
                    "Var[aX] = a²·Var[X] with a = 1/√d_k: scaled scores have variance "
                    "1 for every d_k, so softmax does not saturate as d_k grows"
                ),
                by=("expand",),
                title=N_("Dividing by √d_k restores unit variance"),
            ),
            Step(
                sp.ImmutableMatrix(
                    [[stats.Expectation(rademacher), stats.Variance(rademacher)]]
                ),
                sp.ImmutableMatrix([[0, 3]]),
                N_(
                    "cross-check, exact, with sympy.stats: d_k = 3 components that "
                    "are ±1 with probability ½"
                ),
                by=("stats", "simplify"),
                kind="instances",
                on="d_k = 3, Rademacher components",
                title=N_("Cross-check on concrete distributions"),
            ),
            Step(
                sp.ImmutableMatrix(
                    [[stats.Expectation(three_point), stats.Variance(three_point)]]
                ),
                sp.ImmutableMatrix([[0, 2]]),
                N_(
                    "d_k = 2 components that are 0 or ±√(3/2), each with probability ⅓ "
                    "(unit variance, neither Gaussian nor binary)"
                ),
                by=("stats", "simplify"),
                kind="instances",
                on="d_k = 2, three-point components",
            ),
            Step(
                sp.Limit(
                    sp.exp(s) / (sp.exp(s) + sp.Sum(sp.exp(x[k]), (k, 0, n - 1))),
                    s,
                    -sp.oo,
                ),
                0,
                N_("a masked key's score s → −∞: its weight exp(s)/(exp(s) + Σ) → 0"),
                by=("doit",),
                title=N_("Masking: a −∞ score gets weight 0"),
            ),
            Step(
                sp.Limit(
                    sp.exp(x[i]) / (sp.exp(s) + sp.Sum(sp.exp(x[k]), (k, 0, n - 1))),
                    s,
                    -sp.oo,
                ),
                softmax(x, i, n),
                N_(
                    "the allowed keys x_0 … x_{n−1} share all the weight: "
                    "a softmax over the allowed keys only"
                ),
                by=("doit",),
            ),
            Step(
                _mask_count(i + r),
                _mask_count(i) + _mask_count(i + r, i + 1),
                N_(
                    "query i of T = i + 1 + r (any r ≥ 0): split the keys into 0 … i "
                    "and i + 1 … T − 1"
                ),
                by=("simplify",),
                title=N_("The causal mask lets query i see i + 1 keys, for every T"),
            ),
            Step(
                _mask_count(i),
                i + 1,
                N_(
                    "keys 0 … i, counted back from i as j = i − u: j ≤ i holds for all "
                    "of them (itself included)"
                ),
                by=("reverse", "doit"),
            ),
            Step(
                _mask_count(i + r, i + 1),
                0,
                N_(
                    "keys i + 1 … T − 1, counted as j = i + 1 + u: j ≤ i fails for "
                    "every one, so the mask hides them all"
                ),
                by=("shift", "doit"),
            ),
        ),
    )
