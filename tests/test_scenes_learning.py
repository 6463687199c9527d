"""The ``learning`` and ``gradient-flow`` scenes (scenes/learning.py,
scenes/gradient_flow.py): listed for the trained default preset only, they pass
``explainer render --check``, and the numbers they show are forward passes with
each checkpoint's weights and the trace's backward stages."""

import numpy as np
import pytest

pytest.importorskip("manim")

from explainer.backward import with_backward
from explainer.config import ModelConfig
from explainer.render import SCENES, available
from explainer.render.lint import lint_specs, trace_file
from explainer.render.worker import render_scene
from explainer.run import trace_sentence
from explainer.tokenizer import Tokenizer
from explainer.train import shipped_weights
from explainer.train.learning import DEMO_ENGLISH

NAMES = ("learning", "gradient-flow")
CHINESE = "当 你 玩 权力 的 游戏"


@pytest.fixture(scope="module")
def weights():
    return shipped_weights("default.safetensors")


@pytest.fixture(scope="module")
def trained(weights):
    """The default preset's trace, as `explainer render` makes it."""
    return trace_sentence(
        weights.config,
        "When you play game of thrones",
        target=CHINESE,
        tokenizer=Tokenizer(weights.vocab),
        params=weights.params,
        weights=weights.describe(),
    )


def test_both_scenes_come_last_and_only_with_trained_weights(trained):
    # last before the outro, which retraces the forward pass
    assert list(SCENES)[-3:] == [*NAMES, "outro"]
    shown = [spec.name for spec in available(SCENES.values(), trained)]
    assert shown[-3:] == [*NAMES, "outro"]
    for trace in (
        trace_sentence(ModelConfig(), "you win"),  # random weights
        trace_sentence(ModelConfig(architecture="encoder"), "you win"),
    ):
        for name in NAMES:
            reason = SCENES[name].unavailable(trace)
            assert reason.startswith("needs ") and "random weights" in reason
            assert "\n" not in reason


@pytest.mark.slow
def test_both_pass_the_render_check(trained, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    results = lint_specs(trained, [SCENES[n] for n in NAMES], media_dir=media)
    assert [r.name for r in results] == list(NAMES)
    for result in results:
        assert result.ok, result
        assert result.violations == 0


@pytest.mark.slow
def test_the_scenes_show_the_checkpoints_and_the_backward_stages(
    trained, weights, tmp_path
):
    with trace_file(trained):
        learn = render_scene(
            SCENES["learning"],
            tmp_path / "learning.png",
            last_frame=True,
            media_dir=tmp_path / "media",
            overrides={"pixel_width": 480, "pixel_height": 270},
        )
        flow = render_scene(
            SCENES["gradient-flow"],
            tmp_path / "flow.png",
            last_frame=True,
            media_dir=tmp_path / "media",
            overrides={"pixel_width": 480, "pixel_height": 270},
        )
    # Each heatmap: the demo pair's cross-attention with that checkpoint's weights.
    params = {**weights.checkpoints, 500: weights.params}
    steps = [step for step, _ in learn.scene.grids]
    assert steps == [0, 10, 50, 200, 500]
    for step, shown in learn.scene.grids:
        expected = trace_sentence(
            weights.config,
            DEMO_ENGLISH,
            target=CHINESE,
            tokenizer=Tokenizer(weights.vocab),
            params=params[step],
        )["decoder.1.cross_attn.weights"][0]
        np.testing.assert_allclose(shown, expected, atol=1e-12)
    # The gradient walk: the backward stages of `trace --backward`.
    full = with_backward(trained)
    shown = dict(flow.scene.numbers)
    labels, probs = full["backward.labels"], full["output.probs"]
    t = int(np.argmax(-np.log(probs[np.arange(len(labels)), labels])))
    prefix = "decoder.1.cross_attn"
    h = _head(full, prefix, t)
    hidden = full["backward.decoder.1.norm3"][t]
    np.testing.assert_array_equal(shown[r"\partial h"][0], hidden)
    np.testing.assert_array_equal(
        shown[r"\partial O"][0], full[f"backward.{prefix}.heads"][h, t]
    )
    np.testing.assert_array_equal(
        shown[r"\partial P"][0], full[f"backward.{prefix}.weights"][h, t]
    )
    np.testing.assert_array_equal(
        shown[r"\partial S"][0], full[f"backward.{prefix}.masked"][h, t]
    )
    np.testing.assert_array_equal(
        shown[r"\partial Q"][0], full[f"backward.{prefix}.q"][h, t]
    )
    np.testing.assert_array_equal(shown[r"\partial K"], full[f"backward.{prefix}.k"][h])
    assert shown["(p-y)/T"][0][0] == full["backward.output.logits"][t, labels[t]]


def _head(trace, prefix, t):
    """The head whose scores get the largest gradient at position t."""
    d_s = np.abs(trace[f"backward.{prefix}.masked"][:, t])
    return int(np.argmax(d_s.max(-1)))
