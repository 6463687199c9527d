"""Formulas print in reading order, from the same SymPy objects verify evaluates.

γ(x − μ)/√(σ² + ε) + β rather than SymPy's β + (−μ + x)γ/√(ε + σ²); x W₁ + b₁;
10000^(2i/d_model) with the exponent inline; z·erfc(z) and ω·sin with a visible dot;
upright words.  Each printed form is checked against an independent closed form or
against verify's own object, so the reordering never changes what is computed.
"""

from __future__ import annotations

import itertools
import re
from xml.dom import minidom

import numpy as np
import pytest
import sympy as sp

from explainer.report.mathml import mathml
from explainer.symbolic import get_derivation, list_derivations
from explainer.symbolic.layer_norm import mu, sigma2
from explainer.symbolic.render import latex
from explainer.symbolic.symbols import beta, eps, gamma, i, k, n, x, z
from explainer.trace import Op
from explainer.verify.formulas import FORMULAS


def tokens(markup: object) -> list[str]:
    """The text of every token element (mi, mn, mo, mtext), in document order."""
    return [t for t in re.findall(r">([^<>]+)<", str(markup)) if t.strip()]


def order_of(seq: list[str], wanted: list[str]) -> list[int]:
    """Index of the first occurrence of each wanted token, searching onwards."""
    found, start = [], 0
    for token in wanted:
        start = seq.index(token, start)
        found.append(start)
    return found


def test_layer_norm_reads_gamma_x_mu_sigma_eps_beta():
    formula = get_derivation("layer-norm").formula
    seq = tokens(mathml(formula))
    # γ_i (x_i − μ) / √(σ² + ε) + β_i, left to right (order_of raises if not)
    order_of(seq, ["=", "γ", "x", "−", "μ", "σ", "+", "ε", "+", "β"])
    assert seq[-2:] == ["β", "i"]
    tex = latex(formula)
    assert re.search(
        r"\\gamma.*\\left\(.*x.*- \\mu\\right\)"
        r".*\\sqrt\{\\sigma\^\{2\} \+ \\varepsilon\}.*\+ \{\\beta\}_\{i\}$",
        tex,
    ), tex
    assert r"\operatorname{LN}" in tex


def test_layer_norm_shown_is_the_one_verify_evaluates():
    # The derivation's formula with μ and σ² written out is verify's object …
    shown = get_derivation("layer-norm").formula.rhs
    mean = sp.Sum(x[k], (k, 0, n - 1)) / n
    var = sp.Sum((x[k] - mean) ** 2, (k, 0, n - 1)) / n
    verified = FORMULAS[Op.LAYER_NORM]
    assert sp.simplify(shown.subs({mu: mean, sigma2: var}) - verified) == 0
    # … and verify's object, printed in reading order, is still LayerNorm: compare
    # its values with NumPy's on a row (an independent computation).
    row, g, b = np.array([1.0, -2.0, 0.5, 4.0]), np.arange(1.0, 5.0), np.ones(4)
    f = sp.lambdify((x, i, n, gamma, beta, eps), verified, "numpy")
    got = [f(row, col, 4, g, b, 1e-5) for col in range(4)]
    want = g * (row - row.mean()) / np.sqrt(row.var() + 1e-5) + b
    np.testing.assert_allclose(got, want, rtol=1e-12)
    seq = tokens(mathml(verified))
    order_of(seq, ["γ", "x", "−", "∑", "+", "ε", "+", "β"])


def test_linear_and_feed_forward_read_x_w_plus_b():
    seq = tokens(mathml(FORMULAS[Op.LINEAR]))
    assert seq[:3] == ["X", "\u2062", "W"] and seq[-1] == "b"
    ffn = get_derivation("feed-forward").formula[0]
    text = "".join(tokens(mathml(ffn)))
    assert "x\u2062W1+b1" in text and text.endswith("W2+b2")
    assert "x W_{1} + b_{1}" in latex(ffn)


def test_positional_encoding_exponent_inline_and_wavelength_dotted():
    pe = str(mathml(get_derivation("positional-encoding").formula[0]))
    # 10000^(2i/d_model): an inline fraction one script level down, no mfrac in it
    exponent = re.search(r"<msup><mn>10000</mn>(.*?)</msup>", pe)[1]
    assert "<mfrac" not in exponent and "<mo>/</mo>" in exponent
    assert tokens(exponent) == ["2", "\u2062", "i", "/", "d", "model"]
    wavelength = next(
        w for w in get_derivation("positional-encoding").where if "lambda" in str(w)
    )
    seq = tokens(mathml(wavelength))
    # 2π·10000^…, never "210000": a dot stands between a letter or digit and digits
    assert seq[seq.index("=") + 1 :][:5] == ["2", "\u2062", "π", "⋅", "10000"]
    assert r"2 \pi \cdot 10000^{2 i / d_{\mathrm{model}}}" in latex(wavelength)
    # the same value as the paper's 2π·10000^(2i/d_model)
    d_model = sp.Symbol("d_model", positive=True, integer=True)
    paper = 2 * sp.pi * sp.Integer(10000) ** (2 * i / d_model)
    assert sp.simplify(wavelength.rhs - paper) == 0


