"""Functions made by ``sp.lambdify``, and small facts about formulas, remembered
between runs so that a run whose cache is warm never imports SymPy.

What ``sp.lambdify`` makes is Python source plus the names it reads (NumPy's,
SciPy's); both depend only on this project's source and on the versions of Python
and SymPy, never on a trace. So each function is remembered in
``lambdified.json`` beside the proofs and the MathML (``$XDG_CACHE_HOME/explainer``,
else ``~/.cache/explainer``) as its source and, for each name it reads, the module
that name comes from. A later run compiles that source with those names: the same
code on the same NumPy functions, so the same numbers, bit for bit.

The cache is only a cache. The file is keyed by a hash of the source of
:mod:`explainer.symbolic`, :mod:`explainer.ops`, :mod:`explainer.verify` and
:mod:`explainer.report` and of the versions of Python and SymPy: any edit there
makes everything again. An entry that does not hash to its own digest, does not
compile, or names a function no module has is made again, not trusted.
``EXPLAINER_NO_CACHE=1`` turns it off (as it does the proofs' cache).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from explainer.keyed_file import read_keyed, write_keyed

FILE_NAME = "lambdified.json"
FORMAT = "lambdified 1"  # part of the key: what an entry holds
PACKAGE = Path(__file__).resolve().parents[1]
SOURCES = ("symbolic", "ops", "verify", "report")  # where formulas are made
MODULES = (
    "numpy",
    "numpy.linalg",
    "scipy.special",
    "scipy",
    "math",
    "functools",
    "builtins",
)
"""Where the names a generated function reads may come from, in this order."""


def cache_path() -> Path | None:
    """Where the functions are remembered; None when caching is off (the folder
    and the switch of :func:`explainer.verify.derivations.cache_path`)."""
    from explainer.verify.derivations import cache_path as proofs_path

    proofs = proofs_path()
    return None if proofs is None else proofs.with_name(FILE_NAME)


def sympy_version() -> str:
    """SymPy's release file, read without importing SymPy (0.6 s)."""
    spec = importlib.util.find_spec("sympy")
    if spec is None or not spec.submodule_search_locations:
        return "none"
    release = Path(next(iter(spec.submodule_search_locations))) / "release.py"
    try:
        return release.read_text(encoding="utf-8")
    except OSError:
        return "unknown"


