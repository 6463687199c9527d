"""The ops' lambdified functions remembered between runs (explainer/ops/remember.py):
a function loaded from the cache gives the numbers the function lambdify makes
gives, bit for bit; a cache of another source, or a damaged entry, is made again;
and a run whose cache is warm never imports SymPy."""

import importlib
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from explainer.ops import OPS, remember
from explainer.ops.formula import Formula
from explainer.ops.lambdified import NUMPY, compiled
from explainer.verify import derivations as verify_derivations

FORWARD = [s for s in OPS.values() if s.evaluate is not None and s.example]
"""The forward ops with a formula and a random instance of their inputs."""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(verify_derivations.NO_CACHE, raising=False)
    remember.forget()  # as a new process starts: nothing in memory
    yield tmp_path / "explainer"
    remember.forget()


def _run_every_op() -> dict[str, np.ndarray]:
    values = {}
    for spec in FORWARD:
        inputs, ctx = spec.example(np.random.default_rng(7))
        values[str(spec.op)] = np.asarray(spec.evaluate(inputs, ctx, NUMPY))
    return values


def test_a_remembered_function_gives_the_made_functions_numbers(folder):
    made = _run_every_op()  # a cold cache: every function made by lambdify
    stored = json.loads((folder / remember.FILE_NAME).read_text("utf-8"))
    assert stored["key"] == remember.source_key()
    names = {f"formula:{spec.formula.name}" for spec in FORWARD if spec.formula}
    assert names <= set(stored["functions"])
    remember.forget()
    loaded = _run_every_op()  # from the file
    for op, value in made.items():
        assert loaded[op].dtype == value.dtype, op
        assert loaded[op].tobytes() == value.tobytes(), op  # bit for bit
    # the same source lambdify writes today, read from the file
    for spec in FORWARD:
        formula = spec.formula
        if not isinstance(formula, Formula):
            continue
        entry = stored["functions"][f"formula:{formula.name}"]
        fresh = compiled("numpy", formula.args, formula.expr)
        assert remember._entry(fresh)["source"] == entry["source"]


def _z_squared():
    import sympy as sp

    z = sp.Symbol("z")
    return z**2 + sp.sqrt(z)


def _square():
    import sympy as sp

    z = sp.Symbol("z")
    return sp.lambdify(z, _z_squared(), "numpy")


def _store(folder) -> dict:
    return json.loads((folder / remember.FILE_NAME).read_text("utf-8"))


def _write(folder, data) -> None:
    remember.forget()
    (folder / remember.FILE_NAME).write_text(json.dumps(data), "utf-8")


def test_another_source_or_a_damaged_entry_is_made_again(folder):
    calls = []

    def make():
        calls.append(1)
        return _square()

    points = np.array([4.0, 9.0])
    expected = _square()(points)
    assert np.array_equal(remember.function("square", make)(points), expected)
    assert len(calls) == 1
    remember.forget()
    remember.function("square", make)  # warm: loaded, not made
    assert len(calls) == 1
    good = _store(folder)

    damaged = []
    other = {**good, "key": "another source"}
    damaged.append(other)
    entry = good["functions"]["square"]
    edited = {**entry, "source": entry["source"].replace("sqrt", "exp")}
    damaged.append({**good, "functions": {"square": edited}})  # digest differs
    unsafe = {**entry, "names": {**entry["names"], "sqrt": "os:system"}}
    unsafe["digest"] = remember._digest(unsafe["source"], unsafe["names"])
    damaged.append({**good, "functions": {"square": unsafe}})  # a module not allowed
    broken = {**entry, "source": "def (:\n"}
    broken["digest"] = remember._digest(broken["source"], broken["names"])
    damaged.append({**good, "functions": {"square": broken}})  # does not compile
    damaged.append({**good, "functions": {"square": {"source": 1}}})
    for data in damaged:
        _write(folder, data)
        before = len(calls)
        again = remember.function("square", make)
        assert len(calls) == before + 1, data  # made again, not trusted
        assert np.array_equal(again(points), expected)
        assert _store(folder)["functions"]["square"] == entry  # and replaced
    (folder / remember.FILE_NAME).write_text("{not json", "utf-8")
    remember.forget()
    assert np.array_equal(remember.function("square", make)(np.array([4.0])), [18.0])


def test_the_first_miss_fills_the_cache_and_later_lookups_write_nothing(folder):
    from explainer.trace import Op

    for module in ("explainer.verify", "explainer.report.variant_figures"):
        importlib.import_module(module)  # their functions are known too

    OPS[Op.SOFTMAX].formula.function("numpy")  # one miss
    stored = _store(folder)
    known = remember._known
    assert set(known["functions"]) <= set(stored["functions"])
    assert set(known["values"]) <= set(stored["values"])
    assert {"formula:gelu", "formula:rope", "report:silu"} <= set(stored["functions"])
    written = (folder / remember.FILE_NAME).read_bytes()
    remember.forget()
    for spec in FORWARD:  # every op, as a later run (or request) evaluates them
        inputs, ctx = spec.example(np.random.default_rng(3))
        spec.evaluate(inputs, ctx, NUMPY)
    assert (folder / remember.FILE_NAME).read_bytes() == written


def test_no_cache_writes_nothing(folder, monkeypatch):
    monkeypatch.setenv(verify_derivations.NO_CACHE, "1")
    assert remember.function("square", _square)(3.0) == pytest.approx(9 + 3**0.5)
    assert remember.value("answer", lambda: [42]) == [42]
    assert not folder.exists()


def test_a_remembered_value_is_the_value_made(folder):
    made = remember.value("answer", lambda: {"rows": True, "axes": [[1], []]})
    remember.forget()
    again = remember.value("answer", lambda: pytest.fail("made again"))
    assert again == made == {"rows": True, "axes": [[1], []]}


WARM_RUN = """
import hashlib
import sys
from explainer import ModelConfig, trace_sentence
from explainer.report import render_report
from explainer.verify import verify

trace = trace_sentence(ModelConfig(n_layers=1), "you win or you die")
results = verify(trace, derivations=False, precision=False)
assert all(r.ok for r in results)
page = render_report(trace, results)
digest = hashlib.sha256(page.encode()).hexdigest()
print("sympy" in sys.modules, "mpmath" in sys.modules, digest)
"""


def test_a_warm_run_never_imports_sympy(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONHASHSEED": "0"}
    env.pop(verify_derivations.NO_CACHE, None)

    def run() -> list[str]:
        done = subprocess.run(
            [sys.executable, "-c", WARM_RUN], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    cold = run()  # fills the caches: SymPy builds every formula
    warm = run()
    assert cold[:2] == ["True", "True"]
    assert warm[:2] == ["False", "False"]
    assert warm[2] == cold[2]  # the same page
