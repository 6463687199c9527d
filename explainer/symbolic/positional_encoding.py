"""Sinusoidal positional encoding.  Vaswani et al. 2017, §3.5.

PE(pos, 2i) = sin(pos / 10000^(2i/d_model))
PE(pos, 2i+1) = cos(pos / 10000^(2i/d_model))

Column ``col`` of the encoding holds pair ``i = ⌊col/2⌋``; for an odd d_model the
last column (col = d_model − 1, even) is a sine whose cosine partner would be
column d_model, which does not exist.  Nothing else changes.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .symbols import d_model, i, offset, p, pos, q

col = sp.Symbol("col", integer=True, nonnegative=True)  # a column of the encoding
delta = sp.Symbol("delta", integer=True)  # a distance p − q between positions
PE = sp.Function("PE")  # PE(pos, col), shown as in the paper
R_i = sp.Function("R_i")  # R_i(k), the rotation of pair i by offset k
lam = sp.Function("lambda")  # λ(i), the wavelength of pair i
_D_MODEL = d_model  # the shared symbol; function arguments named d_model shadow it


def angular_frequency(i: sp.Expr, d_model: sp.Expr) -> sp.Expr:
    """ω_i = 1/10000^(2i/d_model), the frequency of pair i.  Vaswani et al. §3.5.

    >>> angular_frequency(0, 8)
    1
    >>> angular_frequency(2, 8)
    1/100
    """
    return 10000 ** (-2 * sp.sympify(i) / d_model)


def pe_sin(pos: sp.Expr, i: sp.Expr, d_model: sp.Expr) -> sp.Expr:
    """PE(pos, 2i) = sin(pos/10000^(2i/d_model)).  Vaswani et al. 2017, §3.5.

    >>> pe_sin(pos, 0, d_model)
    sin(pos)
    """
    return sp.sin(pos * angular_frequency(i, d_model))


def pe_cos(pos: sp.Expr, i: sp.Expr, d_model: sp.Expr) -> sp.Expr:
    """PE(pos, 2i+1) = cos(pos/10000^(2i/d_model)).  Vaswani et al. 2017, §3.5.

    >>> pe_cos(0, i, d_model)
    1
    """
    return sp.cos(pos * angular_frequency(i, d_model))


def positional_encoding_expr() -> sp.Piecewise:
    """PE(pos, col) for any column: a sine on even columns, a cosine on odd ones.

    A Piecewise in ``pos``, ``col`` and ``d_model`` that lambdifies to NumPy and
    broadcasts over arrays of positions and columns.  Vaswani et al. 2017, §3.5.

    >>> positional_encoding_expr().subs({col: 3, d_model: 4})
    cos(pos/100)
    """
    pair = sp.floor(col / 2)
    return sp.Piecewise(
        (pe_sin(pos, pair, d_model), sp.Eq(sp.Mod(col, 2), 0)),
        (pe_cos(pos, pair, d_model), True),
    )


def positional_encoding_matrix(n_pos: int, d_model: int) -> sp.ImmutableMatrix:
    """The exact n_pos × d_model encoding (odd d_model allowed).  Vaswani et al. §3.5.

    >>> positional_encoding_matrix(2, 3)
    Matrix([
    [     0,      1,                   0],
    [sin(1), cos(1), sin(10**(1/3)/1000)]])
    """
    if n_pos < 1 or d_model < 1:
        raise ValueError(f"n_pos ({n_pos}) and d_model ({d_model}) must be ≥ 1")
    expr = positional_encoding_expr().subs(_D_MODEL, d_model)
    return sp.ImmutableMatrix(
        n_pos, d_model, lambda row, column: expr.subs({pos: row, col: column})
    )


def rotation(offset: sp.Expr, i: sp.Expr, d_model: sp.Expr) -> sp.ImmutableMatrix:
    """R_i(k), the 2 × 2 rotation with [PE(pos+k,2i), PE(pos+k,2i+1)]ᵀ = R_i(k)·[PE(pos,
    2i), PE(pos,2i+1)]ᵀ.  Vaswani et al. 2017, §3.5 ("a linear function").

    >>> rotation(0, i, d_model)
    Matrix([
    [1, 0],
    [0, 1]])
    """
    angle = offset * angular_frequency(i, d_model)
    return sp.ImmutableMatrix(
        [[sp.cos(angle), sp.sin(angle)], [-sp.sin(angle), sp.cos(angle)]]
    )


def wavelength(i: sp.Expr, d_model: sp.Expr) -> sp.Expr:
    """λ_i = 2π·10000^(2i/d_model), the wavelength of pair i.  Vaswani et al. §3.5.

    >>> wavelength(0, d_model)
    2*pi
    """
    return 2 * sp.pi / angular_frequency(i, d_model)


@functools.cache
def derivation() -> Derivation:
    """PE: the column layout (odd d_model too), rotations, distances, wavelengths."""

    def pe_def_at(width: sp.Expr) -> tuple:
        return (
            (
                PE,
                sp.Lambda((pos, col), positional_encoding_expr().subs(d_model, width)),
            ),
        )

    pe_def, pe_def4, pe_def5 = pe_def_at(d_model), pe_def_at(4), pe_def_at(5)
    lam_def = ((lam, sp.Lambda(i, wavelength(i, d_model))),)

    def pair(at: sp.Expr) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix([PE(at, 2 * i), PE(at, 2 * i + 1)])

    def vector4(at: sp.Expr) -> sp.ImmutableMatrix:
        return sp.ImmutableMatrix([PE(at, column) for column in range(4)])

    block = sp.BlockDiagMatrix(rotation(offset, 0, 4), rotation(offset, 1, 4))
    dot_pair = PE(p, 2 * i) * PE(q, 2 * i) + PE(p, 2 * i + 1) * PE(q, 2 * i + 1)
    dot_at = dot_pair.subs(p, q + delta)
    half = d_model / 2 - 1  # the last pair of an even d_model
    omega = sp.Symbol("omega", positive=True)  # any one frequency ω_i
    return Derivation(
        name="positional-encoding",
        title=N_("Sinusoidal positional encoding"),
        source="Vaswani et al. 2017, §3.5",
        formula=sp.Tuple(
            sp.Eq(PE(pos, 2 * i), pe_sin(pos, i, d_model)),
            sp.Eq(PE(pos, 2 * i + 1), pe_cos(pos, i, d_model)),
        ),
        ops=("positional_encoding", "add"),
        steps=(
            Step(
                PE(pos, 2 * i),
                pe_sin(pos, i, d_model),
                N_("even columns 2i: the Piecewise picks the sine (2i mod 2 = 0)"),
                by=("doit",),
                kind="definition",
                defs=pe_def,
                title=N_("One formula for every column"),
            ),
            Step(
                PE(pos, 2 * i + 1),
                pe_cos(pos, i, d_model),
                N_("odd columns 2i + 1: the cosine of the same pair i = ⌊(2i + 1)/2⌋"),
                by=("doit",),
                kind="definition",
                defs=pe_def,
            ),
            Step(
                sp.ImmutableMatrix([[PE(pos, column) for column in range(5)]]),
                sp.ImmutableMatrix(
                    [[(pe_sin, pe_cos)[c % 2](pos, c // 2, 5) for c in range(5)]]
                ),
                N_(
                    "d_model = 5: pairs 0 and 1 are complete, the last column is "
                    "sin(pos/10000^(4/5)); its partner 2i + 1 = 5 does not exist"
                ),
                by=("doit",),
                kind="instances",
                on="d_model = 5",
                defs=pe_def5,
                title=N_("Odd d_model: the last column is a lone sine"),
            ),
            Step(
                pair(pos + offset),
                sp.MatMul(rotation(offset, i, d_model), pair(pos)),
                N_("sin(a + b) and cos(a + b) expanded, with a = pos·ω_i, b = k·ω_i"),
                by=("doit", "expand_trig"),
                defs=pe_def,
                title=N_("PE(pos + k) = R(k)·PE(pos): a rotation of each pair"),
            ),
            Step(
                sp.Derivative(R_i(offset), pos),
                0,
                N_(
                    "R_i(k) involves only k, i and d_model: the "
                    "same matrix at every pos"
                ),
                by=("doit",),
                defs=((R_i, sp.Lambda(offset, rotation(offset, i, d_model))),),
            ),
            Step(
                vector4(pos + offset),
                sp.MatMul(block, vector4(pos)),
                N_(
                    "all pairs at once: R(k) = diag(R_0(k), R_1(k)) is block-diagonal "
                    "(d_model = 4; for odd d_model the lone last sine is left out)"
                ),
                by=("doit", "expand_trig"),
                kind="instances",
                on="d_model = 4",
                defs=pe_def4,
            ),
            Step(
                dot_pair,
                sp.cos((p - q) * angular_frequency(i, d_model)),
                N_("cos(a − b) = cos a cos b + sin a sin b"),
                by=("doit", "expand_trig"),
                defs=pe_def,
                title=N_("PE(p)·PE(q) depends only on p − q"),
            ),
            Step(
                sp.Derivative(sp.Sum(dot_at, (i, 0, half)), q),
                0,
                N_(
                    "with p = q + δ, the dot product over all d_model/2 pairs does not "
                    "change when both positions move together"
                ),
                by=("diff", "expand_trig", "sums"),
                defs=pe_def,
            ),
            Step(
                sp.Derivative(sp.sin((q + delta) * omega) * sp.sin(q * omega), q),
                omega * sp.sin((2 * q + delta) * omega),
                N_(
                    "odd d_model: the lone last sine adds "
                    "sin(pω)·sin(qω), which changes "
                    "with q at fixed δ; the property holds for even d_model only"
                ),
                by=("doit", "exp"),
            ),
            Step(
                lam(0),
                2 * sp.pi,
                N_("λ_i = 2π/ω_i; the first pair has ω_0 = 1"),
                by=("doit",),
                kind="definition",
                defs=lam_def,
                title=N_("Wavelengths: a geometric progression from 2π to 10000·2π"),
            ),
            Step(
                lam(i + 1) / lam(i),
                10000 ** (2 / d_model),
                N_("each pair's wavelength is a constant factor longer: geometric"),
                by=("powsimp", "powdenest"),
                defs=lam_def,
            ),
            Step(
                sp.Limit(lam(half), d_model, sp.oo),
                10000 * 2 * sp.pi,
                N_(
                    "the last pair i = d_model/2 − 1 approaches "
                    "10000·2π for wide models"
                ),
                by=("doit",),
                defs=lam_def,
            ),
        ),
    )
