"""Backward pass of the FFN's activations: ReLU and GELU, entry by entry.
Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.3 and §6.5; GELU:
Hendrycks & Gimpel 2016, §2.

An activation f applied entry by entry has a diagonal Jacobian, so
dz = dy ⊙ f'(z).  ReLU'(z) = 1 for z > 0 and 0 for z < 0; at z = 0 max(0, z)
has no derivative and the backward pass uses 0, as PyTorch does.  GELU(z) =
z·Φ(z) has GELU'(z) = Φ(z) + z·φ(z) with φ the standard normal density.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .feed_forward import gelu, relu, standard_normal_cdf
from .symbols import i, j, n, r, vector, x, z

dy = sp.IndexedBase("dy", real=True)  # ∂L/∂f(z), the upstream gradient
z_nonzero = sp.Symbol("z", real=True, nonzero=True)  # where ReLU is differentiable


def normal_density(z: sp.Expr) -> sp.Expr:
    """φ(z) = exp(−z²/2)/√(2π), the standard normal density.

    >>> normal_density(0)
    sqrt(2)/(2*sqrt(pi))
    """
    return sp.exp(-(z**2) / 2) / sp.sqrt(2 * sp.pi)


def relu_grad(z: sp.Expr) -> sp.Expr:
    """ReLU'(z) = H(z) with H(0) = 0: 1 for z > 0, else 0 (PyTorch's choice at 0).

    >>> relu_grad(2), relu_grad(0), relu_grad(-1)
    (1, 0, 0)
    """
    return sp.Heaviside(z, 0)


def gelu_grad(z: sp.Expr) -> sp.Expr:
    """GELU'(z) = Φ(z) + z·φ(z).  Hendrycks & Gimpel 2016, §2.

    >>> sp.N(gelu_grad(0))
    0.500000000000000
    """
    return standard_normal_cdf(z) + z * normal_density(z)


def activation_backward_expr(size: int, grad=relu_grad) -> sp.ImmutableMatrix:
    """dz = dy ⊙ f'(z) for the rows ``vector("z", size)`` and ``vector("dy", size)``,
    a 1 × size matrix to lambdify (``grad`` is :func:`relu_grad` or :func:`gelu_grad`).

    >>> activation_backward_expr(1)
    Matrix([[dy_0*Heaviside(z_0, 0)]])
    """
    pre, grads = vector("z", size), vector("dy", size)
    return sp.ImmutableMatrix([[grads[c] * grad(pre[c]) for c in range(size)]])


def build(relu_rule=relu_grad, gelu_rule=gelu_grad) -> Derivation:
    """The derivation for the rules given (tests plant wrong ones)."""
    f = sp.Function("f")
    return Derivation(
        name="backward-activations",
        title=N_("Backward pass of ReLU and GELU"),
        source="Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.3; "
        "Hendrycks & Gimpel 2016, §2",
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("ReLU'(z)"), relu_rule(z), evaluate=False),
            sp.Eq(sp.Symbol("GELU'(z)"), gelu_rule(z), evaluate=False),
        ),
        steps=(
            Step(
                sp.Derivative(sp.Sum(dy[i] * f(x[i]), (i, 0, n - 1)), x[j]),
                dy[j] * sp.Subs(sp.Derivative(f(z), z), z, x[j]),
                N_(
                    "entry i of f(x) depends on x_i only: the Jacobian is diagonal and "
                    "dx = dy ⊙ f'(x), for any f and any length n"
                ),
                by=("diff", "doit"),
                cases=(((n, j + 1 + r),),),
                title=N_("Entry by entry"),
            ),
            Step(
                sp.Derivative(relu(z_nonzero), z_nonzero),
                sp.Piecewise((1, z_nonzero > 0), (0, True)),
                N_("max(0, z) has slope 1 for z > 0 and 0 for z < 0"),
                by=("doit", "piecewise"),
                title=N_("ReLU"),
            ),
            Step(
                sp.Piecewise((1, z > 0), (0, True)),
                relu_rule(z),
                N_(
                    "at z = 0 max(0, z) has no derivative; the backward pass uses 0 "
                    "there (PyTorch's choice), the step function H(z) with H(0) = 0"
                ),
                by=("piecewise",),
                kind="definition",
            ),
            Step(
                sp.Derivative(gelu(z), z),
                gelu_rule(z),
                N_("product rule on z·Φ(z); Φ' = φ, the standard normal density"),
                by=("doit", "simplify"),
                title=N_("GELU (exact erf form)"),
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """dz = dy ⊙ f'(z); ReLU' = H(z); GELU' = Φ(z) + z·φ(z), proved."""
    return build()
