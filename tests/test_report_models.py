"""The HTML report of the two pretrained models: SmolLM2 (a Llama decoder: RMSNorm,
RoPE, grouped-query attention, SwiGLU, tied output) and MiniLM (a BERT sentence
encoder: learned positions, GELU, mean pooling).

Each page is written once by ``explainer report`` (module fixtures); the numbers on
it are compared with the trace's arrays recomputed independently here (NumPy,
SciPy's softmax, the model's own tokenizer), and the model view is driven in
Debian's Chromium through Playwright with no network.
"""

import base64
import importlib.util
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from explainer.cli import main
from explainer.models import load_model, minilm, smollm2, trace_model
from explainer.report import render_report
from explainer.report.mathml import mathml
from explainer.verify import verify
from explainer.verify.formulas import FORMULAS

SMOL = "The capital of France is"
MINI = "The quick brown fox"
MAX_ROW_CELLS = 40  # widest row of any table: a label and 32 numbers, + ellipses
# Kinds of the Llama sections (each also its derivation's name) → its title.
LLAMA_KINDS = {
    "rms-norm": "RMSNorm",
    "rope": "Rotary",
    "gqa": "Grouped",
    "swiglu": "SwiGLU",
}


def _missing(module) -> str | None:
    if importlib.util.find_spec(module.MODULE) is None:
        return f"model package missing: {module.INSTALL} (scripts/setup.sh installs it)"
    return None


def _report(folder: Path, model: str, sentence: str) -> tuple:
    """Run ``explainer report`` for ``model``; the page, and the trace rerun."""
    out = folder / f"{model}.html"
    with pytest.raises(SystemExit) as done:
        main(["report", "--model", model, "--sentence", sentence, "--out", str(out)])
    assert done.value.code == 0
    return trace_model(model, sentence), out.read_text("utf-8"), out


@pytest.fixture(scope="module")
def smol(tmp_path_factory):
    if reason := _missing(smollm2):
        pytest.skip(reason)
    return _report(tmp_path_factory.mktemp("smol"), "smollm2", SMOL)


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    if reason := _missing(minilm):
        pytest.skip(reason)
    return _report(tmp_path_factory.mktemp("mini"), "minilm", MINI)


