"""``explainer render --check`` on the real scenes, as CI gates them: every scene of
the default preset, in English and in Chinese (``--lang zh``: the captions and
labels of the Chinese catalog), the scenes that draw a Chinese sentence, and
MiniLM's and SmolLM2's scenes keep the reading pace (each caption 1.0 s + 0.3 s per
word, the old one gone before the next), show no text under 12 px at the default
quality (720p), nothing off the frame, no two texts overlapping, no caption over an
empty picture.

Marked slow: each scene's ``construct`` runs (nothing is drawn). Most of the time
is the default preset's scenes, in both languages, one command each so that
pytest-xdist's workers share them.
"""

import contextlib
import importlib.util
import io
import os
from collections.abc import Callable

import pytest

pytest.importorskip("manim")

import explainer.cli.render_cmd as render_cmd
from explainer import trace_json
from explainer.cli import main
from explainer.cli.check_table import check_table
from explainer.models import minilm, smollm2
from explainer.render import SCENES, available
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
ARGS = {  # the default preset: each scene by name (see checked)
    "chinese": ["--sentence", CHINESE, *SCENES_OF["chinese"]],
    "minilm": ["--model", "minilm", *SCENES_OF["minilm"]],
    "smollm2": ["--model", "smollm2", *SCENES_OF["smollm2"]],
}
PACKAGES = {"minilm": minilm, "smollm2": smollm2}
LANGUAGES = {"default": [], "zh": ["--lang", "zh"]}  # the default preset's runs


@pytest.fixture(scope="module")
def default_scenes() -> set[str]:
    """The scenes the default preset has (those ``--all`` renders), from the trace
    ``explainer trace --json`` prints, run in this process."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), pytest.raises(SystemExit) as done:
        main(["trace", "--json"])
    assert done.value.code == 0
    trace = trace_json.loads(buffer.getvalue())
    return {spec.name for spec in available(SCENES.values(), trace)}


@pytest.fixture(scope="module")
def checked(
    request, tmp_path_factory, default_scenes
) -> Callable[[str, str], SceneLint]:
    """``checked(case, scene)``: what ``explainer render --check`` found in that
    scene of that case (``default``, ``zh`` — the default preset in Chinese —,
    ``chinese``, ``minilm``, ``smollm2``). The default preset's scenes are
    checked one command each (in each language), so that pytest-xdist
    shares them between its workers; each other case is one run of the command, in
    this process. The compiled LaTeX is kept in pytest's cache folder if there is
    one (keyed by the formula's text; one folder per xdist worker, so that no two
    processes compile into the same file at once)."""
    cache = getattr(request.config, "cache", None)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    if cache is not None:
        media = cache.mkdir(f"render-check-media-{worker}")
    else:
        media = tmp_path_factory.mktemp("media")
    done: dict[str, dict[str, SceneLint]] = {}

    def run(case: str, scene: str) -> SceneLint:
        module = PACKAGES.get(case)
        if module is not None and importlib.util.find_spec(module.MODULE) is None:
            pytest.skip(f"model package missing: {module.INSTALL}")
        one_each = case in LANGUAGES  # the default preset, a command per scene
        if one_each and scene not in default_scenes:
            pytest.skip(f"{case} has no {scene} scene")
        key = f"{case}-{scene}" if one_each else case
        if key not in done:
            found: list[SceneLint] = []
            lint = render_cmd.lint_specs

            def keep(*args, **kwargs):
                found.extend(lint(*args, **kwargs))
                return found

            args = [*LANGUAGES[case], scene] if one_each else ARGS[case]
            argv = ["render", "--check", "--media-dir", str(media), *args]
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(render_cmd, "lint_specs", keep)
                with pytest.raises(SystemExit) as exit_code:
                    main(argv)
            assert exit_code.value.code in (0, 1)  # 1: a problem, shown below
            done[key] = {r.name: r for r in found}
        if scene not in done[key]:
            pytest.skip(f"{case} has no {scene} scene")
        return done[key][scene]

    return run


CASES = [
    *(("default", name) for name in SCENES),  # --all skips those it lacks
    *(("zh", name) for name in SCENES),
    *((case, name) for case, names in SCENES_OF.items() for name in names),
]


@pytest.mark.parametrize(("case", "scene"), CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_scene_passes_the_check(checked, case, scene):
    result = checked(case, scene)
    assert result.pixel_height == 720  # the default quality
    assert result.captions, "a scene says what it shows"
    assert result.ok, "\n" + check_table([result])
