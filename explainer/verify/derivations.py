"""The symbolic derivations themselves: every step proved by SymPy.

Proving all of them takes about a second, and the outcome depends only on the
source of :mod:`explainer.symbolic` (the steps and the tactics) and on the versions
of Python, SymPy and mpmath, never on a trace. So a run in which *every* step was
proved is remembered in ``proofs.json`` under the user cache folder
(``$XDG_CACHE_HOME/explainer``, else ``~/.cache/explainer``), keyed by a hash of
that source and those versions: any edit to a derivation, or another SymPy, proves
everything again, and a failed proof is never remembered. Set
``EXPLAINER_NO_CACHE=1`` to prove every step on every run.

Each result counts its steps by label (:data:`explainer.symbolic.derivation.KINDS`):
"17 steps hold: 13 proved, 2 checked on instances, 2 definitions, 0 numeric,
0 assumptions". The labels are part of the source, so they are part of the key;
the cache remembers the counts, under :data:`CACHE_FORMAT`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from explainer.i18n import N_
from explainer.keyed_file import read_keyed, write_keyed
from explainer.step_labels import tally_text
from explainer.verify.result import CheckResult
from explainer.wording import Later, Words, words

if TYPE_CHECKING:
    from explainer.symbolic import Derivation

# SymPy and the derivations are imported by the functions that prove or count:
# a report that shows no proof (they are remembered) needs neither.

NO_CACHE = "EXPLAINER_NO_CACHE"
"""Environment variable: when set (and not ``0``), never read or write the cache."""

CACHE_FORMAT = "step labels 1"
"""Part of the key: what ``proofs.json`` holds (counts per label since labels)."""


def check_derivations() -> Iterator[CheckResult]:
    """One result per derivation: every step holds (counted by label), or the
    first that does not."""
    from explainer.symbolic.derivation import tally

    key = source_key()
    remembered = _read_cache(key)
    if remembered is not None:
        for name, counts in remembered.items():
            cached = N_("{held} (cached, same source)")
            yield _result(name, words(cached, held=held(counts)))
        return
    results, proved = [], {}
    for name in list_derivations():
        steps = get_derivation(name).check()
        bad = [r for r in steps if not r.ok]
        counts = tally(steps)
        detail = (
            held(counts)
            if not bad
            else words(
                N_("step does not hold: {why} (remainder {residual}); {tally}"),
                why=words(bad[0].step.why),
                residual=str(bad[0].residual),
                tally=Later(tally_text, counts),
            )
        )
        results.append(_result(name, detail, failed=len(bad)))
        proved[name] = counts
    if all(r.ok for r in results):
        _write_cache(key, proved)
    yield from results


def held(counts: dict[str, int]) -> Words:
    """'17 steps hold: 13 proved, 2 checked on instances, …'.

    >>> held({"proved": 2, "definition": 1})
    '3 steps hold: 2 proved, 0 checked on instances, 1 definition, 0 numeric, \
0 assumptions'
    """
    return words(
        N_("{n} steps hold: {tally}"),
        n=sum(counts.values()),
        tally=Later(tally_text, counts),
    )


def step_counts(names: list[str] | None = None) -> dict[str, int]:
    """The steps of the derivations ``names`` (all when None) counted by label:
    the labels are declared in the source, so no proof is needed to count them."""
    from explainer.symbolic.derivation import LABELS

    total = dict.fromkeys(LABELS, 0)
    for name in list_derivations() if names is None else names:
        for label, count in get_derivation(name).tally().items():
            total[label] += count
    return total


def list_derivations() -> list[str]:
    """:func:`explainer.symbolic.list_derivations` (importing SymPy)."""
    from explainer import symbolic

    return symbolic.list_derivations()


def derivation_names() -> list[str]:
    """:func:`list_derivations`, remembered across runs (no SymPy when warm)."""
    from explainer.ops import remember

    remember.known("derivation names", list_derivations, "values")
    return remember.value("derivation names", list_derivations)


def get_derivation(name: str) -> Derivation:
    """:func:`explainer.symbolic.get_derivation` (importing SymPy)."""
    from explainer import symbolic

    return symbolic.get_derivation(name)


SYMBOLIC = words(N_("symbolic"))
"""Where a derivation is checked: on symbols, not on a trace's numbers."""


def _result(name: str, detail: str, failed: int = 0) -> CheckResult:
    return CheckResult(
        "derivation", name, SYMBOLIC, float(failed), 0.0, not failed, detail=detail
    )


def source_key() -> str:
    """A hash of everything a proof's outcome depends on: the source files of
    :mod:`explainer.symbolic` and of this module as they were imported, and the
    library versions."""
    import mpmath
    import sympy as sp

    digest = hashlib.sha256()
    for version in (CACHE_FORMAT, sys.version, sp.__version__, mpmath.__version__):
        digest.update(version.encode() + b"\0")
    digest.update(_source_digest())
    return digest.hexdigest()


@functools.cache
def _source_digest() -> bytes:
    """The source files, hashed once, as :mod:`explainer.symbolic` is imported: a
    file edited while a long run proves would otherwise file the old code's
    proofs under the new code's key."""
    import explainer.symbolic as symbolic

    digest = hashlib.sha256()
    files = [*sorted(Path(symbolic.__file__).parent.glob("*.py")), Path(__file__)]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.digest()


def cache_path() -> Path | None:
    """Where proved derivations are remembered; None when caching is off."""
    if os.environ.get(NO_CACHE, "0") not in ("", "0"):
        return None
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = Path.home() / ".cache"
        except RuntimeError:  # no home folder: nowhere to remember
            return None
    return Path(base) / "explainer" / "proofs.json"


def _read_cache(key: str) -> dict[str, dict[str, int]] | None:
    data = read_keyed(cache_path(), key)
    if data is None:
        return None
    proved = data.get("proved")
    if not isinstance(proved, dict) or sorted(proved) != list_derivations():
        return None
    if not all(_counts(counts) for counts in proved.values()):
        return None
    return {name: proved[name] for name in list_derivations()}


def _counts(counts: object) -> bool:
    """True for a dict of non-negative int counts keyed by known labels."""
    from explainer.symbolic.derivation import LABELS

    return (
        isinstance(counts, dict)
        and set(counts) <= set(LABELS)
        and all(type(v) is int and v >= 0 for v in counts.values())
    )


def _write_cache(key: str, proved: dict[str, dict[str, int]]) -> None:
    write_keyed(cache_path(), json.dumps({"key": key, "proved": proved}, indent=1))