@functools.cache
def source_key() -> str:
    """A hash of what a generated function depends on: the source of the parts
    of the package that make formulas, and the versions of Python and SymPy."""
    digest = hashlib.sha256()
    for part in (FORMAT, sys.version, sympy_version()):
        digest.update(part.encode() + b"\0")
    for folder in SOURCES:
        for path in sorted((PACKAGE / folder).glob("*.py")):
            name = f"{folder}/{path.name}".encode()
            digest.update(name + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def function(name: str, make: Callable[[], Callable[..., Any]]) -> Callable[..., Any]:
    """The function ``make()`` returns (a ``sp.lambdify`` result), remembered
    under ``name`` across runs: from the cache when it holds a sound entry made
    from this source, else made (importing SymPy) and remembered. The first miss
    of a run makes every :func:`known` entry that is missing too, so that a cold
    cache is filled once (``explainer serve`` writes nothing while it serves)."""
    if name in _functions:
        return _functions[name]
    store = _store()
    made = _load(store["functions"].get(name))
    if made is None:
        made = _remember(store, name, make)
        _fill(store)
    _functions[name] = made
    return made


def value(name: str, make: Callable[[], Any]) -> Any:
    """``make()``, a JSON value (a formula's layout, a list of names),
    remembered under ``name`` across runs (a miss fills the rest, as
    :func:`function`'s does)."""
    store = _store()
    if name not in store["values"]:
        store["values"][name] = json.loads(json.dumps(make()))
        _fill(store)
        _save(store)
    return store["values"][name]


def known(name: str, make: Callable[[], Any], kind: str = "functions") -> None:
    """Declare an entry (``kind`` "functions" or "values") that a cache miss
    makes with the rest: every op's formula, the facts about them and the
    functions of verify's identities and of the report's figures."""
    _known[kind][name] = make


_known: dict[str, dict[str, Callable[[], Any]]] = {"functions": {}, "values": {}}


def _remember(
    store: dict[str, Any], name: str, make: Callable[[], Callable[..., Any]]
) -> Callable[..., Any]:
    made = make()
    entry = _entry(made)
    if entry is not None:
        store["functions"][name] = entry
        _save(store)
    return made


def _fill(store: dict[str, Any]) -> None:
    """Make every known entry the store lacks (or holds unsound), then save."""
    for name, make in list(_known["functions"].items()):
        if name not in _functions and _load(store["functions"].get(name)) is None:
            entry = _entry(make())
            if entry is not None:
                store["functions"][name] = entry
    for name, make in list(_known["values"].items()):
        if name not in store["values"]:
            store["values"][name] = json.loads(json.dumps(make()))
    _save(store)


_functions: dict[str, Callable[..., Any]] = {}


def _entry(fn: Callable[..., Any]) -> dict[str, Any] | None:
    """``fn`` as {source, names, digest}; None if its source cannot be read or it
    reads a name none of :data:`MODULES` has (then it is made on each run)."""
    try:
        source = "".join(inspect.getsourcelines(fn)[0])
        code = compile(source, "<lambdified>", "exec")
    except (OSError, TypeError, SyntaxError):
        return None
    names: dict[str, str] = {}
    for used in sorted(set(_names(code))):
        if used not in fn.__globals__:
            continue  # an attribute, or a built-in Python finds by itself
        home = _home(used, fn.__globals__[used])
        if home is None:
            return None
        names[used] = home
    return {"source": source, "names": names, "digest": _digest(source, names)}


def _names(code: types.CodeType) -> Iterator[str]:
    """Every name the code, and the code nested in it (lambdas), reads."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _home(name: str, obj: Any) -> str | None:
    """'module' or 'module:attribute': where ``obj`` comes from."""
    if isinstance(obj, types.ModuleType):
        return obj.__name__ if obj.__name__ in MODULES else None
    for module_name in MODULES:
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, name, None) is obj:
            return f"{module_name}:{name}"
    return None


def _digest(source: str, names: dict[str, str]) -> str:
    text = source + "\0" + json.dumps(names, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _load(entry: Any) -> Callable[..., Any] | None:
    """The function an entry describes; None unless the entry is sound."""
    try:
        source, names = entry["source"], entry["names"]
        if entry["digest"] != _digest(source, names):
            return None
        namespace: dict[str, Any] = {}
        for used, home in names.items():
            module_name, _, attribute = home.partition(":")
            if module_name not in MODULES:
                return None
            module = importlib.import_module(module_name)
            namespace[used] = getattr(module, attribute) if attribute else module
        code = compile(source, "<lambdified>", "exec")
        (defined,) = [c for c in code.co_consts if isinstance(c, types.CodeType)]
        exec(code, namespace)  # the source this project's lambdify call wrote
        made = namespace[defined.co_name]
    except (TypeError, KeyError, ValueError, AttributeError, ImportError):
        return None
    except SyntaxError:  # a damaged entry
        return None
    return made if callable(made) else None


@functools.cache
def _store() -> dict[str, Any]:
    """The remembered entries of this source (empty if none, or another's)."""
    empty: dict[str, Any] = {"functions": {}, "values": {}}
    data = read_keyed(cache_path(), source_key())
    if data is None:
        return empty
    functions, values = data.get("functions"), data.get("values")
    if not isinstance(functions, dict) or not isinstance(values, dict):
        return empty
    return {"functions": functions, "values": values}


def _save(store: dict[str, Any]) -> None:
    payload = {"key": source_key(), **store}
    write_keyed(cache_path(), json.dumps(payload, ensure_ascii=False, sort_keys=True))


def forget() -> None:
    """Drop what this process has read or made (tests: another cache folder)."""
    _functions.clear()
    _store.cache_clear()
    source_key.cache_clear()
