"""The derivations and the ops' formulas as MathML, remembered between runs.

Building a derivation and printing its steps as MathML takes most of a report's
time, and the result depends only on source code (:mod:`explainer.symbolic`, the
ops, the MathML printer, the report's views) and on the versions of Python and
SymPy, never on a trace. So the views are remembered in ``mathml.json`` beside
the proofs (:func:`explainer.verify.derivations.cache_path`), keyed by a hash of
that source and those versions, as the proofs are: any edit to a derivation or to
the printer renders again. ``EXPLAINER_NO_CACHE=1`` turns it off.

The file is JSON: each view as nested objects, its MathML as strings.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from markupsafe import Markup

from explainer.keyed_file import read_keyed, write_keyed
from explainer.ops.remember import sympy_version
from explainer.verify.derivations import cache_path

T = TypeVar("T")
REPORT = Path(__file__).parent


def source_key() -> str:
    """A hash of everything a view's MathML depends on: the source of
    :mod:`explainer.symbolic` and of the ops (whose formulas ``verify``
    evaluates), of the printer and the views (the gradient's rules and the
    sampling formula too), of this module, and the versions of Python and
    SymPy."""
    digest = hashlib.sha256()
    for version in (sys.version, sympy_version()):
        digest.update(version.encode() + b"\0")
    package = REPORT.parent
    files = [
        *sorted((package / "symbolic").glob("*.py")),
        *sorted((package / "ops").glob("*.py")),
        package / "verify" / "formulas.py",
        REPORT / "mathml.py",
        REPORT / "derivations.py",
        REPORT / "formulas.py",
        REPORT / "gradient_flow.py",
        REPORT / "sampling.py",
        Path(__file__),
    ]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def file_path() -> Path | None:
    """Where the views are remembered; None when caching is off."""
    proofs = cache_path()
    return None if proofs is None else proofs.with_name("mathml.json")


def remembered(*types: type) -> Callable[[Callable[[str], T]], Callable[[str], T]]:
    """Remember what a function of a name returns, across runs: a frozen
    dataclass made of ``types``, strings, ``Markup``, ``None`` and tuples."""
    by_name = {t.__name__: t for t in types}

    def decorate(build: Callable[[str], T]) -> Callable[[str], T]:
        @functools.wraps(build)
        def view(name: str) -> T:
            store = _store()
            if name in store:
                try:
                    return _decode(store[name], by_name)
                except (KeyError, TypeError, ValueError):
                    pass  # written by other code: build it again
            made = build(name)
            try:
                store[name] = _encode(made)
            except TypeError:  # a field of a kind not remembered: build each run
                return made
            _save(store)
            return made

        return view

    return decorate


@functools.cache
def _store() -> dict[str, Any]:
    """The remembered views of this source (empty if none or another source's)."""
    data = read_keyed(file_path(), source_key())
    views = None if data is None else data.get("views")
    return views if isinstance(views, dict) else {}


def _save(store: dict[str, Any]) -> None:
    payload = {"key": source_key(), "views": store}
    write_keyed(file_path(), json.dumps(payload, ensure_ascii=False, sort_keys=True))


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        fields = {
            f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
        return {"type": type(value).__name__, "fields": fields}
    if isinstance(value, Markup):
        return {"markup": str(value)}
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"cannot remember a {type(value).__name__}: {value!r}")


def _decode(data: Any, types: dict[str, type]) -> Any:
    if isinstance(data, list):
        return tuple(_decode(v, types) for v in data)
    if isinstance(data, dict):
        if "markup" in data:
            return Markup(data["markup"])
        fields = {k: _decode(v, types) for k, v in data["fields"].items()}
        return types[data["type"]](**fields)
    return data
