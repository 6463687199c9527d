"""GELU, its tanh approximation, and how the float32 pass computes it.
Hendrycks & Gimpel 2016, §2 and §3.1; Abramowitz & Stegun 1964, 7.1.26.

GELU(z) = z Φ(z), Φ the standard normal CDF (the exact erf form BERT and MiniLM
use). The paper also gives z/2 · (1 + tanh(√(2/π)(z + 0.044715 z³))), which GPT-2
uses. Here both constants are *derived*, by matching the Taylor series of Φ at 0
to third order, and the published 0.044715 is shown to leave an error of order z⁴
near 0 and at most about 4.7·10⁻⁴ anywhere: close to float32's tolerance, which is
why ``explainer verify`` catches the approximation only where activations reach
|z| ≈ 2.7 (tests/test_verify_breaks_models.py).

The float32 forward pass (:func:`explainer.numeric.gelu`) computes the exact form
as max(z, 0) − ½|z| erfc(|z|/√2), proved equal here, with erfc from Abramowitz &
Stegun's formula 7.1.26; its error is measured with mpmath: at most 1.39·10⁻⁷ in
erfc, and 2.1·10⁻⁷ in GELU, about one float32 step at |z| ≈ 3.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import mpmath
import sympy as sp

from explainer.erfc_approx import COEFFICIENTS, P
from explainer.i18n import N_

from .derivation import Derivation, Step
from .feed_forward import gelu, standard_normal_cdf
from .symbols import z
from .tactics import decimal

b = sp.Symbol("b", positive=True)  # the cubic coefficient inside tanh
PUBLISHED = sp.Rational(44715, 10**6)  # Hendrycks & Gimpel 2016, §3.1
MATCHED = (4 - sp.pi) / (6 * sp.pi)  # the coefficient that matches Φ''' at 0
a = sp.Symbol("a", nonnegative=True)  # the argument of erfc


def tanh_cdf(z: sp.Expr, b: sp.Expr = PUBLISHED) -> sp.Expr:
    """½ (1 + tanh(√(2/π)(z + b z³))): the tanh stand-in for Φ(z).

    >>> tanh_cdf(0)
    1/2
    """
    return (1 + sp.tanh(sp.sqrt(2 / sp.pi) * (z + b * z**3))) / 2


def gelu_tanh(z: sp.Expr, b: sp.Expr = PUBLISHED) -> sp.Expr:
    """z · ½ (1 + tanh(√(2/π)(z + b z³))).  Hendrycks & Gimpel 2016, §3.1.

    >>> gelu_tanh(0)
    0
    """
    return z * tanh_cdf(z, b)


P_SYM = sp.Symbol("p", positive=True)
A_SYMS = sp.symbols("a_1:6", real=True)  # a₁ … a₅
EXACT_P = sp.Rational(P)
EXACT_COEFFICIENTS = tuple(sp.Rational(c) for c in COEFFICIENTS)


def erfc_approx(
    a: sp.Expr,
    p: sp.Expr = EXACT_P,
    coefficients: tuple[sp.Expr, ...] = EXACT_COEFFICIENTS,
) -> sp.Expr:
    """(a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵) e^(−a²), t = 1/(1 + p a): erfc(a) for
    a ≥ 0.  Abramowitz & Stegun 1964, formula 7.1.26 (the published constants, in
    :mod:`explainer.erfc_approx`, are the exact defaults).

    >>> erfc_approx(0)
    999999999/1000000000
    """
    t = 1 / (1 + p * a)
    poly = sum(c * t ** (k + 1) for k, c in enumerate(coefficients))
    return poly * sp.exp(-(a**2))


def gelu_erfc(z: sp.Expr, erfc: Callable[[sp.Expr], sp.Expr] = sp.erfc) -> sp.Expr:
    """max(z, 0) − ½|z| erfc(|z|/√2): GELU as the float32 pass computes it (with
    ``erfc`` = :func:`erfc_approx` there).

    >>> gelu_erfc(sp.Integer(-1)) == gelu(sp.Integer(-1)).rewrite(sp.erfc)
    True
    """
    return sp.Max(z, 0) - sp.Abs(z) * erfc(sp.Abs(z) / sp.sqrt(2)) / 2


def largest(expr: sp.Expr, var: sp.Symbol, stop: float) -> tuple[float, float]:
    """(v, |expr(v)|) where |expr| peaks for 0 ≤ var ≤ stop: the grid's local peaks
    (step 0.01) within half of its largest, each refined by mpmath's root finder on
    the slope, the largest kept (an approximation's error can swing between nearly
    equal peaks)."""
    f = sp.lambdify(var, expr, "mpmath")
    slope = sp.lambdify(var, sp.diff(expr, var), "mpmath")
    with mpmath.workdps(30):
        grid = [mpmath.mpf(i) / 100 for i in range(int(stop * 100) + 1)]
        size = [abs(f(v)) for v in grid]
        peaks = [  # the slope changes sign between the neighbours of a peak
            mpmath.findroot(slope, (grid[i - 1], grid[i + 1]), solver="illinois")
            for i in range(1, len(grid) - 1)
            if size[i - 1] <= size[i] >= size[i + 1] and size[i] >= max(size) / 2
        ]
        peak = max(peaks, key=lambda v: abs(f(v)))
        return float(peak), float(abs(f(peak)))


@functools.cache
def largest_error() -> tuple[float, float]:
    """(z, |GELU_tanh(z) − GELU(z)|) where the error peaks for z > 0 (it is below
    10⁻¹⁰ beyond z = 8). The error z·(T(z) − Φ(z)) is even in z
    (T − Φ is odd), so it peaks at −z too.

    >>> z_star, err = largest_error()
    >>> round(z_star, 2), f"{err:.2e}"
    (2.7, '4.73e-04')
    """
    return largest(gelu_tanh(z) - gelu(z), z, 8)


@functools.cache
def erfc_error() -> tuple[float, float]:
    """(a, |ε(a)|) where ε = erfc_approx − erfc peaks over a ≥ 0 (beyond a = 6
    both are below 10⁻¹⁵). The book states |ε| ≤ 1.5·10⁻⁷.

    >>> a_star, err = erfc_error()
    >>> round(a_star, 3), f"{err:.3e}"
    (0.045, '1.394e-07')
    """
    return largest(erfc_approx(a) - sp.erfc(a), a, 6)


@functools.cache
def kernel_error() -> tuple[float, float]:
    """(|z|, error) where the float32 pass's GELU, max(z, 0) − ½|z|·erfc_approx(|z|/√2),
    is furthest from GELU in exact arithmetic: ½|z| times erfc's error.

    >>> z_star, err = kernel_error()
    >>> round(z_star, 2), f"{err:.2e}"
    (3.08, '2.11e-07')
    """
    peak, err = largest((erfc_approx(a) - sp.erfc(a)) * a / sp.sqrt(2), a, 6)
    return peak * 2**0.5, err  # |z| = √2 a, and ½|z| = a/√2


@functools.cache
def derivation() -> Derivation:
    """The tanh form's constants from Φ's Taylor series at 0, and its error."""
    Phi, T = sp.Function("Phi"), sp.Function("T_b")
    defs = (
        (Phi, sp.Lambda(z, standard_normal_cdf(z))),
        (T, sp.Lambda(z, tanh_cdf(z, b))),
    )
    at_0 = {"by": ("doit", "simplify"), "defs": defs}
    z_star, worst = largest_error()
    E = sp.Function("erfc_AS")
    a_star, e_star = erfc_error()
    z_kernel, e_kernel = kernel_error()
    erfc_defs = (
        (E, sp.Lambda(a, erfc_approx(a, P_SYM, A_SYMS))),
        (P_SYM, decimal(P)),
        *zip(A_SYMS, map(decimal, COEFFICIENTS), strict=True),
    )
    return Derivation(
        name="gelu",
        title=N_("GELU, its tanh approximation, and the float32 kernel"),
        source=N_(
            "Hendrycks & Gimpel 2016, §2 (GELU = z Φ(z)) and §3.1 (tanh form); "
            "Abramowitz & Stegun 1964, 7.1.26 (erfc)"
        ),
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("GELU(z)"), gelu(z)),
            sp.Eq(sp.Symbol("GELU_tanh(z)"), gelu_tanh(z)),
            sp.Eq(sp.Symbol("GELU_float32(z)"), gelu_erfc(z, E)),
        ),
        ops=("gelu",),
        steps=(
            Step(
                sp.Subs(sp.Derivative(Phi(z), z), z, 0),
                1 / sp.sqrt(2 * sp.pi),
                N_("Φ′ is the normal density: its value at 0 is the slope of Φ there"),
                **at_0,
                title=N_("Φ near 0: Φ(z) = ½ + Φ′(0) z + Φ‴(0) z³/6 + …"),
            ),
            Step(
                sp.Subs(sp.Derivative(Phi(z), (z, 3)), z, 0),
                -1 / sp.sqrt(2 * sp.pi),
                N_("the density's second derivative at 0 (Φ is odd about ½: no z²)"),
                **at_0,
            ),
            Step(
                sp.Subs(sp.Derivative(T(z), z), z, 0),
                1 / sp.sqrt(2 * sp.pi),
                N_("the factor √(2/π) inside tanh gives T_b the slope of Φ at 0"),
                **at_0,
                title=N_("T_b(z) = ½(1 + tanh(√(2/π)(z + b z³))) near 0"),
            ),
            Step(
                sp.Subs(sp.Derivative(T(z), (z, 3)), z, 0),
                sp.sqrt(2) * (3 * sp.pi * b - 2) / sp.pi ** sp.Rational(3, 2),
                N_("tanh u = u − u³/3 + …, u = √(2/π)(z + b z³)"),
                **at_0,
            ),
            Step(
                sp.Subs(sp.Derivative(T(z), (z, 3)), z, 0),
                -1 / sp.sqrt(2 * sp.pi),
                N_(
                    "with b = (4 − π)/(6π) ≈ 0.04554, T_b‴(0) = "
                    "Φ‴(0): the series agree "
                    "to third order"
                ),
                by=("doit", "simplify"),
                defs=((T, sp.Lambda(z, tanh_cdf(z, MATCHED))),),
                title=N_("The cubic coefficient"),
            ),
            Step(
                sp.Subs(sp.Derivative(gelu_tanh(z) - gelu(z), (z, 4)), z, 0) / 24,
                (PUBLISHED - MATCHED) / sp.sqrt(2 * sp.pi),
                N_(
                    "the published b = 0.044715 (fitted over a range, not at 0) leaves "
                    "≈ −3.3·10⁻⁴ z⁴ near 0"
                ),
                by=("doit", "simplify"),
                title=N_("The error of GELU_tanh"),
            ),
            Step(
                sp.Subs(sp.Abs(gelu_tanh(z) - gelu(z)), z, sp.Float(z_star, 3)),
                sp.Float(worst, 3),
                "measured with mpmath (a 0.01 grid, refined by root finding on the "
                f"slope): the error peaks at z = ±{z_star:.2f} and vanishes for large "
                "|z|",
                kind="numeric",
            ),
            Step(
                gelu(z),
                gelu_erfc(z),
                N_(
                    "erf is odd, so z·erf(z/√2) = "
                    "|z|·erf(|z|/√2); ½(z + |z|) = max(z, 0), "
                    "and erf = 1 − erfc. For z < 0 nothing cancels: the value is −½|z| "
                    "times a small erfc, not ½z times 1 + erf ≈ 0"
                ),
                by=("erf", "piecewise"),
                title=N_("The float32 pass: GELU through erfc(|z|/√2)"),
            ),
            Step(
                E(0),
                1 - sp.Rational(1, 10**9),
                N_(
                    "Abramowitz & Stegun 7.1.26: at a = 0 the "
                    "formula is the sum of its "
                    "five coefficients"
                ),
                by=("decimals", "doit"),
                defs=erfc_defs,
                title=N_("erfc_AS(a) = (a₁t + … + a₅t⁵) e^(−a²), t = 1/(1 + p a)"),
            ),
            Step(
                sp.Subs(sp.Abs(E(a) - sp.erfc(a)), a, sp.Float(a_star, 3)),
                sp.Float(e_star, 4),
                N_(
                    "measured with mpmath: over a ≥ 0 the error "
                    "swings six times between "
                    "about ±1.39·10⁻⁷, largest here (the book states ≤ 1.5·10⁻⁷)"
                ),
                defs=erfc_defs,
                kind="numeric",
            ),
            Step(
                gelu_erfc(z, E) - gelu(z),
                -sp.Abs(z)
                / 2
                * (E(sp.Abs(z) / sp.sqrt(2)) - sp.erfc(sp.Abs(z) / sp.sqrt(2))),
                N_("the float32 GELU is off by ½|z| times erfc_AS's error"),
                by=("erf", "piecewise"),
                title=N_("The error of the float32 GELU"),
            ),
            Step(
                sp.Subs(sp.Abs(gelu_erfc(z, E) - gelu(z)), z, sp.Float(z_kernel, 3)),
                sp.Float(e_kernel, 3),
                N_(
                    "measured with mpmath: the largest error, "
                    "where float32 numbers are "
                    "2.4·10⁻⁷ apart"
                ),
                defs=erfc_defs,
                kind="numeric",
            ),
        ),
    )