def test_words_next_to_letters_get_a_dot():
    ffn = [str(mathml(s.rhs)) for s in get_derivation("feed-forward").steps]
    assert any("<mi>z</mi><mo>⋅</mo><mrow><mi>erfc</mi>" in m for m in ffn)
    pe = [str(mathml(s.rhs)) for s in get_derivation("positional-encoding").steps]
    assert any("<mi>ω</mi><mo>⋅</mo><mrow><mi>sin</mi>" in m for m in pe)
    omega = sp.Symbol("omega")
    assert str(mathml(omega * sp.Symbol("pos"))).count("⋅") == 1


def test_upright_words_in_latex():
    attention = latex(get_derivation("scaled-dot-product-attention").formula)
    assert attention.startswith(r"\operatorname{Attention}\left(Q, K, V\right)")
    assert r"\operatorname{softmax}\left(\frac{Q K^{T}}{\sqrt{d_{k}}}\right) V" in (
        attention
    )
    pe = latex(get_derivation("positional-encoding").formula[0])
    assert r"\operatorname{PE}\left(\mathrm{pos}, 2 i\right)" in pe
    assert r"\hat{x}" in latex(get_derivation("layer-norm").where[-1])


def test_gelu_reads_z_times_phi_and_is_unchanged():
    g = FORMULAS[Op.GELU]
    erf = r"\operatorname{erf}\left(\frac{z}{\sqrt{2}}\right)"
    assert latex(g) == rf"\frac{{z \left({erf} + 1\right)}}{{2}}"
    closed = z * (1 + sp.erf(z / sp.sqrt(2))) / 2  # Hendrycks & Gimpel 2016, §2
    assert sp.simplify(g - closed) == 0
    assert sp.N(g.subs(z, 1), 12) == sp.N(closed.subs(z, 1), 12)


def _merged(node: minidom.Node) -> list[str]:
    """Sibling tokens that would run together: an mi or mn directly followed by an
    mi or mn inside the same mrow (no mo between them)."""
    out = []
    kids = [c for c in node.childNodes if c.nodeType == c.ELEMENT_NODE]
    if getattr(node, "tagName", "") == "mrow":
        for left, right in itertools.pairwise(kids):
            if left.tagName in ("mi", "mn") and right.tagName in ("mi", "mn"):
                out.append(left.toxml() + right.toxml())
    for kid in kids:
        out += _merged(kid)
    return out


@pytest.mark.parametrize("name", list_derivations())
def test_no_letters_run_together(name):
    d = get_derivation(name)
    exprs = list(d.formula) if isinstance(d.formula, sp.Tuple) else [d.formula]
    exprs += list(d.where) + [e for s in d.steps for e in (s.lhs, s.rhs)]
    for expr in exprs:
        root = minidom.parseString(str(mathml(expr))).documentElement
        assert _merged(root) == [], expr


def test_no_letters_run_together_in_verify_formulas():
    for op, expr in FORMULAS.items():
        root = minidom.parseString(str(mathml(expr))).documentElement
        assert _merged(root) == [], op


def test_no_formula_text_smaller_than_body_subscripts(tmp_path):
    """In Chromium, every glyph of every formula on the toy report is at least
    the size of a ``<sub>`` in the body text (the PE exponent was 4 px)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = "/usr/bin/chromium"
    if not __import__("os").path.exists(chromium):
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh)")
    from explainer import ModelConfig, trace_sentence
    from explainer.report import render_report
    from explainer.verify import verify

    trace = trace_sentence(ModelConfig(), "When you play game of thrones")
    page_path = tmp_path / "report.html"
    page_path.write_text(render_report(trace, verify(trace, derivations=False)))
    args = ["--headless", "--no-sandbox", "--disable-gpu"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(page_path.as_uri())
        page.evaluate(
            "() => document.querySelectorAll('details').forEach(d => d.open = true)"
        )
        sub = page.evaluate(
            """() => { const s = document.createElement('sub'); s.textContent = 'x';
            const p = document.querySelector('p'); p.appendChild(s);
            const size = parseFloat(getComputedStyle(s).fontSize); s.remove();
            return size; }"""
        )
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('math :is(mi, mn, mo, mtext)')]
            .filter(e => e.getBoundingClientRect().width > 0 && e.textContent.trim())
            .map(e => [parseFloat(getComputedStyle(e).fontSize), e.textContent])"""
        )
        browser.close()
    assert len(sizes) > 1000  # every formula of the page was measured
    smallest = min(sizes)
    assert smallest[0] >= sub - 0.01, (smallest, sub)


def test_scripts_hold_no_built_up_fraction_and_brackets_hug_a_line():
    for name in list_derivations():
        d = get_derivation(name)
        for step in d.steps:
            for expr in (step.lhs, step.rhs):
                root = minidom.parseString(str(mathml(expr))).documentElement
                for script in root.getElementsByTagName("munderover") + (
                    root.getElementsByTagName("msup")
                ):
                    for limit in [c for c in script.childNodes][1:]:
                        assert not limit.getElementsByTagName("mfrac"), (name, expr)
    pe = str(mathml(get_derivation("positional-encoding").formula[0]))
    # PE(pos, 2i): plain brackets (a stretchy one is padded apart by Chromium) …
    assert '<mi>PE</mi><mrow><mo stretchy="false">(</mo>' in pe
    # … but the brackets around pos/10000^… still grow with the fraction
    assert "<mi>sin</mi><mrow><mo>(</mo><mfrac>" in pe
