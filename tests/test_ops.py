"""The op registry (explainer/ops, issue 13 point 8): one entry per op, whose NumPy
function agrees with its SymPy definition, and from which verify, the backward
pass and the report read everything they know about an op."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import sympy as sp

from explainer.config import ModelConfig
from explainer.ops import OPS, OpSpec
from explainer.ops.lambdified import NUMPY
from explainer.ops.registry import FAMILIES, collect
from explainer.render.registry import SCENES
from explainer.report.grouping import TITLES, stage_key
from explainer.run import trace_sentence
from explainer.symbolic.symbols import z
from explainer.trace import Op, Stage

CHECKED = [
    spec
    for spec in OPS.values()
    if spec.numeric is not None and (spec.formula is not None or spec.sympy)
]
"""The entries with a NumPy function and a SymPy definition (or rule) to hold it
to."""


def test_every_op_has_exactly_one_entry():
    assert set(OPS) == set(Op)
    assert all(spec.op == op for op, spec in OPS.items())
    entries = [spec.op for family in FAMILIES for spec in family.SPECS]
    assert sorted(entries) == sorted(Op)  # none twice, none missing


def test_an_op_without_an_entry_is_named():
    without_softmax = [
        _Family([s for s in family.SPECS if s.op != Op.SOFTMAX]) for family in FAMILIES
    ]
    with pytest.raises(ValueError, match="op softmax has no entry in explainer/ops"):
        collect(without_softmax)
    with pytest.raises(ValueError, match="op toy has no entry"):
        collect(FAMILIES, ops=[*Op, "toy"])


def test_an_op_with_two_entries_is_refused():
    with pytest.raises(ValueError, match="'relu' has two entries"):
        collect([*FAMILIES, _Family([OPS[Op.RELU]])])


def test_an_entry_whose_gradient_is_no_backward_op_is_refused():
    wrong = dataclasses.replace(OPS[Op.RELU], grads={0: (Op.GELU, ("in0", "dy"))})
    families = [_Family([s for s in f.SPECS if s.op != Op.RELU]) for f in FAMILIES]
    with pytest.raises(ValueError, match="'relu': input 0's gradient 'gelu'"):
        collect([*families, _Family([wrong])])


@pytest.mark.parametrize(
    "first", ["explainer.ops.registry", "explainer.backward", "explainer.verify"]
)
def test_the_registry_and_its_readers_import_in_any_order(first):
    """The backward rules read OPS and OPS holds the backward pass's functions:
    whichever comes first, both load."""
    code = f'import {first}; from explainer.backward.rules import RULES; RULES["add"]'
    subprocess.run([sys.executable, "-c", code], check=True)


class _Family:
    """A family module's stand-in: just its SPECS."""

    __name__ = "a test's family"

    def __init__(self, specs: list[OpSpec]) -> None:
        self.SPECS = tuple(specs)


def _disagreement(spec: OpSpec, seed: int) -> float:
    """max |NumPy − SymPy| on the entry's random example, relative to the size of
    the values (∞ for a shape or a NaN/∞ pattern that differs)."""
    inputs, ctx = spec.example(np.random.default_rng(seed))
    got = np.asarray(spec.numeric(inputs, ctx))
    if spec.sympy is not None:
        want = np.asarray(spec.sympy(inputs, ctx), dtype=np.float64)
    else:
        want = np.asarray(spec.evaluate(inputs, ctx, NUMPY))
    if got.shape != want.shape:
        return np.inf
    if spec.exact or got.dtype == bool:
        return float(np.sum(got != want.astype(got.dtype)))
    got, want = got.astype(np.float64), want.astype(np.float64)
    finite = np.isfinite(want)
    if not np.array_equal(finite, np.isfinite(got)) or np.any(
        got[~finite] != want[~finite]
    ):
        return np.inf
    diff = np.abs(got[finite] - want[finite]).max(initial=0.0)
    return float(diff / max(1.0, np.abs(want[finite]).max(initial=0.0)))


@pytest.mark.parametrize("spec", CHECKED, ids=lambda s: str(s.op))
def test_the_numpy_function_agrees_with_the_sympy_definition(spec):
    assert spec.example is not None, f"{spec.op}: add an example to its entry"
    for seed in range(3):
        assert _disagreement(spec, seed) <= 1e-12, (spec.op, seed)


@pytest.mark.parametrize(
    ("op", "wrong"),
    [
        (Op.SOFTMAX, lambda a, c: np.exp(a[0]) / np.exp(a[0]).sum(-2, keepdims=True)),
        (Op.LAYER_NORM, lambda a, c: (a[0] - a[0].mean(-1, keepdims=True)) * a[1]),
        (Op.SCALE, lambda a, c: a[0] / c.d_model),
        (Op.LINEAR_BACKWARD_W, lambda a, c: a[1].T @ a[0]),  # dYᵀ X: transposed
        (Op.SOFTMAX_BACKWARD, lambda a, c: a[0] * a[1]),  # without ⟨dy, p⟩
        (Op.GELU_BACKWARD, lambda a, c: a[1] * (a[0] > 0)),  # ReLU's
    ],
)
def test_a_wrong_numpy_function_disagrees(op, wrong):
    spec = dataclasses.replace(OPS[op], numeric=wrong)
    assert _disagreement(spec, 0) > 1e-3


