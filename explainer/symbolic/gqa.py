"""Grouped-query attention (GQA).  Ainslie et al. 2023, §2.2.

h query heads share h_kv key/value heads, r = h / h_kv query heads per group:
query head j reads K/V head ⌊j / r⌋. That is ordinary multi-head attention
(Vaswani et al. 2017, §3.2.2) whose K and V heads are each repeated r times, which
is how the forward pass computes it (``repeat_kv``). r = 1 is multi-head attention;
h_kv = 1 is multi-query attention (Shazeer 2019).
"""

from __future__ import annotations

import functools

import sympy as sp

from explainer.i18n import N_

from .derivation import Derivation, Step

g, j_in = sp.symbols("g j", integer=True, nonnegative=True)  # group, index in group
spare = sp.Symbol("s", integer=True, nonnegative=True)  # r = j + 1 + s: j < r
ratio = sp.Symbol("r", integer=True, positive=True)  # query heads per K/V head
head = sp.Symbol("j", integer=True, nonnegative=True)  # a query head


def quotient(y: sp.Expr, r: sp.Expr) -> sp.Expr:
    """(y − y mod r)/r, integer division written with the remainder, unevaluated.

    >>> quotient(7, 3)
    (-1 + 7)/3
    """
    return sp.Mul(
        sp.Add(y, -sp.Mod(y, r), evaluate=False),
        sp.Pow(r, -1, evaluate=False),
        evaluate=False,
    )


def kv_head(query_head: sp.Expr, r: sp.Expr) -> sp.Expr:
    """⌊j / r⌋: the K/V head that query head j reads.  Ainslie et al. 2023.

    >>> [kv_head(q, 3) for q in range(6)]
    [0, 0, 0, 1, 1, 1]
    """
    return sp.floor(query_head / r)


@functools.cache
def derivation() -> Derivation:
    """Query heads g·r … g·r + r − 1 share K/V head g; GQA is MHA with K/V repeated."""
    stack = sp.Matrix(sp.symbols("K_0:3", real=True))  # one entry per K/V head
    return Derivation(
        name="gqa",
        title=N_("Grouped-query attention"),
        source="Ainslie et al. 2023, §2.2; Vaswani et al. 2017, §3.2.2",
        formula=sp.Eq(sp.Symbol("kv(j)"), kv_head(head, ratio)),
        ops=("repeat_kv",),
        steps=(
            Step(
                kv_head(g * ratio + j_in, ratio),
                quotient(g * ratio + j_in, ratio),
                N_("integer division: ⌊y/r⌋ = (y − y mod r)/r"),
                by=("floor", "simplify"),
                kind="definition",
                title=N_("Which K/V head a query head reads"),
            ),
            Step(
                quotient(g * ratio + j_in, ratio),
                g,
                N_(
                    "query head g·r + j with 0 ≤ j < r, said to SymPy as r = j + 1 + s "
                    "(s ≥ 0): (g·r + j) mod r = j, so it reads K/V head g, for every r"
                ),
                by=("simplify",),
                cases=(((ratio, j_in + 1 + spare),),),
            ),
            Step(
                sp.Subs(kv_head(head, ratio), ratio, 1),
                head,
                N_(
                    "r = 1: every query head has its own K/V "
                    "head (multi-head attention)"
                ),
                by=("doit",),
                kind="definition",
            ),
            Step(
                sp.MatMul(
                    sp.KroneckerProduct(sp.Identity(3), sp.OneMatrix(3, 1)), stack
                ),
                sp.Matrix([stack[kv_head(q, 3)] for q in range(9)]),
                N_(
                    "repeating each of 3 K/V heads r = 3 times, "
                    "(I₃ ⊗ 1₃)·K, gives query "
                    "head j the K/V head ⌊j / 3⌋: GQA is multi-head attention with "
                    "K and V repeated (SmolLM2: 9 query heads, 3 K/V heads)"
                ),
                by=("simplify",),
                title=N_("GQA is multi-head attention with K/V repeated"),
                kind="instances",
                on="3 K/V heads, r = 3",
            ),
        ),
    )
