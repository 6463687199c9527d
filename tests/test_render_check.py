"""``explainer render --check`` on the real scenes, as CI gates them: every scene of
the default preset, the scenes that draw a Chinese sentence, and MiniLM's and
SmolLM2's scenes keep the reading pace (each caption 1.0 s + 0.3 s per word, the old
one gone before the next), show no text under 12 px at the default quality (720p),
nothing off the frame, no two texts overlapping and nothing left over from a fade-out.

Marked slow: each scene's ``construct`` runs (nothing is drawn). The 22 checks take
about 4.5 minutes of CPU (one core; 15 minutes' wall time on a shared two-core
machine at load 8), most of it the default preset's twelve scenes.
"""

import importlib.util
from collections.abc import Callable

import pytest

pytest.importorskip("manim")

from explainer.cli.check_table import check_table
from explainer.config import from_dict
from explainer.models import minilm, smollm2, trace_model
from explainer.presets import get_preset
from explainer.render import SCENES, available
from explainer.render.lint import SceneLint, lint_specs
from explainer.run import trace_sentence
from explainer.trace import Trace

pytestmark = pytest.mark.slow

CHINESE = "我 爱 自然 语言"  # words of the shipped corpus, split at the spaces
# Beyond every scene of the default preset: the scenes whose layout changes with
# the case (the other scenes show the same numbers in the same places). A Chinese
# sentence: its words on screen; MiniLM: WordPiece tokens, learned positions, the
# pooled vector; SmolLM2: byte-level tokens, RoPE, a causal mask with grouped-query
# attention, nine heads.
SCENES_OF = {
    "chinese": ("tokens", "attention", "cross-attention"),
    "minilm": ("tokens", "position-embedding", "sentence-embedding"),
    "smollm2": ("tokens", "rope", "attention", "multi-head"),
}
PACKAGES = {"minilm": minilm, "smollm2": smollm2}
SENTENCES = {"minilm": "The quick brown fox", "smollm2": "The capital of France is"}


def default_trace(sentence: str | None = None) -> Trace:
    preset = get_preset("default")
    config = from_dict(preset.config)
    return trace_sentence(config, sentence or preset.sentence)


def model_trace(name: str) -> Trace:
    module = PACKAGES[name]
    if importlib.util.find_spec(module.MODULE) is None:
        pytest.skip(f"model package missing: {module.INSTALL}")
    return trace_model(name, SENTENCES[name])


@pytest.fixture(scope="module")
def checked(request, tmp_path_factory) -> Callable[[str, str], SceneLint]:
    """``checked(case, scene)``: the linter's result for that scene of that case
    (``default``, ``chinese``, ``minilm``, ``smollm2``), each case run once. The
    compiled LaTeX is kept in pytest's cache folder if there is one (keyed by the
    formula's text), so a second run skips it."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        media = cache.mkdir("render-check-media")
    else:
        media = tmp_path_factory.mktemp("media")
    done: dict[str, dict[str, SceneLint]] = {}

    def run(case: str, scene: str) -> SceneLint:
        if case not in done:
            if case == "default":
                trace, names = default_trace(), list(SCENES)
            elif case == "chinese":
                trace, names = default_trace(CHINESE), SCENES_OF[case]
            else:
                trace, names = model_trace(case), SCENES_OF[case]
            specs = available([SCENES[n] for n in names], trace)
            results = lint_specs(trace, specs, media_dir=media)
            done[case] = {r.name: r for r in results}
        if scene not in done[case]:
            pytest.skip(f"{case} has no {scene} scene")
        return done[case][scene]

    return run


CASES = [
    *(("default", name) for name in SCENES),
    *((case, name) for case, names in SCENES_OF.items() for name in names),
]


@pytest.mark.parametrize(("case", "scene"), CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_scene_passes_the_check(checked, case, scene):
    result = checked(case, scene)
    assert result.pixel_height == 720  # the default quality
    assert result.captions, "a scene says what it shows"
    assert result.ok, "\n" + check_table([result])
