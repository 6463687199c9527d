"""Backward pass of the embedding lookup, with tied input and output embeddings.
Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.5; tying: Press & Wolf
2017; Vaswani et al. 2017, §3.4.

The lookup is X = s·O E with O the T × V one-hot matrix of the tokens
(O_tv = δ(tok_t, v)), E the V × d_model table and s the scale (√d_model in the
paper, 1 when the scaling is a separate stage).  So dE = s·Oᵀ dX: row v of dE is
the sum of the rows of dX at the positions that hold token v (rows
scatter-added; a row no token uses gets 0).  With tied weights the logits are
Z = H Eᵀ as well, and the two contributions add: dE = s·Oᵀ dX + dZᵀ H.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.i18n import N_

from .backward_vjp import Gradient, pairing
from .derivation import Derivation, Step
from .symbols import T, d_model, matrix
from .symbols import vocab_size as V

scale = sp.Symbol("s", positive=True)  # √d_model, or 1
tok = sp.IndexedBase("tok")  # the token ids, one per position
t, v, col = sp.symbols("t v c", integer=True, nonnegative=True)


def table_grad(hot: sp.MatrixExpr, dX: sp.MatrixExpr, s: sp.Expr = 1) -> sp.MatrixExpr:
    """dE = s·Oᵀ dX (rows of dX scatter-added by token).  Goodfellow et al. 2016.

    >>> table_grad(sp.Matrix([[0, 1], [0, 1]]), sp.Matrix([[1], [2]]))
    Matrix([
    [0],
    [3]])
    """
    return s * hot.T * dX


def tied_table_grad(
    hot: sp.MatrixExpr,
    dX: sp.MatrixExpr,
    dZ: sp.MatrixExpr,
    H: sp.MatrixExpr,
    s: sp.Expr = 1,
) -> sp.MatrixExpr:
    """dE = s·Oᵀ dX + dZᵀ H when E is also the output matrix (Z = H Eᵀ).
    Press & Wolf 2017.

    >>> tied_table_grad(sp.Matrix([[1]]), sp.Matrix([[2]]), sp.Matrix([[3]]),
    ...                 sp.Matrix([[4]]))
    Matrix([[14]])
    """
    return table_grad(hot, dX, s) + dZ.T * H


def one_hot_matrix(tokens: Sequence[int], vocab: int) -> sp.ImmutableMatrix:
    """O with O_tv = 1 when token t is v (the forward pass's one_hot rows).

    >>> one_hot_matrix([1, 0], 2)
    Matrix([
    [0, 1],
    [1, 0]])
    """
    return sp.ImmutableMatrix(
        len(tokens), vocab, lambda row, word: int(tokens[row] == word)
    )


def embedding_backward_expr(
    tokens: Sequence[int], vocab: int, d_model: int, s: sp.Expr = 1
) -> sp.ImmutableMatrix:
    """dE (vocab × d_model) for ``matrix("dX", len(tokens), d_model)``, to lambdify.

    >>> embedding_backward_expr([1, 1], 2, 1)
    Matrix([
    [            0],
    [dX_00 + dX_10]])
    """
    dX = matrix("dX", len(tokens), d_model)
    return sp.ImmutableMatrix(table_grad(one_hot_matrix(tokens, vocab), dX, s))


def build(rule=table_grad, tied=tied_table_grad) -> Derivation:
    """The derivation for the rules given (tests plant wrong ones)."""
    hot = sp.MatrixSymbol("O", T, V)
    E = sp.MatrixSymbol("E", V, d_model)
    dX = sp.MatrixSymbol("dX", T, d_model)
    H = sp.MatrixSymbol("H", T, d_model)
    dZ = sp.MatrixSymbol("dZ", T, V)
    lookup = pairing(dX, scale * hot * E)
    one_hot = sp.FunctionMatrix(T, V, sp.Lambda((t, v), sp.KroneckerDelta(tok[t], v)))
    return Derivation(
        name="backward-embedding",
        title=N_("Backward pass of the embedding lookup (tied or not)"),
        source="Goodfellow, Bengio & Courville, Deep Learning, 2016, §6.5; "
        "Press & Wolf 2017; Vaswani et al. 2017, §3.4",
        formula=sp.Tuple(
            sp.Eq(
                sp.MatrixSymbol("dE", V, d_model), rule(hot, dX, scale), evaluate=False
            ),
            sp.Eq(
                sp.MatrixSymbol("dE_tied", V, d_model),
                tied(hot, dX, dZ, H, scale),
                evaluate=False,
            ),
        ),
        steps=(
            Step(
                Gradient(lookup, E),
                rule(hot, dX, scale),
                N_(
                    "X = s·O E with O the one-hot rows of the tokens: a linear layer "
                    "without bias, so dE = s·Oᵀ dX, for any T, V and d_model"
                ),
                by=("doit",),
                title=N_("The lookup is a product with one-hot rows"),
            ),
            Step(
                MatrixElement(hot.T * dX, v, col),
                sp.Sum(sp.KroneckerDelta(tok[t], v) * dX[t, col], (t, 0, T - 1)),
                N_(
                    "with O_tv = δ(tok_t, v): row v of Oᵀ dX adds up the rows of dX at "
                    "the positions holding token v (scatter-add; 0 for unused tokens)"
                ),
                by=("doit", "sums"),
                defs=((hot, one_hot),),
                title=N_("Rows scatter-added by token"),
            ),
            Step(
                Gradient(lookup + pairing(dZ, H * E.T), E),
                tied(hot, dX, dZ, H, scale),
                N_(
                    "tied weights: E is also the output matrix (logits Z = H Eᵀ, "
                    "derivation output); the gradients of the two uses add"
                ),
                by=("doit",),
                title=N_("Tied input and output embeddings"),
            ),
            Step(
                Gradient(pairing(dZ, H * E.T), H),
                dZ * E,
                N_("and the logits send dZ E back to the last hidden states"),
                by=("doit",),
            ),
        ),
    )


@functools.cache
def derivation() -> Derivation:
    """dE = s·Oᵀ dX (scatter-add), tied: + dZᵀ H; proved for every size."""
    return build()
