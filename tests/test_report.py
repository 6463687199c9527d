"""The HTML report without a browser: structure, numbers, escaping, determinism."""

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from cli_run import run

from explainer import ModelConfig, explain, trace_json, trace_sentence
from explainer.report import render_report
from explainer.report.derivations import derivation_view
from explainer.report.grouping import DERIVATIONS
from explainer.report.mathml import mathml
from explainer.report.tables import MAX_COLS, MAX_ROWS
from explainer.symbolic import get_derivation, list_derivations
from explainer.tokenizer import Tokenizer, default_corpus
from explainer.verify import verify
from explainer.verify.formulas import FORMULAS

SENTENCE = "When you play game of thrones"
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"


def report_of(sentence=SENTENCE, tokenizer=None, **config):
    trace = trace_sentence(ModelConfig(**config), sentence, tokenizer=tokenizer)
    return trace, render_report(trace, verify(trace, derivations=False))


@pytest.fixture(scope="module")
def default():
    return report_of()


class Page(HTMLParser):
    """Sections, matrices (with every cell's exact value) and scripts of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[dict] = []
        self.matrices: list[dict] = []
        self.scripts: list[dict] = []
        self.maths = 0
        self._row: list[str] | None = None
        self._in_matrix = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-stages" in a:
            self.sections.append(a)
        elif tag == "figure" and a.get("class") == "matrix":
            self.matrices.append({**a, "rows": []})
            self._in_matrix = True
        elif tag == "tr" and self._in_matrix:
            self._row = []
        elif tag == "td" and self._row is not None and "title" in a:
            self._row.append(a["title"])
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "math":
            self.maths += 1

    def handle_endtag(self, tag):
        if tag == "tr" and self._row:
            self.matrices[-1]["rows"].append(self._row)
        if tag in ("tr", "figure"):
            self._row = None
        if tag == "figure":
            self._in_matrix = False


def test_sections_cover_every_stage_once_in_forward_order(default):
    trace, html = default
    page = Page(html)
    shown = [name for s in page.sections for name in s["data-stages"].split()]
    assert shown == trace.names()
    kinds = [s["data-kind"] for s in page.sections]
    for kind in (
        "tokens",
        "embedding",
        "positional",
        "qkv",
        "scores",
        "mask",
        "softmax",
        "weighted",
        "concat",
        "addnorm",
        "ffn",
        "layer",
        "logits",
        "probs",
        "prediction",
    ):
        assert kind in kinds
    assert kinds.index("tokens") < kinds.index("qkv") < kinds.index("logits")
    assert "decoder-0-cross_attn-qkv" in [s["id"] for s in page.sections]


@pytest.mark.parametrize(
    "config",
    [
        {"architecture": "encoder", "d_model": 5, "n_heads": 1, "d_k": 3, "d_v": 3},
        {"architecture": "decoder", "norm": "pre", "activation": "gelu"},
        {"n_layers": 1, "dtype": "float32", "scale_embeddings": False},
    ],
)
def test_other_architectures_keep_forward_order(config):
    trace, html = report_of(**config)
    page = Page(html)
    assert [n for s in page.sections for n in s["data-stages"].split()] == (
        trace.names()
    )
    assert len({s["id"] for s in page.sections}) == len(page.sections)


def test_every_matrix_shows_the_traces_numbers_exactly(default):
    trace, html = default
    page = Page(html)
    assert len(page.matrices) > 60
    for m in page.matrices:
        value = np.asarray(trace[m["data-stage"]])
        if "data-head" in m:
            value = value[int(m["data-head"])]
        if "data-rows" in m:
            value = value[[int(i) for i in m["data-rows"].split()]]
        value = np.atleast_2d(value)[:MAX_ROWS, :MAX_COLS]
        rows = m["rows"]
        assert len(rows) == value.shape[0], m["data-stage"]
        for got, want in zip(rows, value, strict=True):
            if value.dtype == bool:
                assert got == ["true" if v else "false" for v in want]
            else:
                assert [float(v) for v in got] == [float(v) for v in want], m[
                    "data-stage"
                ]


def test_token_table_and_prediction_match_the_trace(default):
    trace, html = default
    for token, i in zip(trace.source.tokens, trace.source.ids, strict=True):
        assert f'<td class="tok">{token}</td><td class="n">{i}</td>' in html
    assert f'data-stage="output.prediction">{trace.prediction}</div>' in html


def test_attention_views_data_holds_every_layer_and_head(default):
    trace, html = default
    raw = re.search(
        r'<script id="views-data" type="application/json">(.*?)</script>', html, re.S
    )[1]
    data = json.loads(raw)
    assert [k["id"] for k in data["kinds"]] == [
        "encoder.self_attn",
        "decoder.self_attn",
        "decoder.cross_attn",
    ]
    for kind in data["kinds"]:
        assert len(kind["layers"]) == trace.config.n_layers
        for layer in kind["layers"]:
            assert len(layer["heads"]) == trace.config.n_heads
            for h, head in enumerate(layer["heads"]):
                for key in ("q", "k", "scores", "scaled", "weights"):
                    want = trace[f"{layer['prefix']}.{key}"][h]
                    assert np.array_equal(np.array(head[key]), want)


def test_formulas_are_mathml_of_the_sympy_definitions(default):
    trace, html = default
    assert "<math" in html and "\\frac" not in html and "mfenced" not in html
    for op in {s.op for s in trace.stages if s.op in FORMULAS}:
        assert mathml(FORMULAS[op]) in html, op
    # Every derivation of the toy model's stages (the Llama-only ones — RMSNorm,
    # RoPE, GQA, SwiGLU — and GELU's explain stages this ReLU trace does not have;
    # the backward pass's rules and Adam explain training, which a forward trace
    # lacks).
    shown = sorted({name for kinds in DERIVATIONS.values() for name, _ in kinds})
    training = {n for n in list_derivations() if n.startswith("backward-")}
    forward = set(list_derivations()) - training - {"adam"}
    assert forward - set(shown) == {*("rms-norm", "rope", "gqa", "swiglu"), "gelu"}
    for name in shown:
        view = derivation_view(name)
        assert view.formulas[0] in html, name
    steps = sum(len(get_derivation(n).steps) for n in shown)
    assert html.count('<div class="step">') == steps  # every step, once


def test_mathml_prints_what_sympy_mathml_misses():
    import sympy as sp

    z = sp.Symbol("z")
    piecewise = str(mathml(sp.Piecewise((z, z > 0), (0, True))))
    assert "piecewise" not in piecewise and "otherwise" in piecewise
    assert "<mtable>" in piecewise
    subs = str(mathml(sp.Subs(z**2, z, 0)))
    assert "subs" not in subs and "<mo>|</mo>" in subs
    pe = str(mathml(sp.Function("PE")(z)))
    assert "<mi>PE</mi>" in pe
    assert "&" not in str(mathml(sp.exp(z) * sp.Symbol("y")))  # no named entities
    from explainer.symbolic.tactics import decimal

    published = str(mathml(sp.Eq(sp.Symbol("p"), decimal("0.3275911"))))
    assert "<mn>0.3275911</mn>" in published and "unevaluated" not in published


def test_untrusted_sentence_is_escaped_everywhere():
    tokenizer = Tokenizer.from_corpus([*default_corpus(), IMG, SCRIPT])
    for evil in (IMG, SCRIPT):
        trace, html = report_of(evil, tokenizer=tokenizer)
        assert not trace.source.unknown  # its pieces are tokens of the vocabulary
        assert evil not in html
        assert "<img" not in html
        assert "alert(1)</script>" not in html
        # the views' data and code, the sampling panel's data and code
        assert html.count("<script") == 4
        assert html.count("</script>") == 4
        escaped = evil.replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in html  # shown literally


def test_chinese_sentence_appears_as_written():
    trace, html = report_of("我爱自然语言处理", architecture="decoder", n_layers=1)
    assert "我爱自然语言处理" in html
    assert '<td class="tok">我</td>' in html
    assert trace.source.unknown == ("处", "理")
    assert '<span class="tok">处</span>' in html


def test_same_inputs_give_the_same_bytes(default):
    trace, html = default
    again = render_report(trace, verify(trace, derivations=False))
    assert again == html
    assert not re.search(r"20\d\d-\d\d-\d\d", html)  # no timestamps


def test_default_page_is_small_and_self_contained(default):
    _, html = default
    assert len(html.encode()) < 3_000_000
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html


def test_explain_returns_an_object_for_notebooks():
    report = explain("you win or you die", n_layers=1)
    assert report.html.startswith("<!DOCTYPE html>")
    inline = report._repr_html_()
    assert inline.startswith('<div class="explainer-report"') and "srcdoc=" in inline
    assert "you win or you die" in inline
    assert inline.count("<script") == 1  # the frame's; the page's are escaped
    with pytest.raises(ValueError, match="n_heads"):
        explain("you win", n_heads=3)


def test_cli_writes_the_default_file_creating_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(["report", "--n-layers", "1"], capsys)
    assert code == 0
    assert out.strip() == os.path.join("output", "report.html")
    first = (tmp_path / "output" / "report.html").read_bytes()
    code, _, _ = run(["report", "--n-layers", "1"], capsys)
    assert (tmp_path / "output" / "report.html").read_bytes() == first
    assert not [p for p in (tmp_path / "output").iterdir() if p.name.startswith(".")]


def test_cli_missing_folder_is_a_one_line_error(tmp_path, capsys):
    code, out, err = run(["report", "--out", str(tmp_path / "no" / "r.html")], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "does not exist" in err


def test_cli_reports_on_a_trace_file(tmp_path, capsys):
    trace = trace_sentence(ModelConfig(architecture="encoder", n_layers=1), "you win")
    path = tmp_path / "t.json"
    path.write_text(trace_json.dumps(trace))
    out = tmp_path / "r.html"
    code, stdout, _ = run(["report", "--trace", str(path), "--out", str(out)], capsys)
    assert code == 0 and stdout.strip() == str(out)
    ids = [s["id"] for s in Page(out.read_text()).sections]
    assert ids[0] == "encoder-tokens" and not any(i.startswith("decoder") for i in ids)
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    code, _, err = run(["report", "--trace", str(bad), "--out", str(out)], capsys)
    assert code == 2 and "not valid JSON" in err


def test_cli_prove_runs_the_slow_checks(tmp_path, capsys):
    out = tmp_path / "r.html"
    argv = ["report", "--preset", "seed003", "--prove", "--out", str(out)]
    code, _, _ = run(argv, capsys)
    html = out.read_text()
    assert code == 0
    assert "was proved by SymPy" in html and "50 significant digits" in html
    assert re.search(r"as its label says: \d+ proved, \d+ checked on instances", html)
    assert "Not run here" not in html


def test_output_does_not_depend_on_hash_seed(tmp_path):
    pages = []
    for seed in ("1", "2"):
        out = tmp_path / f"r{seed}.html"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [
                sys.executable,
                "-m",
                "explainer",
                "report",
                "--n-layers",
                "1",
                "--out",
                str(out),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        pages.append(out.read_bytes())
    assert pages[0] == pages[1]


def test_a_wrong_stage_is_marked_in_its_section():
    trace = trace_sentence(ModelConfig(n_layers=1), "you win or you die")
    data = trace_json.to_dict(trace)
    stage = next(s for s in data["stages"] if s["name"] == "encoder.0.ffn.out")
    stage["value"][0][0] += 0.5
    broken = trace_json.from_dict(data)
    html = render_report(broken, verify(broken, derivations=False))
    section = re.search(r'<section class="stage" id="encoder-0-ffn".*?</section>', html,
                        re.S)[0]  # fmt: skip
    assert '<span class="badge fail">' in section
    assert 'class="FAIL"' in section
    assert "checks failed</b>" in html
    other = re.search(r'<section class="stage" id="encoder-0-addnorm1".*?</section>',
                      html, re.S)[0]  # fmt: skip
    assert '<span class="badge ok"' in other


def test_wide_matrices_are_summarised_exactly_with_their_statistics():
    """The paper's sizes (d_model 512, d_ff 2048): first and last rows and columns
    of the trace's own numbers, an ellipsis between, and min/max/mean/std."""
    trace, html = report_of(d_model=512, n_heads=8, d_ff=2048, n_layers=1)
    figures = re.findall(r'<figure class="matrix"([^>]*)>(.*?)</figure>', html, re.S)
    widest = max(row.count("<td") + row.count("<th") for row in re.findall(
        r"<tr.*?</tr>", html, re.S))  # fmt: skip
    assert widest <= 66  # 64 columns (the toy vocabulary: 57) + label + ellipsis
    summarised = 0
    for attrs, body in figures:
        a = dict(re.findall(r'([\w-]+)="([^"]*)"', attrs))
        if "data-cols" not in a:
            continue
        summarised += 1
        value = np.asarray(trace[a["data-stage"]])
        if "data-head" in a:
            value = value[int(a["data-head"])]
        value = np.atleast_2d(value)
        rows = [int(i) for i in a["data-rows"].split()]
        cols = [int(i) for i in a["data-cols"].split()]
        assert len(cols) < value.shape[1] and "⋯" in body
        got = [
            [float(t) for t in re.findall(r'<td class="[^"]+" title="([^"]+)"', tr)]
            for tr in re.findall(r"<tbody>.*?</tbody>", body, re.S)[0].split("\n")
            if "title=" in tr
        ]
        assert np.array_equal(np.array(got), value[np.ix_(rows, cols)])
        stats = re.search(r'<p class="note stats" data-of="([\d ]+)">(.*?)</p>', body)
        of = tuple(int(n) for n in stats[1].split())
        whole = value if of == value.shape else value[rows]
        shown = [float(t) for t in re.findall(r'title="([^"]+)"', stats[2])]
        want = [whole.min(), whole.max(), whole.mean(), whole.std()]
        np.testing.assert_allclose(shown, want, rtol=1e-12)
    assert summarised > 10
