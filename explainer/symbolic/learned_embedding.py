"""Learned position and segment (token-type) embeddings.  Devlin et al. 2019, §3.2.

Where the paper adds fixed sinusoids (§3.5), BERT learns a table P with one row per
position and a table S with one row per segment, and adds the rows of the positions
and the segment to the token embedding: x_t = E[id_t] + P[t] + S[segment_t].
"""

from __future__ import annotations

import sympy as sp

segment = sp.Symbol("s_t", integer=True, nonnegative=True)  # a token's segment
P = sp.IndexedBase("P", real=True)  # the learned position table (positions × d_model)
S = sp.IndexedBase("S", real=True)  # the token-type table (segments × d_model)


def position_embedding(table: sp.IndexedBase, position: sp.Expr, column: sp.Expr):
    """P[pos, col]: entry ``col`` of the learned row of position ``pos``.
    Devlin et al. 2019, §3.2.

    >>> from explainer.symbolic.symbols import pos
    >>> from explainer.symbolic.positional_encoding import col
    >>> f = sp.lambdify((P, pos, col), position_embedding(P, pos, col))
    >>> import numpy as np
    >>> f(np.array([[1.0, 2.0], [3.0, 4.0]]), 1, 0)
    np.float64(3.0)
    """
    return table[position, column]


def segment_embedding(table: sp.IndexedBase, seg: sp.Expr, column: sp.Expr):
    """S[s_t, col]: entry ``col`` of the row of the token's segment (0 for a single
    sentence).  Devlin et al. 2019, §3.2.

    >>> segment_embedding(S, 0, sp.Symbol("col"))
    S[0, col]
    """
    return table[seg, column]
