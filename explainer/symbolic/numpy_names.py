"""NumPy's names for ``sp.lambdify``, without NumPy's lazily imported submodules.

``sp.lambdify(..., modules="numpy")`` fills its NumPy namespace once per process
with ``from numpy import *``, and that imports every submodule NumPy lists in
``__all__`` (f2py, testing, ma, random, polynomial, …): 0.25–0.4 s of start-up
that no generated function uses. :func:`numpy_names` is the same namespace
without them; :func:`prefill` puts it in place of lambdify's own, so that every
caller that passes ``"numpy"`` gets the same functions without the imports.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

# What SymPy runs to fill its namespace (sympy.utilities.lambdify.MODULES); if a
# SymPy release runs something else, its own namespace is left as it is.
IMPORTS = ("import numpy; from numpy import *; from numpy.linalg import *",)


def numpy_names() -> dict[str, Any]:
    """lambdify's NumPy namespace: ``I``, ``numpy``, NumPy's and ``numpy.linalg``'s
    public names (no submodules: NumPy imports most on first use), SymPy's
    translations (``Heaviside``) and ``Abs``.

    >>> names = numpy_names()
    >>> names["exp"] is np.exp, names["norm"] is np.linalg.norm, "f2py" in names
    (True, True, False)
    """
    names: dict[str, Any] = {"I": 1j, "numpy": np}
    loaded = vars(np)  # a lazy submodule is absent until first used
    for name in np.__all__:
        if name in loaded and not isinstance(loaded[name], ModuleType):
            names[name] = loaded[name]
    names.update({name: getattr(np.linalg, name) for name in np.linalg.__all__})
    names["Heaviside"] = names["heaviside"]
    names.setdefault("Abs", abs)
    return names


def prefill() -> bool:
    """Fill lambdify's NumPy namespace with :func:`numpy_names` unless it is
    filled already or SymPy fills it differently; True if it was filled here."""
    lambdify = importlib.import_module("sympy.utilities.lambdify")
    namespace, default, _, commands = lambdify.MODULES["numpy"]
    if namespace != default or tuple(commands) != IMPORTS:
        return False
    namespace.update(numpy_names())
    return True
