"""The derivations' MathML remembered between runs (explainer/report/cache.py):
a remembered view is the view built afresh, field for field; another source's
file, or a damaged one, is not used."""

import json

import pytest

from explainer.report import cache
from explainer.report.derivations import derivation_view
from explainer.report.formulas import _formula_math
from explainer.report.grouping import DERIVATIONS
from explainer.verify import derivations as verify_derivations

build = derivation_view.__wrapped__.__wrapped__  # under functools.cache, remembered
SHOWN = sorted({name for shown in DERIVATIONS.values() for name, _ in shown})


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(verify_derivations.NO_CACHE, raising=False)
    forget()  # a report built earlier in this process printed the ops already
    yield tmp_path / "explainer"
    forget()


def forget() -> None:
    """As a new process would start: nothing in memory."""
    cache._store.cache_clear()
    derivation_view.cache_clear()
    _formula_math.cache_clear()


def test_a_remembered_view_is_the_view_built_afresh(folder):
    names = SHOWN  # the derivations the report shows
    fresh = {name: build(name) for name in names}
    for name in names:
        derivation_view(name)  # builds and remembers
    stored = json.loads((folder / "mathml.json").read_text("utf-8"))
    assert stored["key"] == cache.source_key()
    assert sorted(stored["views"]) == sorted(names)
    forget()
    for name in names:
        again = derivation_view(name)  # from the file
        assert again == fresh[name]
        assert type(again.formulas[0]).__name__ == "Markup"  # not escaped twice


def test_another_source_or_a_damaged_file_is_built_again(folder, monkeypatch):
    name = SHOWN[0]
    expected = build(name)
    path = folder / "mathml.json"
    folder.mkdir(parents=True)
    wrong = {"type": "DerivationView", "fields": {"name": "x"}}
    # a file of another source: its views are ignored, then replaced
    path.write_text(json.dumps({"key": "other", "views": {name: wrong}}), "utf-8")
    assert derivation_view(name) == expected
    assert json.loads(path.read_text("utf-8"))["key"] == cache.source_key()
    # this source's key, but a view that does not decode: built again
    forget()
    path.write_text(
        json.dumps({"key": cache.source_key(), "views": {name: wrong}}), "utf-8"
    )
    assert derivation_view(name) == expected
    # not JSON at all
    forget()
    path.write_text("{not json", "utf-8")
    assert derivation_view(name) == expected


def test_no_cache_writes_nothing(folder, monkeypatch):
    monkeypatch.setenv(verify_derivations.NO_CACHE, "1")
    name = SHOWN[0]
    assert derivation_view(name) == build(name)
    assert not (folder / "mathml.json").exists()


def test_the_ops_formulas_are_remembered_apart_from_the_derivations(folder):
    from explainer.report.formulas import _formula_math, _op_math
    from explainer.report.mathml import mathml
    from explainer.trace import Op
    from explainer.verify.formulas import FORMULAS

    ops = [Op.SOFTMAX, Op.LAYER_NORM, Op.LINEAR]
    fresh = {op: mathml(FORMULAS[op]) for op in ops}  # printed here, not stored
    view = derivation_view("softmax")  # a derivation and an op of the same name
    for op in ops:
        assert _op_math(op) == fresh[op]
    stored = json.loads((folder / "mathml.json").read_text("utf-8"))["views"]
    assert {f"op:{op}" for op in ops} | {"softmax"} <= set(stored)
    forget()
    _formula_math.cache_clear()
    for op in ops:
        again = _op_math(op)  # from the file
        assert again == fresh[op] and type(again).__name__ == "Markup"
    assert derivation_view("softmax") == view
    _formula_math.cache_clear()
