"""What a learner reads in the first scenes: math names set as the paper sets
them, one name for one thing, and the colour language kept (issue 14, point 10)."""

import re

import numpy as np
import pytest

pytest.importorskip("manim")

from explainer import config as config_mod
from explainer.presets import get_preset
from explainer.render import SCENES
from explainer.run import trace_sentence


def tex_on_screen(scene):
    from manim import MathTex

    return [
        m.get_tex_string()
        for top in scene.mobjects
        for m in top.get_family()
        if isinstance(m, MathTex)
    ]


@pytest.mark.slow
def test_embedding_scales_by_the_root_of_an_upright_d_model_and_names_x_once(
    last_scene,
):
    scene = last_scene("embedding")
    texs = tex_on_screen(scene)
    note = [t for t in texs if t.startswith(r"\times")]
    assert len(note) == 1
    # d_model as in the paper and the report: "model" upright, not m·o·d·e·l
    assert r"\sqrt{d_{\mathrm{model}}} = \sqrt{8}" in note[0]
    assert not any("d_{model}" in t for t in texs)
    assert "X" in texs  # the scaled matrix: the stack's input X


@pytest.mark.slow
def test_the_worked_projection_entry_is_not_named_like_a_head(last_scene):
    scene = last_scene("projections")
    (dot,) = scene.dots
    lhs = dot.lhs.get_tex_string()
    # Q_0 and Q_1 name the heads on screen: the entry must not read as Q_1's
    assert not re.match(r"\s*Q_", lhs), lhs
    assert lhs.startswith(r"(X W^Q + b^Q)_{1,1}")


@pytest.mark.slow
def test_the_scaling_demo_keeps_the_colour_language_and_its_map(last_scene):
    from explainer.scenes.common import HIGHLIGHT, K_COLOR

    scene = last_scene("scaling")
    # scores are neither keys nor queries: not drawn in the keys' colour
    for mob in scene.mobjects:
        for part in mob.get_family():
            if hasattr(part, "values") and np.shape(part.values)[-1] == 5:
                assert part.get_color() != K_COLOR
    assert scene.corner_map is not None
    lit = {
        key
        for key, block in scene.corner_map.blocks.items()
        if block.fill_target.get_fill_color() == HIGHLIGHT
    }
    assert lit == {("encoder", "self_attn")}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("preset", "masked"), [("default", False), ("next-word", True)]
)
def test_softmax_speaks_of_minus_infinity_only_over_a_masked_row(
    preset, masked, tmp_path
):
    from explainer.render.lint import lint_specs

    cfg = get_preset(preset)
    trace = trace_sentence(config_mod.from_dict(cfg.config), cfg.sentence)
    prefix = "decoder" if masked else "encoder"
    row = np.asarray(trace[f"{prefix}.0.self_attn.masked"])[0]
    assert np.isneginf(row).any() == masked  # the preset is the case named
    (result,) = lint_specs(
        trace, [SCENES["softmax"]], quality="low", media_dir=tmp_path
    )
    said = " ".join(c.text for c in result.captions)
    assert ("∞" in said) == masked


def test_the_sentence_embedding_sums_over_the_d_model_entries_of_u():
    from explainer.scenes.sentence_embedding import pooling_lines

    mean, unit = pooling_lines()
    # the screen shows u as 1 × d_model: the norm's sum runs over those entries
    assert r"\sum_{j=0}^{d_{\mathrm{model}} - 1}" in unit
    assert r"\sum_{j=0}^{T - 1}" in mean  # and the mean over the T tokens


@pytest.mark.parametrize("name", ["encoder-decoder", "encoder", "decoder"])
def test_the_intro_names_the_toy_model_in_chinese_words(name):
    from explainer.scenes.intro import PRETRAINED, TOY

    from explainer.i18n import _, language

    with language("zh"):
        said = [_(TOY[name]), *(_(v) for v in PRETRAINED.values())]
    for tag in said:  # "玩具编码器-解码器", not "小型 encoder-decoder 模型"
        assert not re.search(r"\b(encoder|decoder)\b", tag), tag
