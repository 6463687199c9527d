"""Shared SymPy symbols, defined once, with paper names and honest assumptions.

Sizes are positive integers, indices non-negative integers, entries real.  Every
formula module imports from here, so ``d_k`` in the attention derivation is the
same object as ``d_k`` in the multi-head parameter count.

>>> d_model.is_integer, d_model.is_positive, eps.is_positive
(True, True, True)
>>> vector("x", 3)
Matrix([[x_0, x_1, x_2]])
>>> matrix("W", 2, 2)
Matrix([
[W_00, W_01],
[W_10, W_11]])
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.pretty.stringpict import prettyForm

# Sizes (Vaswani et al. 2017, §3 and Table 3).
d_model = sp.Symbol("d_model", positive=True, integer=True)  # width of the residual
d_k = sp.Symbol("d_k", positive=True, integer=True)  # width of a query/key head
d_v = sp.Symbol("d_v", positive=True, integer=True)  # width of a value head
d_ff = sp.Symbol("d_ff", positive=True, integer=True)  # inner width of the FFN
n_heads = sp.Symbol("h", positive=True, integer=True)  # number of heads (paper: h)
T = sp.Symbol("T", positive=True, integer=True)  # sequence length (seq_len)
T_q = sp.Symbol("T_q", positive=True, integer=True)  # number of query positions
T_k = sp.Symbol("T_k", positive=True, integer=True)  # number of key positions
vocab_size = sp.Symbol("V", positive=True, integer=True)  # vocabulary size
n = sp.Symbol("n", positive=True, integer=True)  # length of a generic vector
n_layers = sp.Symbol("N", positive=True, integer=True)  # layers in a stack (paper: N)

# Indices.
i, j, k, m = sp.symbols("i j k m", integer=True, nonnegative=True)
t = sp.Symbol("t", integer=True, nonnegative=True)  # a token id
# Slack: writing n = j + 1 + r with r ≥ 0 tells SymPy that j < n.
r, r2 = sp.symbols("r r_2", integer=True, nonnegative=True)

# Positions (§3.5).  The offset may be negative.
pos, p, q = sp.symbols("pos p q", integer=True, nonnegative=True)
offset = sp.Symbol("k", integer=True)  # the paper's fixed offset k in PE(pos + k)

# Scalars.
eps = sp.Symbol("epsilon", positive=True)  # LayerNorm's ε
c = sp.Symbol("c", real=True)  # an arbitrary shift
s = sp.Symbol("s", real=True)  # a single attention score
z = sp.Symbol("z", real=True)  # a scalar pre-activation

# Vectors and matrices of symbolic length.
x = sp.IndexedBase("x", real=True)  # an input row
y = sp.IndexedBase("y", real=True)  # a target (one-hot) row
gamma = sp.IndexedBase("gamma", real=True)  # LayerNorm gain
beta = sp.IndexedBase("beta", real=True)  # LayerNorm bias


def vector(name: str, size: int) -> sp.ImmutableMatrix:
    """A 1 × size row of real symbols ``name_0 … name_{size-1}`` (a row vector).

    >>> vector("h", 2)
    Matrix([[h_0, h_1]])
    """
    if size < 1:
        raise ValueError(f"size ({size}) must be at least 1")
    return sp.ImmutableMatrix(
        [[sp.Symbol(f"{name}_{col}", real=True) for col in range(size)]]
    )


def matrix(name: str, rows: int, cols: int) -> sp.ImmutableMatrix:
    """A rows × cols matrix of real symbols ``name_rc`` (``name_r,c`` past 9).

    >>> matrix("E", 1, 3)
    Matrix([[E_00, E_01, E_02]])
    """
    if rows < 1 or cols < 1:
        raise ValueError(f"shape ({rows}, {cols}) must be at least (1, 1)")
    sep = "" if rows <= 10 and cols <= 10 else ","
    return sp.ImmutableMatrix(
        rows,
        cols,
        lambda r, col: sp.Symbol(f"{name}_{r}{sep}{col}", real=True),
    )


class _Named(sp.Function):
    """An undefined function that prints as its bare name: μ rather than μ(x_j)."""

    def _latex(self, printer) -> str:
        return printer._print(sp.Symbol(self.func.__name__))

    def _pretty(self, printer) -> prettyForm:
        return printer._print(sp.Symbol(self.func.__name__))

    def _sympystr(self, printer) -> str:
        return self.func.__name__


def depending(name: str, *on: sp.Basic) -> sp.Expr:
    """A quantity that SymPy differentiates as a function of ``on``, shown as ``name``.

    Used for the chain rule, e.g. μ as a function of x_j:

    >>> mu = depending("mu", x[j])
    >>> mu, sp.diff(mu**2, x[j])
    (mu, 2*mu*Derivative(mu, x[j]))
    """
    return type(name, (_Named,), {})(*on)


def written(op: type[sp.Add] | type[sp.Mul], *args: sp.Expr) -> sp.Expr:
    """``op(*args)`` kept in the order written, so that it prints in the paper's
    order (γ(x − μ) + β, not β + (−μ + x)γ); evaluated when no argument has a
    symbol, so numbers stay numbers.  The value is the same either way.

    >>> written(sp.Add, x[i], beta[i]).args
    (x[i], beta[i])
    >>> written(sp.Add, 1, 2)
    3
    """
    if not any(sp.sympify(arg).free_symbols for arg in args):
        return op(*args)
    return op(*args, evaluate=False)
