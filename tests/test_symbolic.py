"""The derivation machinery and the registry: every derivation proves, the checker
can fail, and the text ``explainer derive`` prints is complete."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from explainer.symbolic import (
    DERIVATIONS,
    Derivation,
    Step,
    get_derivation,
    list_derivations,
    passed,
)
from explainer.symbolic.derivation import cases, chain
from explainer.symbolic.render import latex as to_latex
from explainer.symbolic.symbols import i, n
from explainer.symbolic.tactics import TRANSFORMS

FORWARD_OPS = {
    "one_hot",
    "embedding",
    "scale_embedding",
    "positional_encoding",
    "add",
    "project_heads",
    "qk",
    "scale",
    "causal_mask",
    "no_mask",
    "apply_mask",
    "softmax",
    "attend",
    "concat_heads",
    "linear",
    "layer_norm",
    "relu",
    "gelu",
    "logits",
    "argmax",
    "rms_norm",
    "rope_angles",
    "rope",
    "repeat_kv",
    "swiglu",
}

a = sp.Symbol("a", real=True)


# --- the registry -------------------------------------------------------------


def test_registry_has_the_issue_names() -> None:
    assert set(DERIVATIONS) == {
        "softmax",
        "scaled-dot-product-attention",
        "multi-head",
        "positional-encoding",
        "layer-norm",
        "feed-forward",
        "residual-norm",
        "embedding",
        "output",
        "rms-norm",
        "rope",
        "gqa",
        "swiglu",
        "gelu",
        "backward-linear",
        "backward-softmax",
        "backward-attention",
        "backward-activations",
        "backward-cross-entropy",
        "backward-multi-head",
        "backward-residual",
        "backward-layer-norm",
        "adam",
        "backward-embedding",
    }
    assert list_derivations() == sorted(DERIVATIONS)


def test_unknown_name_is_a_value_error_listing_valid_names() -> None:
    with pytest.raises(ValueError, match="'softmx'") as err:
        get_derivation("softmx")
    for name in DERIVATIONS:
        assert name in str(err.value)


@pytest.mark.parametrize("name", sorted(DERIVATIONS))
def test_derivation_metadata(name: str) -> None:
    derivation = get_derivation(name)
    assert derivation is get_derivation(name)  # built once, cached
    assert derivation.name == name
    assert derivation.title and derivation.source and derivation.steps
    assert any(
        year in derivation.source for year in ("2016", "2017", "2019", "2020", "2021")
    )
    assert set(derivation.ops) <= FORWARD_OPS


def test_every_forward_op_has_a_formula() -> None:
    covered = {op for factory in DERIVATIONS.values() for op in factory().ops}
    assert covered == FORWARD_OPS


# --- every derivation proves --------------------------------------------------


@pytest.mark.parametrize("name", sorted(DERIVATIONS))
def test_every_step_is_proved(name: str) -> None:
    results = get_derivation(name).check()
    failures = [(r.step.why, r.residual) for r in results if not r.ok]
    assert not failures
    assert passed(results)
    assert len(results) == len(get_derivation(name).steps)


# --- the checker can fail -----------------------------------------------------


def test_a_false_step_fails_with_its_residual() -> None:
    result = Step(
        (a + 1) ** 2, a**2 + 1, "forgot the cross term", by=("expand",)
    ).check()
    assert not result.ok
    assert result.residual == "2*a"


def test_a_step_true_only_for_some_sizes_fails_at_the_first_bad_case() -> None:
    step = Step(
        sp.Sum(1, (i, 0, n - 1)),
        2,
        "only for n = 2",
        by=("doit",),
        cases=cases(n, [2, 3]),
    )
    result = step.check()
    assert not result.ok
    assert "n = 3" in result.residual
    assert result.cases == 2


def test_a_crashing_transform_is_a_failed_result_not_an_exception() -> None:
    step = Step(sp.ImmutableMatrix([[a]]), a, "matrix minus scalar", by=("expand",))
    result = step.check()
    assert not result.ok
    assert "Error" in result.residual


def test_unprovable_by_the_chosen_transform_is_reported_not_guessed() -> None:
    # True, but "expand" alone cannot see it: the checker says so.
    step = Step(sp.sin(a) ** 2 + sp.cos(a) ** 2, 1, "Pythagoras", by=("expand",))
    assert not step.check().ok
    assert dataclasses.replace(step, by=("trigsimp",)).check().ok


def test_step_validation() -> None:
    with pytest.raises(ValueError, match="unknown transform"):
        Step(a, a, "why", by=("magic",))
    with pytest.raises(ValueError, match="justification"):
        Step(a, a, "")
    with pytest.raises(ValueError, match="no steps"):
        Derivation(name="x", title="x", source="x", formula=a, steps=())


def test_transforms_are_named_and_callable() -> None:
    assert {"doit", "sums", "expand", "simplify", "block", "stats"} <= set(TRANSFORMS)
    assert all(callable(f) for f in TRANSFORMS.values())


def test_sums_transform_sees_through_index_names_and_linearity() -> None:
    x = sp.IndexedBase("x")
    j = sp.Symbol("j", integer=True)
    lhs = sp.Sum(2 * x[i] + 3, (i, 0, n - 1))
    rhs = 2 * sp.Sum(x[j], (j, 0, n - 1)) + 3 * n
    assert Step(lhs, rhs, "linearity", by=("sums",)).check().ok


# --- rendering ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DERIVATIONS))
def test_pretty_and_latex_show_every_step(name: str) -> None:
    derivation = get_derivation(name)
    pretty, latex = derivation.to_pretty(), derivation.to_latex()
    assert derivation.title in pretty and derivation.source in pretty
    assert "\\frac" not in pretty and "\\begin" not in pretty
    assert latex.count(r"\begin{align*}") == latex.count(r"\end{align*}") >= 1
    for number, step in enumerate(derivation.steps, start=1):
        assert f"({number}) {step.why}" in pretty
        assert to_latex(step.rhs) in latex


def test_chains_show_the_left_side_once() -> None:
    steps = chain(
        (a + 1) ** 2,
        (a**2 + 2 * a + 1, "binomial", ("expand",)),
        (a * (a + 2) + 1, "regroup", ("expand",)),
    )
    derivation = Derivation(name="d", title="T", source="S", formula=a, steps=steps)
    assert derivation.to_pretty().count("(a + 1)") == 1
    latex = derivation.to_latex()
    assert "\\left(a + 1\\right)^{2} &= a^{2} + 2 a + 1" in latex
    assert "\n &= a \\left(a + 2\\right) + 1" in latex  # empty left side
    assert passed(derivation.check())


def test_where_lists_abbreviations() -> None:
    where = get_derivation("layer-norm").where
    assert [eq.lhs for eq in where][:2] == [
        sp.Symbol("mu", real=True),
        sp.Symbol("sigma^2", positive=True),
    ]
