"""Every scene renders, shows the trace's own numbers, and draws user text literally."""

import numpy as np
import pytest

pytest.importorskip("manim")

from PIL import Image

from explainer import trace_json
from explainer.config import ModelConfig
from explainer.presets import get_preset
from explainer.render import SCENES, available
from explainer.render.movie import frame_count
from explainer.render.worker import render_scene
from explainer.run import trace_sentence

SMALL = {"pixel_width": 480, "pixel_height": 270}  # a quarter of 1080p: quick

# Stages each scene must show (layer 0 of the default encoder-decoder). The keys are
# the scenes the paper's model has: not RoPE, learned positions or a pooled output.
EXPECTED = {
    "intro": set(),  # the architecture: shapes and names, no numbers
    "tokens": {"encoder.embed.ids", "decoder.embed.ids"},
    "embedding": {"embedding", "encoder.embed.lookup", "encoder.embed.scaled"},
    "positional-encoding": {"encoder.embed.pe", "encoder.embed.input"},
    "projections": {"encoder.0.self_attn.q", "encoder.0.self_attn.w_q"},
    "attention": {
        "encoder.0.self_attn.scores",
        "encoder.0.self_attn.scaled",
        "encoder.0.self_attn.weights",
        "encoder.0.self_attn.heads",
    },
    "softmax": {"encoder.0.self_attn.masked", "encoder.0.self_attn.weights"},
    "scaling": set(),  # a closed-form demo: random numbers, not the trace
    "multi-head": {"encoder.0.self_attn.concat", "encoder.0.self_attn.out"},
    "layer-norm": {"encoder.0.residual1", "encoder.0.norm1"},
    "feed-forward": {"encoder.0.ffn.hidden", "encoder.0.ffn.activation"},
    "causal-mask": {"decoder.0.self_attn.mask", "decoder.0.self_attn.masked"},
    "bridge": {"encoder.1.norm2"},  # M, the encoder's output (N = 2 layers)
    "cross-attention": {"decoder.0.cross_attn.weights", "decoder.0.cross_attn.heads"},
    "output": {"output.logits", "output.probs"},
    "outro": set(),  # the path, with the trace's shapes and words
}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


def grey(path):
    return np.asarray(Image.open(path).convert("L"), dtype=float)


def assert_not_blank(image):
    assert image.std() > 8, "the frame is (nearly) one colour"
    assert (image > 80).mean() > 0.005, "almost nothing is drawn"


def shown_block(trace, matrix):
    """The 2-D block of the trace a TraceMatrix says it shows."""
    block = np.asarray(trace[matrix.stage])
    if matrix.index:
        block = block[matrix.index]
    block = np.atleast_2d(block)
    return block.T if matrix.transposed else block


def assert_shows_trace(trace, matrix):
    block = shown_block(trace, matrix)
    assert matrix.cells
    for (r, c), cell in matrix.cells.items():
        value = block[r, c]
        if block.dtype == bool:
            assert cell.number == int(value)
        elif np.isneginf(value):
            assert cell.tex == r"-\infty"
        elif matrix.decimals == 0:
            assert cell.number == int(value)
        else:
            assert cell.number == round(float(value), matrix.decimals) + 0.0


def test_the_default_preset_has_every_scene_of_the_paper(monkeypatch):
    monkeypatch.delenv("EXPLAINER_TRACE", raising=False)
    from explainer.scenes.common import load_trace

    names = [spec.name for spec in available(SCENES.values(), load_trace())]
    assert names == [name for name in SCENES if name in EXPECTED]
    assert set(EXPECTED) == set(names)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("Ġcapital", "␣capital"),  # Ġ is the byte of a space
        ("The", "The"),
        ("ĠæĪĳ", "␣我"),  # three bytes, one character
        ("Ġæ", "␣<0xE6>"),  # the first byte of 我 alone
        ("ĠðŁ", "␣<0xF0><0x9F>"),  # half of 🍕
        ("Ċ", "↵"),
        ("<|im_start|>", "<|im_start|>"),  # an added token, as it is
    ],
)
def test_byte_level_tokens_are_shown_as_the_text_they_stand_for(token, expected):
    from explainer.scenes.token_text import shown

    assert shown(token, byte_level=True) == expected
    assert shown(token, byte_level=False) == token  # words, WordPiece: as they are


def test_wide_matrices_show_the_first_columns_of_two_heads_and_the_last():
    from explainer.scenes.common import head_columns, shape_tex

    assert head_columns(576, 64) == [0, 1, None, 64, 65, None, 575]
    assert head_columns(8, 4) == list(range(8))  # fits: every column
    assert shape_tex(np.zeros((5, 576))) == r"(5 \times 576)"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(EXPECTED))
