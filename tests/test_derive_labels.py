"""Honest derivations: every step says what supports it, and the counts show it.

A step is proved for all sizes, checked on instances (which ones), a definition
or rewrite, a numeric estimate or an assumption; a step whose two sides are one
expression is no proof at all, whatever it claims.
"""

from __future__ import annotations

import json
import re

import pytest
import sympy as sp
from cli_run import run
from sympy import stats
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.report.derivations import derivation_view
from explainer.symbolic import get_derivation, list_derivations
from explainer.symbolic.derivation import Derivation, Step, cases, tally
from explainer.symbolic.gqa import kv_head

x = sp.Symbol("x", real=True)
j = sp.Symbol("j", integer=True, nonnegative=True)
n = sp.Symbol("n", integer=True, positive=True)
r = sp.Symbol("r", integer=True, nonnegative=True)


# --- the tautology detector ---


def test_a_planted_x_equals_x_is_not_counted_as_proved():
    planted = Step(x, x, "x is x")
    assert planted.check().ok  # true, but …
    assert planted.label == "identical"  # … no proof
    d = Derivation(
        "d",
        "D",
        "here",
        x,
        (planted, Step((x + 1) ** 2, x**2 + 2 * x + 1, "square", by=("expand",))),
    )
    assert d.tally()["proved"] == 1 and d.tally()["identical"] == 1


def test_sides_that_sympify_to_one_expression_are_identical():
    """⌊j/1⌋ = j was counted as a proof; SymPy writes ⌊j/1⌋ as j on creation."""
    assert Step(kv_head(j, 1), j, "r = 1").label == "identical"
    assert Step(sp.Subs(kv_head(j, r), r, 1), j, "r = 1", by=("doit",)).label != (
        "identical"
    )


def test_a_step_proved_for_all_sizes_has_no_matrix_of_concrete_size():
    """A step on explicit 3 × 2 matrices is an instance, not a proof for every size;
    only a pair (RoPE's and PE's 2-vectors and 2 × 2 rotations) is whole at size 2."""

    def sizes(expr):
        for e in sp.preorder_traversal(expr):
            if isinstance(e, sp.MatrixBase) or (
                isinstance(e, sp.MatrixSymbol)
                and all(sp.S(d).is_Integer for d in e.shape)
            ):
                yield e.shape

    for name in list_derivations():
        for step in get_derivation(name).steps:
            if step.label == "proved":
                shapes = [*sizes(step.lhs), *sizes(step.rhs)]
                assert all(max(shape) <= 2 for shape in shapes), (name, step.why)


def test_no_derivation_has_a_step_with_identical_sides():
    for name in list_derivations():
        for step in get_derivation(name).steps:
            assert step.lhs != step.rhs, (name, step.why)


# --- the labels ---


def test_concrete_cases_make_a_step_checked_on_instances_whatever_it_claims():
    at_sizes = Step(
        sp.Sum(1, (j, 0, n - 1)), n, "count", by=("doit",), cases=cases(n, range(1, 6))
    )
    assert at_sizes.label == "instances"
    assert at_sizes.support() == "checked for n = 1…5"
    symbolic = Step(
        sp.Sum(1, (j, 0, n - 1)), n, "count", by=("doit",), cases=(((n, j + 1 + r),),)
    )
    assert symbolic.label == "proved"
    with pytest.raises(ValueError, match="say which instances"):
        Step(x, x + 0 * x + 1 - 1 + x - x, "no instances named", kind="instances")
    with pytest.raises(ValueError, match="unknown kind"):
        Step(x, 2 * x, "what", kind="obvious")


def test_a_numeric_step_is_evaluated_against_a_known_value():
    """erfc(1/2) = 0.4795001221869534… (Abramowitz & Stegun, table 7.1)."""
    z = sp.Symbol("z")
    at = sp.Subs(sp.erfc(z), z, sp.Float("0.5", 1))
    right = Step(at, sp.Float("0.4795", 4), "tabulated", kind="numeric")
    wrong = Step(at, sp.Float("0.49", 2), "misread", kind="numeric")
    assert right.label == "numeric" and right.check().ok
    assert not wrong.check().ok


