"""The HTML report in a real browser: Debian's Chromium driven by Playwright
(tests/browser_page.py). Every request the page makes is routed, and anything but
file: or data: fails the test. Screenshots of the major sections go to
output/screenshots/.
"""

from pathlib import Path

import numpy as np
import pytest
from browser_page import Visit, launch, sync_api

from explainer import ModelConfig, trace_sentence
from explainer.render.manifest import trace_digest, update_manifest
from explainer.report import find_videos, render_report
from explainer.tokenizer import Tokenizer, default_corpus
from explainer.verify import verify

sync_api()

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "output" / "screenshots"
EVIL = "<img src=x onerror=alert(1)> </script><script>alert(1)</script>"


def write_report(path: Path, sentence: str, tokenizer=None, **config) -> tuple:
    trace = trace_sentence(ModelConfig(**config), sentence, tokenizer=tokenizer)
    path.write_text(render_report(trace, verify(trace, derivations=False)), "utf-8")
    return trace, path


def write_video(path: Path, frames: int = 45) -> None:
    """A 3-second H.264 MP4 (what ``explainer render`` writes), made with PyAV."""
    av = pytest.importorskip("av")  # PyAV comes with manim
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=15)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            pixels = np.full((48, 64, 3), 5 * i, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def write_report_with_video(folder: Path) -> tuple:
    """A report with one video of its own trace beside it, in videos/."""
    trace = trace_sentence(ModelConfig(architecture="decoder", n_layers=1), "you win")
    write_video(folder / "videos" / "softmax.mp4")
    update_manifest(folder / "videos", trace_digest(trace), {"softmax": "softmax.mp4"})
    page = folder / "report.html"
    videos = find_videos(page, trace)
    results = verify(trace, derivations=False, precision=False)
    page.write_text(render_report(trace, results, videos), "utf-8")
    return trace, page


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    tokenizer = Tokenizer.from_corpus([*default_corpus(), EVIL])
    return {
        "default": write_report(
            folder / "default.html", "When you play game of thrones"
        ),
        "evil": write_report(folder / "evil.html", EVIL, tokenizer=tokenizer),
        "chinese": write_report(
            folder / "chinese.html", "我爱自然语言处理", architecture="decoder"
        ),
        "video": write_report_with_video(tmp_path_factory.mktemp("video")),
    }


@pytest.fixture(scope="module")
def browser():
    yield from launch()


@pytest.fixture
def visit(browser, pages):
    opened = []

    def open_(name: str) -> Visit:
        opened.append(Visit(browser, pages[name][1]))
        return opened[-1]

    yield open_
    for v in opened:
        v.close()


def test_page_loads_offline_without_errors(visit):
    v = visit("default")
    assert v.requests and all(u.startswith("file:") for u in v.requests)
    assert v.blocked == []
    assert v.errors == []
    assert v.page.locator("section.stage").count() > 30


def test_formulas_are_rendered_with_a_size(visit):
    v = visit("default")
    maths = v.page.locator(".formula math")
    assert maths.count() > 20
    for i in range(maths.count()):
        box = maths.nth(i).bounding_box()
        assert box is not None and box["width"] > 5 and box["height"] > 5
    fraction = v.page.locator("#encoder-0-self_attn-scores .formula mfrac").first
    box = fraction.bounding_box()
    assert box["height"] > 20  # a real two-storey fraction, not inline text
    step = v.page.locator("details.derivation[open] .step .rhs math").first
    assert step.bounding_box()["width"] > 10


def visible_lines(page) -> list[tuple[str, str]]:
    return page.eval_on_selector_all(
        "#hv-svg line.attn:not(.dim)",
        "ls => ls.map(l => [l.dataset.q, l.dataset.k])",
    )


def test_hovering_a_token_shows_only_its_lines(visit):
    v = visit("default")
    page = v.page
    before = visible_lines(page)
    n = len(page.locator("#hv-svg text.tok.q").all())
    assert len(before) == n * n  # encoder self-attention, head 0: T × T lines
    page.hover('#hv-svg text.tok.q[data-i="2"]')
    during = visible_lines(page)
    assert during != before and len(during) == n
    assert {q for q, _ in during} == {"2"}
    assert page.locator("#hv-svg line.attn.hl").count() == n
    page.hover('#hv-svg text.tok.k[data-i="4"]')
    assert {k for _, k in visible_lines(page)} == {"4"}
    page.mouse.move(5, 5)
    assert visible_lines(page) == before


def test_clicking_a_model_view_cell_opens_it_in_the_head_view(visit, pages):
    trace = pages["default"][0]
    v = visit("default")
    page = v.page
    assert page.get_attribute("#head-view", "data-showing") == (
        "encoder.0.self_attn head 0"
    )
    cells = page.locator(".mv-cell")
    assert cells.count() == trace.config.n_layers * trace.config.n_heads
    page.click('.mv-cell[data-layer="1"][data-head="1"]')
    assert page.get_attribute("#head-view", "data-showing") == (
        "encoder.1.self_attn head 1"
    )
    assert page.input_value("#v-layer") == "1" and page.input_value("#v-head") == "1"
    opacities = page.eval_on_selector_all(
        "#hv-svg line.attn",
        "ls => ls.map(l => [+l.dataset.q, +l.dataset.k,"
        " +l.getAttribute('stroke-opacity')])",
    )
    weights = trace["encoder.1.self_attn.weights"][1]
    for q, k, opacity in opacities:
        assert opacity == pytest.approx(weights[q, k], abs=1e-4)
    assert page.locator('.mv-cell.sel[data-layer="1"][data-head="1"]').count() == 1
    # another attention: the decoder's cross-attention, every layer × head again
    page.select_option(
        "#v-kind", label=page.locator("#v-kind option").nth(2).inner_text()
    )
    assert page.get_attribute("#head-view", "data-showing") == (
        "decoder.0.cross_attn head 0"
    )
    assert page.locator(".mv-cell").count() == 4


def numbers(page, role: str) -> list[float]:
    return [
        float(t)
        for t in page.eval_on_selector_all(
            f'#nv-table td[data-role="{role}"]', "cs => cs.map(c => c.title)"
        )
    ]


def test_neuron_view_shows_the_traces_numbers(visit, pages):
    trace = pages["default"][0]
    v = visit("default")
    page = v.page
    page.select_option("#v-head", "1")
    page.select_option("#nv-query", "2")
    p = "encoder.0.self_attn"
    q, k = trace[f"{p}.q"][1], trace[f"{p}.k"][1]
    assert numbers(page, "q") == list(q[2])
    assert numbers(page, "k") == list(k.reshape(-1))
    np.testing.assert_allclose(
        np.array(numbers(page, "product")).reshape(k.shape), k * q[2], rtol=1e-15
    )
    assert numbers(page, "score") == list(trace[f"{p}.scores"][1, 2])
    assert numbers(page, "scaled") == list(trace[f"{p}.scaled"][1, 2])
    assert numbers(page, "weight") == list(trace[f"{p}.weights"][1, 2])
    text = page.inner_text("#nv-table")
    assert "play" in text and "head 1" in text


def test_neuron_view_marks_masked_keys(visit, pages):
    trace = pages["default"][0]
    v = visit("default")
    page = v.page
    page.select_option("#v-kind", "1")  # decoder masked self-attention
    page.select_option("#nv-query", "1")
    assert page.locator("#nv-table tr.masked").count() == len(trace.target.tokens) - 2
    assert numbers(page, "weight")[2:] == [0.0] * (len(trace.target.tokens) - 2)


SECTIONS = {
    "header": "main > header",
    "architecture": ".diagram",
    "tokens": "#encoder-tokens",
    "embedding": "#encoder-embedding",
    "positional_encoding": "#encoder-positional",
    "qkv": "#encoder-0-self_attn-qkv",
    "scores_scaling": "#encoder-0-self_attn-scores",
    "causal_mask": "#decoder-0-self_attn-mask",
    "softmax": "#encoder-0-self_attn-softmax",
    "weighted_sum": "#encoder-0-self_attn-weighted",
    "concat_wo": "#encoder-0-self_attn-concat",
    "residual_layernorm": "#encoder-0-addnorm1",
    "ffn": "#encoder-0-ffn",
    "cross_attention": "#decoder-0-cross_attn-qkv",
    "logits": "#output-logits",
    "probabilities": "#output-probs",
    "prediction": "#output-prediction",
    "attention_views": "#attention-views ~ .views",
}


def test_screenshots_of_every_major_section(visit):
    SHOTS.mkdir(parents=True, exist_ok=True)
    v = visit("default")
    for name, selector in SECTIONS.items():
        target = SHOTS / f"{name}.png"
        v.page.locator(selector).first.screenshot(path=str(target))
        assert target.stat().st_size > 2000, name


def test_untrusted_sentence_stays_text(visit):
    v = visit("evil")
    page = v.page
    assert v.dialogs == []
    assert v.errors == [] and v.blocked == []
    assert page.locator("img").count() == 0
    # the views' data and code, the sampling panel's data and code
    assert page.locator("script").count() == 4
    assert page.inner_text("#the-sentence").startswith(EVIL)
    assert EVIL in page.title()
    tokens = page.eval_on_selector_all(
        "#hv-svg text.tok.q", "ts => ts.map(t => t.textContent)"
    )
    assert "<" in tokens and "script" in tokens  # the views show the tokens as text
    page.locator("#encoder-tokens").screenshot(path=str(SHOTS / "untrusted.png"))
    assert v.dialogs == []


def test_chinese_text_renders(visit):
    v = visit("chinese")
    page = v.page
    assert v.errors == []
    assert page.inner_text("#the-sentence").startswith("我爱自然语言处理")
    width = page.locator("#decoder-tokens td.tok").first.bounding_box()["width"]
    assert width > 5
    page.locator("#decoder-tokens").screenshot(path=str(SHOTS / "chinese_tokens.png"))
    page.locator("#attention-views ~ .views").screenshot(
        path=str(SHOTS / "chinese_attention_views.png")
    )


def test_keyboard_focus_on_a_token_works_like_hover(visit):
    v = visit("default")
    page = v.page
    before = visible_lines(page)
    n = len(page.locator("#hv-svg text.tok.q").all())
    page.focus('#hv-svg text.tok.q[data-i="3"]')
    during = visible_lines(page)
    assert len(during) == n and {q for q, _ in during} == {"3"}
    page.keyboard.press("Tab")  # on to the next token: its lines instead
    assert {q for q, _ in visible_lines(page)} == {"4"}
    page.evaluate("document.activeElement.blur()")
    assert visible_lines(page) == before


def test_a_video_beside_the_report_plays(visit):
    v = visit("video")
    page = v.page
    assert page.locator("video").count() == 1
    assert page.get_attribute("video", "src") == "videos/softmax.mp4"
    times = page.evaluate(
        """async () => {
            const video = document.querySelector("video");
            video.muted = true;
            await video.play();
            const start = video.currentTime;
            await new Promise(done => setTimeout(done, 700));
            return [start, video.currentTime, video.duration];
        }"""
    )
    start, later, duration = times
    assert later > start + 0.2, times  # it played: its time advanced
    assert duration == pytest.approx(3.0, abs=0.1)  # 45 frames at 15 per second
    assert v.errors == [] and v.blocked == []


def test_the_policy_refuses_remote_media(visit):
    v = visit("video")
    refused = v.page.evaluate(
        """() => new Promise(done => {
            document.addEventListener("securitypolicyviolation",
                e => done([e.effectiveDirective, e.blockedURI]));
            const video = document.createElement("video");
            video.src = "https://example.com/remote.mp4";
            document.body.appendChild(video);
        })"""
    )
    assert refused == ["media-src", "https://example.com/remote.mp4"]
    assert v.blocked == []  # refused by the page itself, before any request