def test_scene_renders_last_frame_with_the_traces_numbers(
    name, tmp_path, media, monkeypatch
):
    monkeypatch.delenv("EXPLAINER_TRACE", raising=False)  # the default preset
    result = render_scene(
        SCENES[name],
        tmp_path / "last.png",
        last_frame=True,
        media_dir=media,
        overrides=SMALL,
    )
    assert_not_blank(grey(result.path))
    scene = result.scene
    stages = {matrix.stage for matrix in scene.shown}
    assert EXPECTED[name] <= stages, f"missing {EXPECTED[name] - stages}"
    for matrix in scene.shown:
        assert_shows_trace(scene.trace, matrix)
    assert 8 <= result.seconds <= 60, "about 20-60 s at a reading pace"


@pytest.mark.slow
def test_scene_reads_the_trace_named_by_the_environment(tmp_path, media, monkeypatch):
    preset = get_preset("seed003")
    trace = trace_sentence(ModelConfig(**preset.config), "you win or you die")
    path = tmp_path / "trace.json"
    path.write_text(trace_json.dumps(trace), encoding="utf-8")
    monkeypatch.setenv("EXPLAINER_TRACE", str(path))
    result = render_scene(
        SCENES["attention"],
        tmp_path / "a.png",
        last_frame=True,
        media_dir=media,
        overrides=SMALL,
    )
    scores = next(m for m in result.scene.shown if m.stage.endswith(".scores"))
    assert scores.values.shape == (5, 5)
    np.testing.assert_array_equal(scores.values, trace["encoder.0.self_attn.scores"][0])
    for matrix in result.scene.shown:
        assert_shows_trace(trace, matrix)


@pytest.mark.slow
def test_one_scene_renders_to_mp4_with_the_expected_frame_count(tmp_path, media):
    result = render_scene(
        SCENES["tokens"], tmp_path / "tokens.mp4", media_dir=media, overrides=SMALL
    )
    assert result.path.stat().st_size > 10_000
    frames = frame_count(result.path)
    assert frames == round(result.seconds * result.frame_rate)
    assert result.frame_rate == 15  # low quality
    assert 10 <= frames / result.frame_rate <= 60
    # x264 writes its settings into the stream: those of its "veryfast" preset
    # (ref=1, subme=2), not its default "medium" (ref=3, subme=7), on one thread,
    # without B-frames
    settings = result.path.read_bytes().split(b"options: ", 1)[1][:600]
    assert (
        b" ref=1 " in settings and b" subme=2 " in settings and b"crf=23.0" in settings
    )
    assert b" threads=1 " in settings and b" bframes=0 " in settings


def _texts(scene):
    return [
        m.text
        for top in scene.mobjects
        for m in top.get_family()
        if isinstance(getattr(m, "text", None), str)
    ]


UNSAFE = r"\input{/etc/passwd} \write18{touch PWNED} $x$ 100% {a} #1 & b_c"


@pytest.mark.slow
def test_unsafe_sentence_is_drawn_literally_and_runs_nothing(tmp_path, monkeypatch):
    trace = trace_sentence(ModelConfig(architecture="encoder"), UNSAFE)
    path = tmp_path / "trace.json"
    path.write_text(trace_json.dumps(trace), encoding="utf-8")
    monkeypatch.setenv("EXPLAINER_TRACE", str(path))
    monkeypatch.chdir(tmp_path)
    media = tmp_path / "media"
    result = render_scene(
        SCENES["tokens"],
        tmp_path / "t.png",
        last_frame=True,
        media_dir=media,
        overrides=SMALL,
    )
    assert_not_blank(grey(result.path))
    assert f'"{UNSAFE}"' in _texts(
        result.scene
    )  # the sentence, character for character
    assert not list(tmp_path.rglob("PWNED*"))
    for tex in (media / "Tex").glob("*.tex"):
        source = tex.read_text(errors="replace")
        assert "passwd" not in source and "write18" not in source


@pytest.mark.slow
def test_chinese_sentence_renders_with_the_cjk_font(tmp_path, monkeypatch):
    from explainer.scenes.common import TEXT_FONT
    from manim import Text

    sentence = "我爱自然语言"
    trace = trace_sentence(ModelConfig(architecture="decoder"), sentence)
    path = tmp_path / "trace.json"
    path.write_text(trace_json.dumps(trace), encoding="utf-8")
    monkeypatch.setenv("EXPLAINER_TRACE", str(path))
    result = render_scene(
        SCENES["tokens"],
        tmp_path / "zh.png",
        last_frame=True,
        media_dir=tmp_path / "media",
        overrides=SMALL,
    )
    assert_not_blank(grey(result.path))
    assert list(trace.source.tokens) == list(sentence)
    assert f'"{sentence}"' in _texts(result.scene)
    # One outline per character, as for Latin letters; a missing glyph is a "tofu"
    # box drawn as the box plus its code point in hex digits (several outlines).
    assert len(Text(sentence, font=TEXT_FONT).submobjects) == len(sentence)
    missing = "\U000f0001\U000f0002"
    assert len(Text(missing, font=TEXT_FONT).submobjects) > len(missing)