def test_an_assumption_is_labelled_and_not_proved():
    step = Step(x, 2 * x, "taken as given", kind="assumption")
    assert step.check().ok and step.label == "assumption"
    assert tally([step])["proved"] == 0


def test_the_weak_spots_are_proved_for_every_size():
    """The causal-mask count (was T ≤ 5), GQA's head (was r ≤ 4) and RMSNorm (was
    n = 3) now hold for symbolic sizes: proved, no concrete case."""
    attention = get_derivation("scaled-dot-product-attention").steps
    mask = [s for s in attention if "mask" in s.why or "keys" in s.why][-3:]
    gqa = [s for s in get_derivation("gqa").steps if "reads K/V head g" in s.why]
    rms = list(get_derivation("rms-norm").steps)
    for step in (*mask, *gqa, *rms):
        assert step.label == "proved", step.why
        assert step.check().ok, step.why


# --- √d_k's premises ---


def _premises():
    steps = get_derivation("scaled-dot-product-attention").steps
    stated = [s for s in steps if s.lhs.has(stats.Expectation, stats.Variance)]
    return [s for s in stated if s.label != "assumption"][:3]


def test_footnote_4s_model_is_labelled_an_assumption():
    """Independent components with mean 0 and variance 1: stated, not proved."""
    steps = get_derivation("scaled-dot-product-attention").steps
    (assumed,) = [s for s in steps if s.label == "assumption"]
    assert assumed.lhs.has(stats.Expectation, stats.Variance)
    assert (
        "[an assumption, not proved]"
        in get_derivation("scaled-dot-product-attention").to_pretty()
    )


def test_sqrt_dk_premises_are_proved_with_sympy_stats():
    """E[q k] = E[q] E[k], E[(q k)²] = E[q²] E[k²] and Var[X + Y] = Var X + Var Y
    for independent variables with arbitrary densities."""
    premises = _premises()
    assert [type(s.lhs) for s in premises] == [
        stats.Expectation, stats.Expectation, stats.Variance,
    ]  # fmt: skip
    for step in premises:
        assert step.label == "proved" and step.check().ok, step.why


def test_a_false_premise_does_not_hold():
    """The same tactics do not prove E[q k] = E[q]², so the premises are not
    proved by tactics that prove anything."""
    product = _premises()[0]
    q, _ = stats.random_symbols(product.lhs)
    false = Step(product.lhs, stats.Expectation(q) ** 2, "wrong", by=product.by)
    assert not false.check().ok


# --- the counts in derive, verify and the report ---

GQA_COUNTS = "1 proved, 1 checked on instances, 2 definitions, 0 numeric, 0 assumptions"
"""gqa, by hand: ⌊y/r⌋ = (y − y mod r)/r (definition), head g·r + j reads g (proved),
r = 1 (definition, a substitution), I₃ ⊗ 1₃ repeat (instance r = 3)."""


def test_derive_prints_each_steps_label_and_the_counts(capsys, monkeypatch):
    monkeypatch.setenv("EXPLAINER_NO_CACHE", "1")
    code, out, err = run(["derive", "gqa"], capsys)
    assert code == 0
    assert f"4 of 4 steps hold: {GQA_COUNTS}" in err
    assert "[checked for 3 K/V heads, r = 3 · SymPy: simplify]" in out
    assert "[a definition or rewrite · SymPy: floor → simplify]" in out
    assert "[proved symbolically, for all sizes · SymPy: simplify]" in out