class Page(HTMLParser):
    """Sections, matrices (the exact value of every cell), the widest table row,
    the probability bars and the attention views' data of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[dict] = []
        self.matrices: list[dict] = []
        self.bars: list[dict] = []
        self.widest = 0
        self.scripts = 0
        self._cells: int | None = None
        self._row: list[str] | None = None
        self._stats: dict | None = None
        self._in: str | None = None  # "matrix", "bar", "stat" or "views"
        self.views_text = ""
        self.feed(html)
        self.views = json.loads(self.views_text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-stages" in a:
            self.sections.append(a)
        elif tag == "figure" and a.get("class") == "matrix":
            self.matrices.append({**a, "rows": [], "stats": {}})
            self._in = "matrix"
        elif tag == "tr":
            self._cells = 0
            self._row = [] if self._in == "matrix" else None
        elif tag in ("td", "th") and self._cells is not None:
            self._cells += 1
            if tag == "td" and self._row is not None and "title" in a:
                self._row.append(a["title"])
        elif tag == "p" and self._in == "matrix" and "data-of" in a:
            self.matrices[-1]["of"] = tuple(int(n) for n in a["data-of"].split())
        elif tag == "span" and self._in == "matrix" and "title" in a:
            self._stats = {"exact": a["title"]}
            self.matrices[-1]["stats"][len(self.matrices[-1]["stats"])] = self._stats
        elif tag == "rect" and "bar" in a.get("class", "").split():
            self.bars.append({"token": a["data-token"], "title": ""})
            self._in = "bar"
        elif tag == "script":
            self.scripts += 1
            if a.get("id") == "views-data":
                self._in = "views"

    def handle_data(self, data):
        if self._in == "bar":
            self.bars[-1]["title"] += data
        elif self._in == "views":
            self.views_text += data

    def handle_endtag(self, tag):
        if tag == "tr" and self._cells is not None:
            self.widest = max(self.widest, self._cells)
            if self._row:
                self.matrices[-1]["rows"].append(self._row)
            self._cells, self._row = None, None
        elif tag == "figure" and self._in == "matrix":
            self._in = None
        elif tag == "rect" and self._in == "bar":
            self._in = None
        elif tag == "script" and self._in == "views":
            self._in = None


@pytest.fixture(scope="module")
def smol_page(smol):
    return Page(smol[1])


@pytest.fixture(scope="module")
def mini_page(mini):
    return Page(mini[1])


def section(html: str, sid: str) -> str:
    return re.search(rf'<section class="stage" id="{sid}".*?</section>', html, re.S)[0]


# --- the page -------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["smol", "mini"])
def test_one_self_contained_page(which, request):
    trace, html, path = request.getfixturevalue(which)
    page = request.getfixturevalue(f"{which}_page")
    assert html.startswith("<!DOCTYPE html>") and path.stat().st_size == len(
        html.encode()
    )
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "@import" not in html and "url(http" not in html
    # the views' data and their code, and (a model with logits) the sampling
    # panel's, all inline
    assert page.scripts == {"smol": 4, "mini": 2}[which]
    assert len(html.encode()) < {"smol": 4_000_000, "mini": 2_000_000}[which]
    shown = [name for s in page.sections for name in s["data-stages"].split()]
    assert shown == trace.names()  # every stage once, in forward order
    assert "other" not in {s["data-kind"] for s in page.sections}
    for op in {s.op for s in trace.stages if s.op in FORMULAS}:
        assert str(mathml(FORMULAS[op])) in html, op


def test_the_same_trace_gives_the_same_bytes(mini):
    trace, html, _ = mini
    results = verify(trace, derivations=False, precision=False)
    assert render_report(trace, results) == html


def test_llama_stages_have_their_own_sections_and_derivations(smol, smol_page):
    _, html, _ = smol
    kinds = [s["data-kind"] for s in smol_page.sections]
    layer0 = ["rms-norm", "qkv", "rope", "gqa", "scores", "mask", "softmax"]
    layer0 += ["weighted", "concat", "residual", "rms-norm", "swiglu", "residual"]
    assert kinds == [
        *("tokens", "embedding", "rope-angles"),
        *layer0,
        *["layer"] * 29,
        *("rms-norm", "logits", "probs", "prediction"),
    ]
    for kind, title in LLAMA_KINDS.items():
        found = [s["id"] for s in smol_page.sections if s["data-kind"] == kind]
        first = section(html, found[0])
        assert f'data-derivation="{kind}"' in first, kind  # shown in full here
        for sid in found[1:]:  # later sections link back to it
            later = section(html, sid)
            assert f"Derivation: {title}" in later and f'href="#{found[0]}"' in later
    for s in smol_page.sections:
        text = section(html, s["id"])
        assert '<span class="badge ok"' in text, s["id"]  # verified
        assert "<math" in text or s["data-kind"] in ("tokens", "prediction", "layer")
    assert 'href="#decoder-0-self_attn-rope"' in section(html, "decoder-rope-angles")
    ffn = section(html, "decoder-0-ffn")
    assert 'data-derivation="feed-forward"' not in ffn and "ReLU</h4>" not in ffn
    assert "Final RMSNorm" in section(html, "decoder-final-norm")
    assert "causal mask" in section(html, "decoder-0-self_attn-mask")
    assert "weight tying" in section(html, "output-logits")


def test_rope_and_gqa_sections_show_the_traces_numbers(smol):
    trace, html, _ = smol
    rope = section(html, "decoder-0-self_attn-rope")
    q = trace["decoder.0.self_attn.q"].astype(np.float64)
    q_rope = trace["decoder.0.self_attn.q_rope"].astype(np.float64)
    norms = re.findall(r"<tr><td class=\"n\">(\d+)</td><td class=\"n\">([^<]+)</td>"
                       r"<td class=\"n\">([^<]+)</td></tr>", rope)  # fmt: skip
    assert len(norms) == q.shape[1]
    for m, before, after in norms:
        want = np.linalg.norm(q[0, int(m)])
        assert float(before) == pytest.approx(want, abs=1e-3)
        assert float(after) == pytest.approx(np.linalg.norm(q_rope[0, int(m)]), 1e-3)
    relative = re.search(r'<table class="plain rope-relative">.*?</table>', rope, re.S)
    scores = [float(s) for s in re.findall(r'title="([^"]+)"', relative[0])]
    assert len(scores) == 5
    recorded = trace["decoder.0.self_attn.scores"][0, q.shape[1] - 1, 0]
    np.testing.assert_allclose(scores, recorded, rtol=1e-5)  # same for every shift
    gqa = section(html, "decoder-0-self_attn-gqa")
    rows = re.findall(
        r'<tr><td class="n">(\d)</td><td class="n">([\d, ]+)</td>'
        r'<td class="n">([\d, ]+)</td><td class="n">(\d)</td></tr>',
        gqa,
    )
    k_rope = trace["decoder.0.self_attn.k_rope"]
    k_heads = trace["decoder.0.self_attn.k_heads"]
    for j, k_src, _, formula in rows:
        same = [g for g in range(3) if np.array_equal(k_heads[int(j)], k_rope[g])]
        assert k_src == ", ".join(map(str, same)) and int(formula) == int(j) // 3
    assert len(rows) == 9


def test_bert_sections(mini, mini_page):
    trace, html, _ = mini
    kinds = [s["data-kind"] for s in mini_page.sections]
    assert kinds[:3] == ["tokens", "embedding", "learned"]
    assert kinds[-1] == "pooling" and "logits" not in kinds and "probs" not in kinds
    assert 'data-derivation="layer-norm"' in section(html, "encoder-learned")
    ffn = section(html, "encoder-0-ffn")
    assert 'data-derivation="feed-forward"' in ffn and 'data-derivation="gelu"' in ffn
    assert "GELU(z) = z·Φ(z)" in ffn and "<h4>ReLU</h4>" not in ffn
    pooled = trace["encoder.5.norm2"].astype(np.float64).mean(axis=0)
    embedding = pooled / np.linalg.norm(pooled)
    pooling = section(html, "output-pooling")
    top = [int(i) for i in re.findall(r'<tr><td class="n">(\d+)</td><td class="n" '
                                      r'title="[^"]+">', pooling)]  # fmt: skip
    assert top == list(np.argsort(-np.abs(embedding), kind="stable")[: len(top)])
    assert len(top) == 8 and "the length is <span" in pooling


@pytest.mark.parametrize(
    ("which", "sid", "prefix"),
    [
        ("smol", "decoder-0-self_attn-concat", "decoder.0.self_attn"),
        ("mini", "encoder-0-self_attn-concat", "encoder.0.self_attn"),
    ],
)
def test_concat_speaks_of_a_bias_only_where_the_model_has_one(
    which, sid, prefix, request
):
    """SmolLM2's o_proj has no bias (its b_O is all zeros), MiniLM's has one."""
    trace, html, _ = request.getfixturevalue(which)
    has_bias = bool(np.any(trace.params[f"{prefix}.b_o"]))
    assert has_bias == (which == "mini")  # what the two models' configs say
    concat = section(html, sid)
    assert ("plus a bias" in concat) == has_bias
    assert ("adds no bias" in concat) == (not has_bias)
    assert ("W_O + b_O" in concat) == has_bias


# --- numbers --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["smol", "mini"])
def test_no_table_is_wide_and_wide_ones_are_summarised(which, request):
    trace = request.getfixturevalue(which)[0]
    page = request.getfixturevalue(f"{which}_page")
    assert 0 < page.widest <= MAX_ROW_CELLS
    summarised = [m for m in page.matrices if "data-cols" in m]
    assert len(summarised) > 20
    for m in summarised:
        value = np.asarray(trace[m["data-stage"]])
        if "data-head" in m:
            value = value[int(m["data-head"])]
        value = np.atleast_2d(value)
        rows = [int(i) for i in m["data-rows"].split()]
        cols = [int(i) for i in m["data-cols"].split()]
        shown = value[np.ix_(rows, cols)]
        got = np.array([[np.float32(v) for v in r] for r in m["rows"]])
        assert got.shape == shown.shape, m["data-stage"]
        assert np.array_equal(got, shown.astype(np.float32)), m["data-stage"]
        stats = [float(s["exact"]) for s in m["stats"].values()][-4:]
        whole = value if m["of"] == value.shape else value[rows]  # E: the ids' rows
        assert whole.shape == m["of"], m["data-stage"]
        want = whole.astype(np.float64)
        np.testing.assert_allclose(
            stats, [want.min(), want.max(), want.mean(), want.std()], rtol=1e-9
        )


def test_top_tokens_are_an_independent_softmax_of_the_logits(smol, smol_page):
    special = pytest.importorskip("scipy.special")
    trace, html, _ = smol
    logits = trace["output.logits"][-1].astype(np.float64)  # the last position
    probs = special.softmax(logits)
    top = np.argsort(-probs, kind="stable")[:10]
    decode = load_model("smollm2").tokenizer.tokenizer.decode
    bars = smol_page.bars
    assert [b["token"] for b in bars] == [decode([int(i)]) for i in top]
    shown = [float(b["title"].rsplit(": ", 1)[1]) for b in bars]
    np.testing.assert_allclose(shown, probs[top], rtol=1e-5, atol=1e-7)
    assert bars[0]["token"] == " Paris"
    position = len(trace.source.tokens) - 1
    assert f"after position {position} (“ is”)" in section(html, "output-probs")
    answer = section(html, "output-prediction")
    assert 'data-stage="output.prediction"> Paris</div>' in answer


def unpack(packed: dict) -> np.ndarray:
    """A packed array of the views' data: little-endian float32 bytes, base64."""
    raw = base64.b64decode(packed["float32"], validate=True)
    return np.frombuffer(raw, dtype="<f4").reshape(packed["shape"])


