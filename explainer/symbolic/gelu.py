"""GELU and its tanh approximation.  Hendrycks & Gimpel 2016, §2 and §3.1.

GELU(z) = z Φ(z), Φ the standard normal CDF (the exact erf form BERT and MiniLM
use). The paper also gives z/2 · (1 + tanh(√(2/π)(z + 0.044715 z³))), which GPT-2
uses. Here both constants are *derived*, by matching the Taylor series of Φ at 0
to third order, and the published 0.044715 is shown to leave an error of order z⁴
near 0 and at most about 4.7·10⁻⁴ anywhere: close to float32's tolerance, which is
why ``explainer verify`` catches the approximation only where activations reach
|z| ≈ 2.7 (tests/test_verify_breaks_models.py).
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from .derivation import Derivation, Step
from .feed_forward import gelu, standard_normal_cdf
from .symbols import z

b = sp.Symbol("b", positive=True)  # the cubic coefficient inside tanh
PUBLISHED = sp.Rational(44715, 10**6)  # Hendrycks & Gimpel 2016, §3.1
MATCHED = (4 - sp.pi) / (6 * sp.pi)  # the coefficient that matches Φ''' at 0


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


@functools.cache
def largest_error() -> tuple[float, float]:
    """(z, |GELU_tanh(z) − GELU(z)|) where the error peaks for z > 0, found with
    mpmath's root finder on its slope. The error z·(T(z) − Φ(z)) is even in z
    (T − Φ is odd), so it peaks at −z too.

    >>> z_star, err = largest_error()
    >>> round(z_star, 2), f"{err:.2e}"
    (2.7, '4.73e-04')
    """
    error = sp.lambdify(z, gelu_tanh(z) - gelu(z), "mpmath")
    slope = sp.lambdify(z, sp.diff(gelu_tanh(z) - gelu(z), z), "mpmath")
    with mpmath.workdps(30):
        z_star = mpmath.findroot(slope, 2.7)
        return float(z_star), float(abs(error(z_star)))


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
    return Derivation(
        name="gelu",
        title="GELU and its tanh approximation",
        source="Hendrycks & Gimpel 2016, §2 (GELU = z Φ(z)) and §3.1 (tanh form)",
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("GELU(z)"), gelu(z)),
            sp.Eq(sp.Symbol("GELU_tanh(z)"), gelu_tanh(z)),
        ),
        ops=("gelu",),
        steps=(
            Step(
                sp.Subs(sp.Derivative(Phi(z), z), z, 0),
                1 / sp.sqrt(2 * sp.pi),
                "Φ′ is the normal density: its value at 0 is the slope of Φ there",
                **at_0,
                title="Φ near 0: Φ(z) = ½ + Φ′(0) z + Φ‴(0) z³/6 + …",
            ),
            Step(
                sp.Subs(sp.Derivative(Phi(z), (z, 3)), z, 0),
                -1 / sp.sqrt(2 * sp.pi),
                "the density's second derivative at 0 (Φ is odd about ½: no z²)",
                **at_0,
            ),
            Step(
                sp.Subs(sp.Derivative(T(z), z), z, 0),
                1 / sp.sqrt(2 * sp.pi),
                "the factor √(2/π) inside tanh gives T_b the slope of Φ at 0",
                **at_0,
                title="T_b(z) = ½(1 + tanh(√(2/π)(z + b z³))) near 0",
            ),
            Step(
                sp.Subs(sp.Derivative(T(z), (z, 3)), z, 0),
                sp.sqrt(2) * (3 * sp.pi * b - 2) / sp.pi ** sp.Rational(3, 2),
                "tanh u = u − u³/3 + …, u = √(2/π)(z + b z³)",
                **at_0,
            ),
            Step(
                sp.Subs(sp.Derivative(T(z), (z, 3)), z, 0),
                -1 / sp.sqrt(2 * sp.pi),
                "with b = (4 − π)/(6π) ≈ 0.04554, T_b‴(0) = Φ‴(0): the series agree "
                "to third order",
                by=("doit", "simplify"),
                defs=((T, sp.Lambda(z, tanh_cdf(z, MATCHED))),),
                title="The cubic coefficient",
            ),
            Step(
                sp.Subs(sp.Derivative(gelu_tanh(z) - gelu(z), (z, 4)), z, 0) / 24,
                (PUBLISHED - MATCHED) / sp.sqrt(2 * sp.pi),
                "the published b = 0.044715 (fitted over a range, not at 0) leaves "
                "≈ −3.3·10⁻⁴ z⁴ near 0; numerically the error peaks at "
                f"{worst:.2e} at z = ±{z_star:.2f} and vanishes for large |z|",
                by=("doit", "simplify"),
                title="The error of GELU_tanh",
            ),
        ),
    )
