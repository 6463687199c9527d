"""The movie's structure: the intro's diagram, the corner map of every scene, the
bridge to the decoder, the outro, and their order."""

import pytest

pytest.importorskip("manim")

from cli_run import run

from explainer import trace_json
from explainer.config import ModelConfig
from explainer.render import SCENES, available
from explainer.run import trace_sentence


@pytest.fixture
def default_trace(capsys):
    """The default preset's trained pass, as ``explainer trace --json`` gives it."""
    code, out, _ = run(["trace", "--json"], capsys)
    assert code == 0
    return trace_json.loads(out)


def test_the_movie_opens_with_the_intro_and_ends_with_the_outro():
    names = list(SCENES)
    assert names[0] == "intro" and names[-1] == "outro"
    assert names.index("softmax") < names.index("attention")  # before it is used
    encoder_last = names.index("feed-forward")
    assert encoder_last < names.index("bridge") < names.index("causal-mask")
    assert SCENES["bridge"].needs == "cross"


def test_the_outro_ends_with_the_translation_of_the_readme(default_trace):
    from explainer.scenes.outro import ending, path, result_words

    # the decoder reads <bos> + the model's own greedy translation: the pass
    # predicts that translation, word after word
    assert result_words(default_trace) == list(default_trace.target.tokens[1:])
    assert ending(default_trace) == "The translation: 当 你 玩 权力 的 游戏"
    titles = [step.title for step in path(default_trace)]
    assert titles[0] == "Tokens" and titles[-1] == "Softmax"
    assert "Encoder, 2 layers" in titles and "Decoder, 2 layers" in titles


def test_the_intro_diagram_has_the_papers_blocks_and_the_n_layers_drawn_once():
    from explainer.scenes.common import text
    from explainer.scenes.model_map import ModelDiagram

    trace = trace_sentence(ModelConfig(architecture="encoder-decoder"), "you win")
    diagram = ModelDiagram(trace, lambda s, c: text(s, 26, c))
    said = sorted(label.text for label in diagram.labels)
    assert said.count("N×") == 2  # one frame per stack, however many layers
    assert said.count("Add & Norm") == 2 + 3
    assert said.count("Multi-Head Attention") == 2  # encoder self-, decoder cross-
    for name in (
        "Masked Multi-Head Attention",
        "Feed Forward",
        "Input Embedding",
        "Output Embedding",
        "Positional Encoding",
        "Linear",
        "Softmax",
    ):
        assert name in said, name
    assert len(diagram.tracks["decoder"]) == trace.config.n_layers


def test_the_corner_map_lights_the_block_and_the_layer_of_the_scene():
    from explainer.scenes.common import HIGHLIGHT
    from explainer.scenes.model_map import corner_map, locate

    trace = trace_sentence(ModelConfig(architecture="encoder-decoder"), "you win")
    where = locate("decoder.1.cross_attn\nlayer 1 of 2 · head 1 of 2")
    small = corner_map(trace, where, 1.2)
    lit = {
        key
        for key, block in small.blocks.items()
        if block.fill_target.get_fill_color() == HIGHLIGHT
    }
    assert lit == {("decoder", "cross_attn")}
    lit_layers = [
        i
        for i, seg in enumerate(small.tracks["decoder"])
        if seg.get_fill_color() == HIGHLIGHT
    ]
    assert lit_layers == [1]
    assert small.height == pytest.approx(1.2)
    assert not small.labels  # no words: too small to read


def test_a_decoder_only_model_has_one_stack_and_no_bridge():
    from explainer.scenes.model_map import ModelDiagram

    trace = trace_sentence(ModelConfig(architecture="decoder"), "you win")
    assert set(ModelDiagram(trace).frames) == {"decoder"}
    names = [spec.name for spec in available(SCENES.values(), trace)]
    assert "bridge" not in names and names[0] == "intro" and names[-1] == "outro"
