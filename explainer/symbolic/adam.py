"""Adam's update with bias correction.  Kingma & Ba 2015, Algorithm 1 and §3;
Goodfellow, Bengio & Courville, Deep Learning, 2016, §8.5.3.

For a parameter θ with gradient g_t at step t = 1, 2, … (m_0 = v_0 = 0):

    m_t = β₁ m_{t−1} + (1 − β₁) g_t,     v_t = β₂ v_{t−1} + (1 − β₂) g_t²,
    m̂_t = m_t/(1 − β₁ᵗ),   v̂_t = v_t/(1 − β₂ᵗ),   θ_t = θ_{t−1} − α m̂_t/(√v̂_t + ε),

entry by entry.  m_t is a weighted sum of the gradients whose weights add up to
1 − β₁ᵗ, so dividing by it makes m̂_t an average: for a constant gradient m̂_t = g
exactly, at every t.  Hence (with ε = 0) the first step moves every parameter by
α·sign(g) whatever the size of g; without the correction it would move by
α(1 − β₁)/√(1 − β₂)·sign(g), 3.16 α with the defaults.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step

alpha = sp.Symbol("alpha", positive=True)  # the step size
beta_1, beta_2 = sp.symbols("beta_1 beta_2", positive=True)  # decay rates, < 1
epsilon = sp.Symbol("epsilon", positive=True)
t = sp.Symbol("t", integer=True, positive=True)  # the step number, from 1
k = sp.Symbol("k", integer=True, positive=True)
g = sp.Symbol("g", real=True, nonzero=True)  # a gradient entry
theta, m, v = sp.Symbol("theta", real=True), sp.Symbol("m", real=True), sp.Symbol("v")
g_k = sp.IndexedBase("g", real=True)  # the gradient at step k

DEFAULTS = {"alpha": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}
"""Kingma & Ba 2015, Algorithm 1."""


def first_moment(m: sp.Expr, g: sp.Expr, beta_1: sp.Expr) -> sp.Expr:
    """m_t = β₁ m_{t−1} + (1 − β₁) g_t.  Kingma & Ba 2015, Algorithm 1.

    >>> first_moment(0, g, beta_1)
    g*(1 - beta_1)
    """
    return beta_1 * m + (1 - beta_1) * g


def second_moment(v: sp.Expr, g: sp.Expr, beta_2: sp.Expr) -> sp.Expr:
    """v_t = β₂ v_{t−1} + (1 − β₂) g_t².  Kingma & Ba 2015, Algorithm 1.

    >>> second_moment(0, g, beta_2)
    g**2*(1 - beta_2)
    """
    return beta_2 * v + (1 - beta_2) * g**2


def bias_corrected(moment: sp.Expr, beta: sp.Expr, t: sp.Expr) -> sp.Expr:
    """m̂_t = m_t/(1 − βᵗ).  Kingma & Ba 2015, Algorithm 1 and §3.

    >>> bias_corrected(m, beta_1, 1)
    m/(1 - beta_1)
    """
    return moment / (1 - beta**t)


def adam_step(
    theta: sp.Expr, m_hat: sp.Expr, v_hat: sp.Expr, alpha: sp.Expr, epsilon: sp.Expr
) -> sp.Expr:
    """θ_t = θ_{t−1} − α m̂_t/(√v̂_t + ε).  Kingma & Ba 2015, Algorithm 1.

    >>> adam_step(theta, 4, 4, alpha, 0)
    -2*alpha + theta
    """
    return theta - alpha * m_hat / (sp.sqrt(v_hat) + epsilon)


def adam_update_expr() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """(θ_t, m_t, v_t) from θ_{t−1}, m_{t−1}, v_{t−1}, g, t and the hyper-parameters
    (symbols ``theta m v g t alpha beta_1 beta_2 epsilon``), to lambdify entry by
    entry.

    >>> adam_update_expr()[1]
    beta_1*m + g*(1 - beta_1)
    """
    new_m, new_v = first_moment(m, g, beta_1), second_moment(v, g, beta_2)
    m_hat, v_hat = bias_corrected(new_m, beta_1, t), bias_corrected(new_v, beta_2, t)
    return adam_step(theta, m_hat, v_hat, alpha, epsilon), new_m, new_v


def _unrolled(steps: int) -> sp.Expr:
    """m_steps by running the recursion from m_0 = 0 with gradients g_1 … g_steps."""
    moment = sp.S.Zero
    for step in range(1, steps + 1):
        moment = first_moment(moment, g_k[step], beta_1)
    return moment


def build(correction=bias_corrected) -> Derivation:
    """Adam's derivation for the bias correction given (tests plant wrong ones)."""
    weights = sp.Sum((1 - beta_1) * beta_1 ** (t - k), (k, 1, t))
    constant_m = sp.Sum((1 - beta_1) * beta_1 ** (t - k) * g, (k, 1, t))
    constant_v = sp.Sum((1 - beta_2) * beta_2 ** (t - k) * g**2, (k, 1, t))
    m_1, v_1 = first_moment(0, g, beta_1), second_moment(0, g, beta_2)
    m_hat_1, v_hat_1 = sp.symbols("mhat_1 vhat_1", real=True)
    first_defs = (
        (m_hat_1, correction(m_1, beta_1, 1)),
        (v_hat_1, correction(v_1, beta_2, 1)),
    )
    uncorrected = adam_step(0, m_1, v_1, alpha, 0)
    return Derivation(
        name="adam",
        title=N_("Adam's update with bias correction"),
        source=N_(
            "Kingma & Ba 2015, Algorithm 1 and §3; Goodfellow, Bengio & "
            "Courville, Deep Learning, 2016, §8.5.3"
        ),
        formula=sp.Tuple(
            sp.Eq(sp.Symbol("m_t"), first_moment(m, g, beta_1), evaluate=False),
            sp.Eq(sp.Symbol("v_t"), second_moment(v, g, beta_2), evaluate=False),
            sp.Eq(
                sp.Symbol("theta_t"),
                adam_step(
                    theta,
                    correction(sp.Symbol("m_t"), beta_1, t),
                    correction(sp.Symbol("v_t"), beta_2, t),
                    alpha,
                    epsilon,
                ),
                evaluate=False,
            ),
        ),
        steps=(
            Step(
                _unrolled(4),
                sp.Sum((1 - beta_1) * beta_1 ** (4 - k) * g_k[k], (k, 1, 4)),
                N_(
                    "from m_0 = 0 the recursion is a weighted sum of the gradients, "
                    "the newest weighted most"
                ),
                by=("doit", "expand"),
                kind="instances",
                on="t = 4",
                title=N_("m_t is an exponential moving sum"),
            ),
            Step(
                weights,
                1 - beta_1**t,
                N_(
                    "its weights (1 − β₁)β₁^(t−k) add up to 1 − β₁ᵗ, not 1: a "
                    "geometric series, for every t"
                ),
                by=("doit", "cancel"),
            ),
            Step(
                correction(constant_m, beta_1, t),
                g,
                N_(
                    "so for a constant gradient g the corrected m̂_t is g itself at "
                    "every step: dividing by 1 − β₁ᵗ makes it an unbiased average"
                ),
                by=("doit", "cancel"),
                title=N_("Bias correction: m̂_t and v̂_t are averages, for every t"),
            ),
            Step(
                correction(constant_v, beta_2, t),
                g**2,
                N_("likewise v̂_t = g² for a constant gradient"),
                by=("doit", "cancel"),
            ),
            Step(
                adam_step(0, m_hat_1, v_hat_1, alpha, 0),
                -alpha * sp.sign(g),
                N_(
                    "step 1 (m_0 = v_0 = 0, ε = 0): m̂_1 = g and v̂_1 = g², so θ moves "
                    "by −α g/|g| = −α·sign(g), whatever the size of g"
                ),
                by=("simplify",),
                defs=first_defs,
                title=N_("The first step moves each parameter by α"),
            ),
            Step(
                uncorrected,
                -alpha * (1 - beta_1) / sp.sqrt(1 - beta_2) * sp.sign(g),
                N_(
                    "without the correction the first step would be scaled by "
                    "(1 − β₁)/√(1 − β₂) …"
                ),
                by=("simplify",),
            ),
            Step(
                sp.Subs(
                    (1 - beta_1) / sp.sqrt(1 - beta_2),
                    (beta_1, beta_2),
                    (sp.Float("0.9", 1), sp.Float("0.999", 3)),
                ),
                sp.Float("3.16", 3),
                N_(
                    "… which is √10 ≈ 3.16 with the defaults β₁ = 0.9, β₂ = 0.999: "
                    "bias correction removes this start-up distortion"
                ),
                kind="numeric",
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """Adam: m̂_t = g for a constant gradient; the first step is α·sign(g)."""
    return build()
