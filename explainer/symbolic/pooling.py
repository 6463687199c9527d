"""A sentence vector from token vectors: the mean over positions, then unit length.
Reimers & Gurevych 2019 (Sentence-BERT, §3: MEAN pooling); the unit length makes the
dot product of two sentence vectors their cosine similarity.
"""

from __future__ import annotations

import sympy as sp

from .symbols import j


def mean_pool(rows: sp.IndexedBase, count: sp.Expr) -> sp.Expr:
    """(1/n) Σ_t x_t: the mean of n token vectors (one feature at a time).

    >>> from explainer.symbolic.symbols import x
    >>> mean_pool(x, 3).doit()
    x[0]/3 + x[1]/3 + x[2]/3
    """
    return sp.Sum(rows[j], (j, 0, count - 1)) / count


def l2_normalize(v: sp.IndexedBase, index: sp.Expr, count: sp.Expr) -> sp.Expr:
    """x_i / √(Σ_j x_j²): the vector scaled to length 1.

    >>> from explainer.symbolic.symbols import x
    >>> vals = {x[0]: 3, x[1]: 4}
    >>> [l2_normalize(x, k, 2).doit().subs(vals) for k in (0, 1)]
    [3/5, 4/5]
    """
    return v[index] / sp.sqrt(sp.Sum(v[j] ** 2, (j, 0, count - 1)))
