"""Token embedding.  Vaswani et al. 2017, §3.4.

A token id t becomes the one-hot row e_t; e_t E picks row t of the V × d_model
embedding matrix E (a lookup), and the paper multiplies it by √d_model before
the positional encoding is added.
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step
from .positional_encoding import pe_cos, pe_sin
from .symbols import d_model, i, j, matrix, pos, r, t, vocab_size

v = sp.Symbol("v", integer=True, nonnegative=True)  # a vocabulary index
sigma_e2 = sp.Symbol("sigma_e^2", positive=True)  # variance of an embedding entry


def one_hot(t: sp.Expr, vocab_size: int) -> sp.ImmutableMatrix:
    """e_t, the 1 × V row with a 1 in column t.  Vaswani et al. 2017, §3.4.

    >>> one_hot(1, 3)
    Matrix([[0, 1, 0]])
    """
    if vocab_size < 1:
        raise ValueError(f"vocab_size ({vocab_size}) must be at least 1")
    return sp.ImmutableMatrix(
        [[sp.KroneckerDelta(t, col) for col in range(vocab_size)]]
    )


def one_hot_expr(vocab_size: int) -> sp.ImmutableMatrix:
    """e_t in the token id symbol ``t``, as Piecewise entries that lambdify to NumPy
    and broadcast over arrays of ids.  Vaswani et al. 2017, §3.4.

    >>> f = sp.lambdify(t, one_hot_expr(3))
    >>> f(2).tolist()
    [[0.0, 0.0, 1.0]]
    """
    if vocab_size < 1:
        raise ValueError(f"vocab_size ({vocab_size}) must be at least 1")
    return sp.ImmutableMatrix(
        [[sp.Piecewise((1, sp.Eq(t, col)), (0, True)) for col in range(vocab_size)]]
    )


def embedding_expr(vocab_size: int, d_model: int) -> sp.ImmutableMatrix:
    """e_t E for the token id ``t`` and ``matrix("E", vocab_size, d_model)``: row t
    of E.  Vaswani et al. 2017, §3.4.

    >>> embedding_expr(2, 1).subs(t, 1)
    Matrix([[E_10]])
    """
    return one_hot_expr(vocab_size) * matrix("E", vocab_size, d_model)


def scale_embedding(row: sp.Expr, d_model: sp.Expr) -> sp.Expr:
    """row·√d_model.  Vaswani et al. 2017, §3.4 ("multiply those weights by √d_model").

    >>> scale_embedding(1, 16)
    4
    """
    return row * sp.sqrt(d_model)


@functools.cache
def derivation() -> Derivation:
    """Embedding: one-hot × E is a lookup (any V); why the √d_model factor."""
    E = sp.IndexedBase("E", real=True)
    E4 = sp.MatrixSymbol("E", 4, 2)
    pe_sq = pe_sin(pos, i, d_model) ** 2 + pe_cos(pos, i, d_model) ** 2
    return Derivation(
        name="embedding",
        title=N_("Token embedding"),
        source="Vaswani et al. 2017, §3.4",
        formula=sp.Eq(
            sp.Symbol("x_t"),
            scale_embedding(
                sp.MatrixSymbol("e_t", 1, vocab_size)
                * sp.MatrixSymbol("E", vocab_size, d_model),
                d_model,
            ),
            evaluate=False,
        ),
        ops=("one_hot", "embedding", "scale_embedding"),
        steps=(
            Step(
                sp.Sum(sp.KroneckerDelta(t, v) * E[v, j], (v, 0, vocab_size - 1)),
                E[t, j],
                N_(
                    "the one-hot row has a single 1, in column t: the product is row t "
                    "of E, for any vocabulary size V > t"
                ),
                by=("doit",),
                cases=(((vocab_size, t + 1 + r),),),
                title=N_("One-hot × E is a row lookup"),
            ),
            Step(
                sp.MatMul(one_hot(t, 4), E4),
                sp.ImmutableMatrix([[E4[t, 0], E4[t, 1]]]),
                N_("the same with the forward pass's shapes (V = 4, d_model = 2)"),
                by=("expand",),
                on="V = 4, d_model = 2, t = 0…3",
                cases=tuple(((t, token),) for token in range(4)),
            ),
            Step(
                sigma_e2,
                1 / d_model,
                N_(
                    "the entries of E have mean 0 and variance 1/d_model: a common "
                    "initialisation (tied with the output layer), assumed, not proved; "
                    "trained embeddings need not keep it"
                ),
                kind="assumption",
                title=N_("Why × √d_model: match the size of the positional encoding"),
            ),
            Step(
                sp.Sum(sigma_e2, (j, 0, d_model - 1)),
                1,
                N_("then E‖e_t E‖² = Σ_j E[E_tj²] = d_model · σ_e² = 1"),
                by=("doit",),
                defs=((sigma_e2, 1 / d_model),),
            ),
            Step(
                sp.Sum(
                    scale_embedding(1, d_model) ** 2 * sigma_e2, (j, 0, d_model - 1)
                ),
                d_model,
                N_("after × √d_model: E‖x_t‖² = d_model"),
                by=("doit",),
                defs=((sigma_e2, 1 / d_model),),
            ),
            Step(
                sp.Sum(pe_sq, (i, 0, d_model / 2 - 1)),
                d_model / 2,
                N_(
                    "‖PE(pos)‖² = Σ_i (sin² + cos²) = d_model/2 (even d_model): the "
                    "scaled embedding and PE have the same order of size"
                ),
                by=("trigsimp", "doit"),
            ),
        ),
    )