def test_views_hold_every_layer_and_head(smol_page, smol, mini_page, mini):
    (kind,) = smol_page.views["kinds"]
    trace = smol[0]
    assert len(kind["layers"]) == 30
    decode = load_model("smollm2").tokenizer.tokenizer.decode
    assert kind["queries"] == [decode([i]) for i in trace.source.ids]
    for layer in kind["layers"][::7]:
        p = layer["prefix"]
        assert len(layer["heads"]) == 9 and len(layer["kv"]) == 3
        k_rope = trace[f"{p}.k_rope"]
        for g in range(3):
            assert np.array_equal(unpack(layer["kv"][g]), k_rope[g])
        for h, head in enumerate(layer["heads"]):
            assert head["kv"] == h // 3
            assert np.array_equal(unpack(head["q"]), trace[f"{p}.q_rope"][h])
            weights = np.array(head["weights"], dtype=np.float32)
            assert np.array_equal(weights, trace[f"{p}.weights"][h]), (p, h)
    (kind,) = mini_page.views["kinds"]
    assert len(kind["layers"]) == 6
    assert {len(layer["heads"]) for layer in kind["layers"]} == {12}
    head = kind["layers"][5]["heads"][11]
    want = mini[0]["encoder.5.self_attn.k"][11]
    assert np.array_equal(unpack(head["k"]), want)


