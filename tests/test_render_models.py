"""``explainer render`` with the pretrained models: which scenes apply to which
architecture, the one-line note for a scene skipped by ``--all``, the one-line error
(exit code 2) for a named scene the model lacks, and one real render per model."""

import importlib.util
import json

import numpy as np
import pytest
from cli_run import run

from explainer import trace_json
from explainer.models import MODELS, minilm, smollm2, trace_model
from explainer.render import SCENES, RenderReport, available

PACKAGES = {"minilm": minilm, "smollm2": smollm2}


def needs(name):
    module = PACKAGES[name]
    return pytest.param(
        name,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(module.MODULE) is None,
            reason=f"model package missing: {module.INSTALL}",
        ),
    )


ALL_MODELS = [needs("minilm"), needs("smollm2")]

# Written from the architectures, not read from the registry. MiniLM is a BERT
# encoder: learned position and segment rows (no sinusoids, no RoPE), post-LN
# LayerNorm, GELU FFN, bidirectional self-attention only (no causal mask, no
# decoder), and a mean-pooled sentence vector instead of next-token logits.
# SmolLM2 is a Llama decoder: RoPE, RMSNorm, SwiGLU, causal grouped-query
# self-attention, no encoder (no cross-attention), and next-token logits.
APPLIES = {
    "minilm": [
        "intro",
        "tokens",
        "embedding",
        "position-embedding",
        "projections",
        "softmax",
        "attention",
        "scaling",
        "multi-head",
        "layer-norm",
        "feed-forward",
        "sentence-embedding",
        "outro",
    ],
    "smollm2": [
        "intro",
        "tokens",
        "embedding",
        "projections",
        "rope",
        "softmax",
        "attention",
        "scaling",
        "multi-head",
        "layer-norm",
        "feed-forward",
        "causal-mask",
        "output",
        "outro",
    ],
}
# A named scene the model lacks, and words its error must contain.
LACKS = {
    "minilm": [
        ("positional-encoding", "learned position embeddings"),
        ("causal-mask", "needs a decoder"),
        ("cross-attention", "needs an encoder-decoder"),
        ("output", "sentence embedding"),
        ("rope", "needs rotary position embeddings"),
    ],
    "smollm2": [
        ("positional-encoding", "RoPE"),
        ("position-embedding", "RoPE"),
        ("cross-attention", "needs an encoder-decoder"),
        ("sentence-embedding", "next-token probabilities"),
    ],
}


@pytest.fixture(scope="module")
def traces():
    """One trace per model, made on first use."""
    made = {}

    def get(name):
        if name not in made:
            made[name] = trace_model(name, MODELS[name].example)
        return made[name]

    return get


@pytest.mark.parametrize("name", ALL_MODELS)
def test_the_scenes_that_apply_follow_the_architecture(name, traces):
    shown = [spec.name for spec in available(SCENES.values(), traces(name))]
    assert shown == APPLIES[name]


@pytest.mark.parametrize("name", ALL_MODELS)
def test_all_skips_each_scene_the_model_lacks_with_a_one_line_note(
    name, capsys, monkeypatch, tmp_path
):
    asked = {}

    def fake_render(trace, specs, options):  # records what the CLI asks for
        asked["specs"], asked["options"] = [s.name for s in specs], options
        return RenderReport(written=[tmp_path / f"{s.name}.mp4" for s in specs])

    monkeypatch.setattr("explainer.cli.render_cmd.render", fake_render)
    argv = ["render", "--movie", "--model", name, "--out-dir", str(tmp_path)]
    code, out, err = run(argv, capsys)
    assert code == 0
    assert asked["specs"] == APPLIES[name]  # the movie joins the ones that apply
    assert asked["options"].movie
    notes = [line for line in err.splitlines() if line.startswith("skipped ")]
    lacking = [scene for scene in SCENES if scene not in APPLIES[name]]
    assert [line.split()[1].rstrip(":") for line in notes] == lacking
    assert all(": needs " in line for line in notes)
    assert len(out.splitlines()) == len(APPLIES[name])


@pytest.mark.parametrize(
    ("name", "scene", "words"),
    [
        pytest.param(name, scene, words, marks=param.marks)
        for param in ALL_MODELS
        for name in param.values
        for scene, words in LACKS[name]
    ],
)
def test_a_named_scene_the_model_lacks_is_a_one_line_error(
    name, scene, words, capsys, tmp_path
):
    argv = ["render", scene, "--model", name, "--out-dir", str(tmp_path / "v")]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: scene {scene!r} needs ")
    assert words in err
    assert not (tmp_path / "v").exists()  # nothing rendered, nothing written


# --- real renders --------------------------------------------------------------------

SMALL = {"pixel_width": 320, "pixel_height": 180}
REAL = {"minilm": "sentence-embedding", "smollm2": "rope"}  # the models' own scenes


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_MODELS)
def test_a_scene_of_a_real_model_renders_to_mp4(name, traces, tmp_path, monkeypatch):
    pytest.importorskip("manim")
    from explainer.render.movie import frame_count
    from explainer.render.worker import render_scene

    trace = traces(name)
    path = tmp_path / "trace.json"
    path.write_text(trace_json.dumps(trace), encoding="utf-8")
    assert json.loads(path.read_text())["params"] == {}  # weights from the package
    monkeypatch.setenv("EXPLAINER_TRACE", str(path))
    result = render_scene(
        SCENES[REAL[name]],
        tmp_path / "scene.mp4",
        media_dir=tmp_path / "media",
        overrides=SMALL,
    )
    assert result.path.stat().st_size > 10_000
    frames = frame_count(result.path)
    assert frames == round(result.seconds * result.frame_rate) > 0
    assert 8 <= result.seconds <= 60  # captions held at a reading pace
    for matrix in result.scene.shown:  # the trace's own numbers, rounded
        block = np.atleast_2d(np.asarray(trace[matrix.stage])[matrix.index])
        block = block.T if matrix.transposed else block
        for (r, c), cell in matrix.cells.items():
            assert cell.number == round(float(block[r, c]), matrix.decimals) + 0.0


@pytest.mark.parametrize("name", ALL_MODELS)
def test_tokens_are_shown_as_the_text_they_stand_for(name, traces):
    pytest.importorskip("manim")
    from explainer.scenes.common import first_stack, stack_tokens

    trace = traces(name)
    shown = stack_tokens(trace, first_stack(trace))
    expected = {
        "minilm": ("[CLS]", "the", "quick", "brown", "fox", "[SEP]"),  # WordPiece
        "smollm2": ("The", "␣capital", "␣of", "␣France", "␣is"),  # Ġ is a space
    }
    assert shown == expected[name]
