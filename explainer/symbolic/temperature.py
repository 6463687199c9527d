"""Softmax with a temperature: p_i = exp(z_i / T) / Σ_k exp(z_k / T).

How a language model's next token is sampled from its logits z: T = 1 is the
model's own distribution, T < 1 sharpens it (T → 0 puts all the probability on
the largest logit, greedy decoding), T > 1 flattens it.  Ackley, Hinton &
Sejnowski 1985 (the Boltzmann distribution's temperature); Hinton, Vinyals & Dean
2015, *Distilling the Knowledge in a Neural Network*, §2, Eq. 1; the samplers of
:mod:`explainer.models.generate` (top-k: Fan et al. 2018; top-p: Holtzman et al.
2020) truncate this distribution.
"""

from __future__ import annotations

import sympy as sp

from .symbols import k

temperature = sp.Symbol("T", positive=True)
"""The sampling temperature (real, > 0); not the sequence length ``symbols.T``."""


def temperature_softmax(
    z: sp.IndexedBase, i: sp.Expr, n: sp.Expr, T: sp.Expr = temperature
) -> sp.Expr:
    """softmax(z / T)_i = exp(z_i / T) / Σ_k exp(z_k / T), for n logits z.

    Hinton, Vinyals & Dean 2015, §2, Eq. 1.

    >>> from explainer.symbolic.symbols import i, n
    >>> z = sp.IndexedBase("z", real=True)
    >>> temperature_softmax(z, i, n)
    exp(z[i]/T)/Sum(exp(z[k]/T), (k, 0, n - 1))

    At T = 1 it is the plain softmax:

    >>> from explainer.symbolic.softmax import softmax
    >>> temperature_softmax(z, i, n, 1) == softmax(z, i, n)
    True

    As T → 0 the largest logit takes all the probability (greedy decoding):

    >>> two = temperature_softmax(z, 0, 2).doit().subs({z[0]: 3, z[1]: 1})
    >>> sp.limit(two, temperature, 0, "+"), sp.limit(two, temperature, sp.oo)
    (1, 1/2)
    """
    return sp.exp(z[i] / T) / sp.Sum(sp.exp(z[k] / T), (k, 0, n - 1))