# --- in a browser ---------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
ARGS += ["--disable-background-networking"]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def opened(browser):
    pages, problems = [], []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            problems.append(f"request: {r.request.url}")
            r.abort()

    def open_(path: Path):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.route("**/*", route)
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on(
            "console",
            lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0,
        )
        page.goto(path.as_uri())
        pages.append(page)
        return page

    yield open_, problems
    for page in pages:
        page.close()


def heatmap(page) -> tuple[str, np.ndarray]:
    cells = page.eval_on_selector_all(
        "#mv-svg rect.hm-cell", "cs => cs.map(c => [+c.dataset.q, +c.dataset.k,"
        " c.dataset.w])",
    )  # fmt: skip
    size = int(max(q for q, _, _ in cells)) + 1
    grid = np.zeros((size, size), dtype=np.float32)
    for q, k, w in cells:
        grid[q, k] = np.float32(w)
    return page.get_attribute("#mv-heatmap", "data-showing"), grid


def test_picking_layer_29_head_8_of_smollm2_shows_its_weights(smol, opened):
    trace, _, path = smol
    open_, problems = opened
    page = open_(path)
    assert page.locator(".mv-cell").count() == 30 * 9
    before = heatmap(page)
    assert before[0] == "decoder.0.self_attn head 0"
    page.select_option("#v-layer", "29")
    page.select_option("#v-head", "8")
    showing, grid = heatmap(page)
    assert showing == "decoder.29.self_attn head 8"
    weights = trace["decoder.29.self_attn.weights"][8]
    assert np.array_equal(grid, weights) and not np.array_equal(before[1], grid)
    assert page.locator('.mv-cell.sel[data-layer="29"][data-head="8"]').count() == 1
    # the neuron view reads head 8's query and the K/V head it shares (8 // 3 = 2)
    page.select_option("#nv-query", "4")
    q = page.eval_on_selector_all(
        '#nv-table td[data-role="q"]', "cs => cs.map(c => c.title)"
    )
    k = page.eval_on_selector_all(
        '#nv-table td[data-role="k"]', "cs => cs.map(c => c.title)"
    )
    want_q = trace["decoder.29.self_attn.q_rope"][8, 4]
    want_k = trace["decoder.29.self_attn.k_rope"][2]
    assert np.array_equal(np.float32(q), want_q)
    assert np.array_equal(np.float32(k).reshape(want_k.shape), want_k)
    # with the keyboard: Tab to a thumbnail, Enter opens it
    page.focus('.mv-cell[data-layer="3"][data-head="5"]')
    page.keyboard.press("Enter")
    showing, grid = heatmap(page)
    assert showing == "decoder.3.self_attn head 5"
    assert np.array_equal(grid, trace["decoder.3.self_attn.weights"][5])
    assert page.evaluate("document.activeElement.dataset.head") == "5"
    assert problems == []


def test_minilm_model_view_shows_all_72_heads(mini, opened):
    trace, _, path = mini
    open_, problems = opened
    page = open_(path)
    assert page.locator(".mv-cell").count() == 6 * 12
    page.click('.mv-cell[data-layer="5"][data-head="11"]')
    showing, grid = heatmap(page)
    assert showing == "encoder.5.self_attn head 11"
    assert np.array_equal(grid, trace["encoder.5.self_attn.weights"][11])
    assert problems == []


def test_untrusted_text_stays_text_in_a_byte_level_page():
    if reason := _missing(smollm2):
        pytest.skip(reason)
    evil = "<img src=x onerror=alert(1)> </script><script>alert(1)</script>"
    trace = trace_model("smollm2", evil)
    html = render_report(trace, [])  # no checks needed to test the escaping
    assert "<img" not in html and "alert(1)</script>" not in html
    assert html.count("<script") == 4 and html.count("</script>") == 4  # views,
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # sampling: data, code
