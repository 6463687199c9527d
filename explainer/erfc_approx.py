"""The constants of Abramowitz & Stegun's erfc approximation, formula 7.1.26.

For a ≥ 0, with t = 1/(1 + p·a):

    erfc(a) ≈ (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵) · e^(−a²),   |error| ≤ 1.5·10⁻⁷

(Abramowitz & Stegun 1964, *Handbook of Mathematical Functions*, p. 299, after
Hastings 1955). The float32 GELU of :func:`explainer.numeric.gelu` evaluates it in
a dozen vectorised NumPy steps, where SciPy's ``erf`` runs element by element and
took a third of MiniLM's forward pass. :mod:`explainer.symbolic.gelu` builds the
same formula from these decimal strings and measures its error with mpmath.
Kept as strings so that both sides read the exact published digits.
"""

P = "0.3275911"
COEFFICIENTS = (
    "0.254829592",
    "-0.284496736",
    "1.421413741",
    "-1.453152027",
    "1.061405429",
)
"""a₁ … a₅."""
