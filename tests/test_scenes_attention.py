"""The attention scenes show the formula the trace's numbers come from: the mask term
(+ M) in a causal self-attention and nowhere else, + b where the model's projections
have biases and not where they have none (SmolLM2, a Llama, has none).

What is expected comes from outside the scenes: the architecture (a decoder-only
model's self-attention is causal, an encoder's and cross-attention are not), the
trace's bias parameters, and what is known of each model (the toy models and
MiniLM have biases, SmolLM2 has none). Heads are numbered as the trace indexes them
and the report shows them: from 0.
"""

import contextlib
import importlib
import importlib.util
import io

import numpy as np
import pytest

pytest.importorskip("manim")

from explainer import trace_json
from explainer.cli import main
from explainer.models import MODELS, minilm, smollm2, trace_model
from explainer.render import SCENES, available
from explainer.render.lint import trace_file

PACKAGES = {"minilm": minilm, "smollm2": smollm2}
CASES = ["default", "next-word", "minilm", "smollm2"]
ATTENTION_SCENES = ["attention", "multi-head", "causal-mask", "cross-attention"]
KNOWN_BIAS = {"default": True, "next-word": True, "minilm": True, "smollm2": False}


class HeaderShown(Exception):
    """Raised at the scene's first animation: its header is made by then."""


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    return tmp_path_factory.mktemp("media")  # LaTeX compiled once for every case


@pytest.fixture(scope="module")
def traces():
    made = {}

    def get(case):
        if case not in made:
            module = PACKAGES.get(case)
            if module is not None:
                if importlib.util.find_spec(module.MODULE) is None:
                    pytest.skip(f"model package missing: {module.INSTALL}")
                made[case] = trace_model(case, MODELS[case].example)
            else:
                buffer = io.StringIO()
                with (
                    contextlib.redirect_stdout(buffer),
                    pytest.raises(SystemExit) as done,
                ):
                    main(["trace", "--json", "--preset", case])
                assert done.value.code == 0
                made[case] = trace_json.loads(buffer.getvalue())
        return made[case]

    return get


def header_latex(spec, trace, tmp_path) -> list[str]:
    """The LaTeX lines of the scene's header formula, as the scene makes them
    (its construct runs up to the first animation; nothing is drawn)."""
    from manim import tempconfig

    scene_class = getattr(importlib.import_module(spec.import_path), spec.cls)
    options = {
        "dry_run": True,
        "disable_caching": True,
        "media_dir": str(tmp_path),
        "progress_bar": "none",
        "verbosity": "WARNING",
    }
    with trace_file(trace), tempconfig(options):
        scene = scene_class(skip_animations=True)

        def stop(*args, **kwargs):
            raise HeaderShown

        scene.play = stop
        with pytest.raises(HeaderShown):
            scene.render()
    return [line.tex_string for line in scene.formula]


def bias_of(trace, prefix, which):
    """Whether the trace's bias parameters b_<w> of ``prefix`` hold a non-zero."""
    return any(float(np.abs(trace[f"{prefix}.b_{w}"]).max()) > 0 for w in which)


def causal(trace, prefix):
    """A decoder's self-attention is causal; an encoder's and cross-attention
    are not (Vaswani et al. 2017, §3.2.3)."""
    return prefix.startswith("decoder.") and prefix.endswith(".self_attn")


@pytest.mark.parametrize("case", CASES)
def test_the_biases_are_what_is_known_of_the_model(traces, case):
    trace = traces(case)
    stack = "decoder" if trace.config.architecture == "decoder" else "encoder"
    assert bias_of(trace, f"{stack}.0.self_attn", "qkvo") == KNOWN_BIAS[case]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", ATTENTION_SCENES)
def test_the_header_formula_has_the_mask_and_the_biases_the_trace_computed(
    traces, case, name, media
):
    trace = traces(case)
    spec = SCENES[name]
    if spec not in available([spec], trace):
        pytest.skip(f"{case} has no {name} scene")
    lines = " ".join(header_latex(spec, trace, media))
    stack = "decoder" if trace.config.architecture == "decoder" else "encoder"
    if name == "attention":
        prefix = f"{stack}.0.self_attn"
        assert ("+ M" in lines) == causal(trace, prefix), lines
        assert "b^{" not in lines  # Q, K, V are given: no projection shown
    elif name == "multi-head":
        prefix = f"{stack}.0.self_attn"
        assert ("b^{O}" in lines) == bias_of(trace, prefix, "o"), lines
        # Heads by the index the trace and the report give them: 0 … h − 1.
        n_heads = trace[f"{prefix}.weights"].shape[0]
        assert r"\mathrm{head}_{0}" in lines, lines
        assert rf"\mathrm{{head}}_{{{n_heads - 1}}}" in lines, lines
        assert rf"\mathrm{{head}}_{{{n_heads}}}" not in lines, lines
    elif name == "cross-attention":
        prefix = "decoder.0.cross_attn"
        assert not causal(trace, prefix)
        assert "+ M" not in lines and r"\infty" not in lines
        for w in "QKV":
            expected = bias_of(trace, prefix, w.lower())
            assert (f"b^{{{w}}}" in lines) == expected, lines
    else:  # causal-mask: the mask itself, j ≤ i
        assert causal(trace, "decoder.0.self_attn")
        assert r"i \geq j" in lines or r"j \leq i" in lines, lines