def test_sections_and_scenes_are_named_by_what_exists():
    for spec in OPS.values():
        assert spec.section in ("", *TITLES), spec.op
        assert spec.scene in ("", *SCENES), spec.op
        assert spec.backward or spec.section, f"{spec.op}: no report section"


@pytest.mark.parametrize(
    "cfg",
    [
        ModelConfig(n_layers=1, norm="pre"),
        ModelConfig(architecture="decoder", n_layers=1, activation="gelu"),
    ],
    ids=["encoder-decoder", "decoder"],
)
def test_an_ops_stages_are_shown_in_the_section_its_entry_names(cfg):
    _sections_match(trace_sentence(cfg, "you win or you die"))


@pytest.mark.parametrize("name", ["minilm", "smollm2"])
def test_a_pretrained_models_ops_are_shown_in_their_entrys_section(name):
    from explainer import models

    module = importlib.import_module(f"explainer.models.{name}")
    if importlib.util.find_spec(module.MODULE) is None:
        pytest.skip(f"model package missing: {module.INSTALL}")
    _sections_match(models.trace_model(name, "The capital of France is"))


def _sections_match(trace) -> None:
    """Each op recorded is shown, at least once, in the section its entry names."""
    kinds: dict[Op, set[str]] = {}
    for stage in trace.stages:
        kinds.setdefault(stage.op, set()).add(stage_key(stage, trace.config)[1])
    for op, seen in kinds.items():
        if "addnorm" in seen:  # post-LN: one section for x + Sublayer(x) and its norm
            seen |= {"residual", "norm"}
        if "swiglu" in seen:  # a Llama's feed-forward section
            seen.add("ffn")
        assert OPS[op].section in seen, (op, seen)


# --- a toy op: one entry, and verify and the report pick it up ----------------------

LIKELY = sp.Gt(z, 0)  # a logit above 0: the toy op marks them


def _likely(inputs, ctx, be):
    return np.asarray(be.compile((z,), LIKELY)(be.array(inputs[0])), dtype=bool)


TOY = OpSpec(
    "likely",  # not even an Op: the entry is all verify and the report need
    numeric=lambda a, c: a[0] > 0,
    formula=LIKELY,
    evaluate=_likely,
    gloss="each logit z: is it above 0?",
    exact=True,  # booleans: compared entry by entry (no rounding-error bound)
    section="logits",
    example=lambda r: ([r.normal(size=(3, 4))], None),
)


def _with_toy_stage(flip: int = 0):
    """A decoder's trace with an ``output.likely`` stage; ``flip`` entries wrong."""
    trace = trace_sentence(ModelConfig(architecture="decoder", n_layers=1), "you win")
    value = trace["output.logits"] > 0
    value.ravel()[:flip] ^= True
    toy = Stage("output.likely", "likely", ("output.logits",), value)
    return trace.with_stages((*trace.stages, toy))


def test_a_toy_op_is_checked_by_verify_from_its_entry_alone(monkeypatch):
    from explainer.verify import verify

    monkeypatch.setitem(OPS, "likely", TOY)
    assert _disagreement(TOY, 0) == 0
    trace = _with_toy_stage()
    rows = verify(trace, derivations=False)
    assert all(r.ok for r in rows), [r for r in rows if not r.ok]
    (row,) = [r for r in rows if r.check == "formula" and r.where == "output.likely"]
    assert row.formula == "likely" and row.entries == trace["output.likely"].size
    wrong = [r for r in verify(_with_toy_stage(flip=2), derivations=False) if not r.ok]
    assert {(r.check, r.where) for r in wrong} == {
        ("formula", "output.likely"),  # 2 entries differ
        ("precision", "output.likely"),  # the 50-digit pass: first divergence
    }


def test_without_its_entry_the_toy_op_is_unknown_to_verify():
    from explainer.verify import verify

    with pytest.raises(KeyError, match="likely"):
        verify(_with_toy_stage(), derivations=False, precision=False)


def test_a_toy_op_is_shown_by_the_report_from_its_entry_alone(monkeypatch):
    from explainer.report.build import render_report
    from explainer.report.formulas import op_formulas
    from explainer.verify import verify

    monkeypatch.setitem(OPS, "likely", TOY)
    monkeypatch.setenv("EXPLAINER_NO_CACHE", "1")  # the toy's MathML: not remembered
    trace = _with_toy_stage()
    (shown,) = op_formulas([trace.stage("output.likely")])
    assert shown.op == "likely" and shown.stages == ("output.likely",)
    assert shown.gloss == "each logit z: is it above 0?"
    assert "<mi>z</mi>" in shown.math and "<mn>0</mn>" in shown.math
    page = render_report(trace, verify(trace, derivations=False, precision=False))
    assert "each logit z: is it above 0?" in page  # the formula's section
    assert str(shown.math) in page
