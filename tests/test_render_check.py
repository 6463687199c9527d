"""``explainer render --check`` on the real scenes, as CI gates them: every scene of
the default preset, the scenes that draw a Chinese sentence, and MiniLM's and
SmolLM2's scenes keep the reading pace (each caption 1.0 s + 0.3 s per word, the old
one gone before the next), show no text under 12 px at the default quality (720p),
nothing off the frame, no two texts overlapping, no caption over an empty picture.

Marked slow: each scene's ``construct`` runs (nothing is drawn). The 22 checks take
about 4.5 minutes of CPU (one core; 15 minutes' wall time on a shared two-core
machine at load 8), most of it the default preset's twelve scenes.
"""

import importlib.util
from collections.abc import Callable

import pytest

pytest.importorskip("manim")

import explainer.cli.render_cmd as render_cmd
from explainer.cli import main
from explainer.cli.check_table import check_table
from explainer.models import minilm, smollm2
from explainer.render import SCENES
from explainer.render.lint import SceneLint

pytestmark = pytest.mark.slow

CHINESE = "你 玩 游戏"  # words of the default preset's vocabulary, split at spaces
# Beyond every scene of the default preset: the scenes whose layout changes with
# the case (the other scenes show the same numbers in the same places). A Chinese
# sentence: its words on screen; MiniLM: WordPiece tokens, learned positions, the
# pooled vector; SmolLM2: byte-level tokens, RoPE, a causal mask with grouped-query
# attention, nine heads.
SCENES_OF = {  # intro and outro: the model's own diagram, path and output
    "chinese": ("intro", "tokens", "attention", "bridge", "cross-attention", "outro"),
    "minilm": ("intro", "tokens", "position-embedding", "sentence-embedding", "outro"),
    "smollm2": ("intro", "tokens", "rope", "attention", "multi-head", "outro"),
}
ARGS = {
    "default": ["--all"],
    "chinese": ["--sentence", CHINESE, *SCENES_OF["chinese"]],
    "minilm": ["--model", "minilm", *SCENES_OF["minilm"]],
    "smollm2": ["--model", "smollm2", *SCENES_OF["smollm2"]],
}
PACKAGES = {"minilm": minilm, "smollm2": smollm2}


@pytest.fixture(scope="module")
def checked(request, tmp_path_factory) -> Callable[[str, str], SceneLint]:
    """``checked(case, scene)``: what ``explainer render --check`` found in that
    scene of that case (``default``, ``chinese``, ``minilm``, ``smollm2``); each
    case is one run of the command, in this process. The compiled LaTeX is kept in
    pytest's cache folder if there is one (keyed by the formula's text)."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        media = cache.mkdir("render-check-media")
    else:
        media = tmp_path_factory.mktemp("media")
    done: dict[str, dict[str, SceneLint]] = {}

    def run(case: str, scene: str) -> SceneLint:
        module = PACKAGES.get(case)
        if module is not None and importlib.util.find_spec(module.MODULE) is None:
            pytest.skip(f"model package missing: {module.INSTALL}")
        if case not in done:
            found: list[SceneLint] = []
            lint = render_cmd.lint_specs

            def keep(*args, **kwargs):
                found.extend(lint(*args, **kwargs))
                return found

            argv = ["render", "--check", "--media-dir", str(media), *ARGS[case]]
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(render_cmd, "lint_specs", keep)
                with pytest.raises(SystemExit) as exit_code:
                    main(argv)
            assert exit_code.value.code in (0, 1)  # 1: a problem, shown below
            done[case] = {r.name: r for r in found}
        if scene not in done[case]:
            pytest.skip(f"{case} has no {scene} scene")
        return done[case][scene]

    return run


CASES = [
    *(("default", name) for name in SCENES),  # --all skips those it lacks
    *((case, name) for case, names in SCENES_OF.items() for name in names),
]


@pytest.mark.parametrize(("case", "scene"), CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_scene_passes_the_check(checked, case, scene):
    result = checked(case, scene)
    assert result.pixel_height == 720  # the default quality
    assert result.captions, "a scene says what it shows"
    assert result.ok, "\n" + check_table([result])
