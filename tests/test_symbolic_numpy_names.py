"""lambdify's NumPy namespace filled without ``from numpy import *``
(explainer/symbolic/numpy_names.py): the same objects as SymPy's own namespace,
less the submodules NumPy imports lazily, and no such import at start-up."""

import importlib
import subprocess
import sys
import types

import numpy as np
import sympy as sp

import explainer.symbolic  # noqa: F401  (fills the namespace on import)
from explainer.symbolic.numpy_names import numpy_names

LAMBDIFY = importlib.import_module("sympy.utilities.lambdify")


def test_the_names_are_sympys_own_less_the_lazy_submodules():
    namespace = LAMBDIFY.MODULES["numpy"][0]
    ours = dict(namespace)
    try:
        LAMBDIFY._import("numpy", reload=True)  # SymPy's own: from numpy import *
        theirs = dict(namespace)
    finally:
        namespace.clear()
        namespace.update(ours)
    left_out = {name for name in theirs if name not in ours}
    assert left_out  # f2py, testing, … : modules, nothing a formula calls
    assert all(isinstance(theirs[name], types.ModuleType) for name in left_out)
    assert set(ours) <= set(theirs)
    assert ours["I"] == theirs["I"] == 1j
    assert all(ours[name] is theirs[name] for name in ours if name != "I")
    assert ours == {**numpy_names(), **ours}


def test_a_lambdified_function_is_the_same_with_either_namespace():
    x, y = sp.symbols("x y")
    expr = sp.exp(-(x**2)) * sp.Heaviside(y) + sp.Abs(x) * sp.sqrt(y)
    values = np.linspace(-2, 2, 7), np.linspace(0.5, 3, 7)
    ours = sp.lambdify((x, y), expr, modules=[numpy_names()])(*values)
    expected = np.exp(-(values[0] ** 2)) + np.abs(values[0]) * np.sqrt(values[1])
    np.testing.assert_array_equal(ours, expected)


def test_start_up_imports_no_lazy_numpy_submodule():
    code = (
        "import sys, sympy as sp; import explainer.symbolic;"
        "sp.lambdify(sp.Symbol('x'), sp.exp(sp.Symbol('x')), 'numpy')(1.0);"
        "print(sorted(m for m in ('numpy.f2py', 'numpy.testing', 'numpy.ma')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
