"""The matrix symbols of symbolic size that the ops' matrix formulas are written
in (lambdify prints their products as ``.dot``), and the symbols of sizes."""

from __future__ import annotations

import sympy as sp

R, C, K = sp.symbols("R C K", positive=True, integer=True)
X = sp.MatrixSymbol("X", R, K)
Y = sp.MatrixSymbol("Y", R, K)
W = sp.MatrixSymbol("W", K, C)
B = sp.MatrixSymbol("b", 1, C)
Q = sp.MatrixSymbol("Q", R, K)
KM = sp.MatrixSymbol("K", C, K)
A = sp.MatrixSymbol("A", R, C)
V = sp.MatrixSymbol("V", C, K)
H = sp.MatrixSymbol("H", R, K)
EM = sp.MatrixSymbol("E", C, K)
OH = sp.MatrixSymbol("O", R, C)
dk = sp.Symbol("d_k", positive=True)
pad = sp.Symbol("pad", integer=True)