def test_verify_rows_count_steps_by_label(monkeypatch):
    monkeypatch.setenv("EXPLAINER_NO_CACHE", "1")
    monkeypatch.setattr(
        "explainer.verify.derivations.list_derivations", lambda: ["gqa", "rms-norm"]
    )
    from explainer.verify.derivations import check_derivations

    rows = {r.formula: r.detail for r in check_derivations()}
    assert rows["gqa"] == f"4 steps hold: {GQA_COUNTS}"
    assert rows["rms-norm"].startswith("2 steps hold: 2 proved, 0 checked")


def test_the_report_labels_every_step_and_counts_them():
    view = derivation_view("gqa")
    steps = [s for g in view.groups for s in g.steps]
    assert [s.label for s in steps] == [
        "definition",
        "proved",
        "definition",
        "instances",
    ]
    assert steps[-1].support == "checked for 3 K/V heads, r = 3"
    assert view.counts == GQA_COUNTS


def test_the_report_page_shows_labels_and_counts(tmp_path, capsys):
    page = tmp_path / "report.html"
    code, _, _ = run(["report", "--preset", "seed003", "--out", str(page)], capsys)
    assert code == 0
    html = page.read_text(encoding="utf-8")
    assert "(checked for d_k = 3, Rademacher components)" in html
    attention = (
        "steps: 13 proved, 2 checked on instances, 2 definitions, 0 numeric, "
        "1 assumption"
    )
    assert attention in html  # counted by hand: 3 premises, 4 mask steps …
    shown = re.findall(r"steps: (\d+) proved, (\d+) checked on instances", html)
    assert len(shown) == html.count("data-derivation=")  # on every excerpt


def test_a_cache_without_counts_per_label_is_not_read(tmp_path, monkeypatch):
    """proofs.json from before the labels held one number per derivation: with the
    same key it would still be ignored, and the key itself has changed."""
    from explainer.verify import derivations as proofs

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(proofs.NO_CACHE, raising=False)
    key = proofs.source_key()
    path = tmp_path / "explainer" / "proofs.json"
    path.parent.mkdir()
    old = {name: len(get_derivation(name).steps) for name in list_derivations()}
    path.write_text(json.dumps({"key": key, "proved": old}))
    assert proofs._read_cache(key) is None
    counts = {name: get_derivation(name).tally() for name in list_derivations()}
    path.write_text(json.dumps({"key": key, "proved": counts}))
    assert proofs._read_cache(key) == counts
    monkeypatch.setattr(proofs, "CACHE_FORMAT", "step counts 0")
    assert proofs.source_key() != key


def test_derive_list_counts_each_derivations_steps(capsys):
    code, out, err = run(["derive", "--list"], capsys)
    assert code == 0
    line = next(li for li in out.splitlines() if li.startswith("gqa "))
    assert line.endswith(
        "(4 steps: 1 proved, 1 checked on instances, 2 definitions)"
    )  # no zeros
    listed = [int(re.search(r"\((\d+) steps: ", li)[1]) for li in out.splitlines()]
    total = re.fullmatch(r"\n(\d+) steps: \d+ proved, .*\n", err)
    assert total and int(total[1]) == sum(listed)


def test_entries_of_a_product_and_rows_print_as_a_learner_reads_them():
    """(h Eᵀ)_{0,v}, not h Eᵀ_{0,v}; X_{t,:}, not matrixslice(X, …)."""
    from explainer.report.mathml import mathml

    h, E = sp.MatrixSymbol("h", 1, n), sp.MatrixSymbol("E", 4, n)
    X = sp.MatrixSymbol("X", 5, n)
    t = sp.Symbol("t", integer=True)
    product = mathml(MatrixElement(h * E.T, 0, t), display=False)
    assert product.startswith('<math><msub><mrow><mo stretchy="false">(</mo>')
    assert mathml(E[1, 2], display=False).startswith("<math><msub><mi>E</mi>")
    row = mathml(X[t, :], display=False)
    assert row == (
        "<math><msub><mi>X</mi><mrow><mi>t</mi><mo>,</mo><mo>:</mo></mrow></msub></math>"
    )
