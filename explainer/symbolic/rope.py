"""Rotary position embedding (RoPE).  Su et al. 2021, "RoFormer", §3.2–3.4.

Each adjacent pair (x_{2i}, x_{2i+1}) of a query or key at position m is rotated by
the angle θ_{m,i} = m ω_i, ω_i = base^(−2i/d_k) (Eq. 15, Eq. 34). A rotation keeps
the length of the pair, and the dot product of a rotated query at m with a rotated
key at n depends on the positions only through n − m: attention sees *relative*
positions. Llama uses base 10⁴; SmolLM2 10⁵.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step, chain
from .symbols import d_k, i, written

m_pos, n_pos = sp.symbols("m n", integer=True)  # query and key positions
shift = sp.Symbol("c", integer=True)  # a shift of both positions
theta = sp.Symbol("theta", real=True)  # the angle step ω_i of one pair
omega = sp.IndexedBase("omega", positive=True)  # the frequencies ω_i
base = sp.Symbol("b", positive=True)  # the RoPE base
q0, q1, k0, k1 = sp.symbols("q_0 q_1 k_0 k_1", real=True)


def frequency(i: sp.Expr, d_k: sp.Expr, base: sp.Expr) -> sp.Expr:
    """ω_i = base^(−2i/d_k), the angle step of pair i.  Su et al. 2021, Eq. 15.

    >>> frequency(0, d_k, base)
    1
    """
    return base ** (-2 * i / d_k)


def angle(m: sp.Expr, w: sp.Expr) -> sp.Expr:
    """θ_{m,i} = m ω_i: the rotation of pair i at position m.

    >>> angle(3, theta)
    3*theta
    """
    return m * w


def rotation(a: sp.Expr) -> sp.ImmutableMatrix:
    """R(a) = [[cos a, −sin a], [sin a, cos a]] acting on a column (x_{2i}, x_{2i+1}).

    >>> rotation(0)
    Matrix([
    [1, 0],
    [0, 1]])
    """
    return sp.ImmutableMatrix([[sp.cos(a), -sp.sin(a)], [sp.sin(a), sp.cos(a)]])


def rope_pair(even: sp.Expr, odd: sp.Expr, a: sp.Expr) -> sp.ImmutableMatrix:
    """(x_{2i} cos a − x_{2i+1} sin a, x_{2i} sin a + x_{2i+1} cos a).  Eq. 34.

    >>> rope_pair(1, 0, sp.pi / 2)
    Matrix([
    [0],
    [1]])
    """
    turn = rotation(a)  # each row written x_2i·… then x_2i+1·…, as in the paper
    return sp.ImmutableMatrix(
        [written(sp.Add, turn[row, 0] * even, turn[row, 1] * odd) for row in (0, 1)]
    )


def score(m: sp.Expr, n: sp.Expr, w: sp.Expr) -> sp.Expr:
    """⟨R(m ω) q, R(n ω) k⟩ for one pair: a query at m against a key at n."""
    return (rope_pair(q0, q1, angle(m, w)).T * rope_pair(k0, k1, angle(n, w)))[0]


@functools.cache
def derivation() -> Derivation:
    """RoPE: a rotation (keeps norms); the score depends only on n − m."""
    q = sp.ImmutableMatrix([q0, q1])
    k = sp.ImmutableMatrix([k0, k1])
    relative = (q.T * rotation((n_pos - m_pos) * theta) * k)[0]
    return Derivation(
        name="rope",
        title=N_("Rotary position embedding"),
        source=N_(
            "Su et al. 2021 (RoFormer), Eq. 15 and 34; Touvron et al. 2023, §2.2"
        ),
        formula=sp.Tuple(
            sp.Eq(
                sp.Symbol("RoPE(x, m)_{2i, 2i+1}"),
                rope_pair(q0, q1, m_pos * theta),
                evaluate=False,  # a symbol = a column: not a claim to decide
            ),
            sp.Eq(omega[i], frequency(i, d_k, base)),
        ),
        ops=("rope_angles", "rope"),
        steps=(
            Step(
                rotation(theta).T * rotation(theta),
                sp.eye(2),
                N_("cos² + sin² = 1: R is orthogonal"),
                by=("simplify",),
                title=N_("A rotation"),
            ),
            Step(
                (rope_pair(q0, q1, m_pos * theta).T * rope_pair(q0, q1, m_pos * theta))[
                    0
                ],
                q0**2 + q1**2,
                N_("so RoPE keeps the length of every pair, hence of q and k"),
                by=("trigsimp", "simplify"),
            ),
            *chain(
                score(m_pos, n_pos, theta),
                (
                    (q.T * rotation(m_pos * theta).T * rotation(n_pos * theta) * k)[0],
                    N_("the dot product is qᵀR(mθ)ᵀR(nθ)k"),
                    ("expand",),
                    "definition",
                ),
                (
                    relative,
                    N_("R(mθ)ᵀR(nθ) = R((n − m)θ): angle subtraction formulas"),
                    ("expand_trig", "simplify"),
                ),
                title=N_("Only the offset n − m matters"),
            ),
            Step(
                score(m_pos + shift, n_pos + shift, theta),
                score(m_pos, n_pos, theta),
                N_(
                    "moving query and key by the same c leaves "
                    "the score unchanged; summed "
                    "over the d_k/2 pairs, so does q_m · k_n"
                ),
                by=("expand_trig", "simplify"),
            ),
        ),
    )
