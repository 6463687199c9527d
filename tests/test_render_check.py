"""``explainer render --check`` on the real scenes, as CI gates them: every scene of
the default preset, in English and in Chinese (``--lang zh``: the captions and
labels of the Chinese catalog), of a Chinese sentence, of MiniLM and of SmolLM2
(a scene a model lacks is skipped) keeps the reading pace (each caption 1.0 s +
0.3 s per word, the old one gone before the next), shows no text under 12 px at the
default quality (720p), nothing off the frame, no two texts overlapping, no caption
over an empty picture.

Marked slow: each scene's ``construct`` runs (nothing is drawn), about ten seconds
of CPU a scene. Each scene of each case is its own command, run in the test's
process, so that pytest-xdist's workers share them out; a worker keeps the texts
and formulas it has parsed from one command to the next
(:func:`explainer.render.lint.svg_by_content`), and all workers share one folder
of compiled LaTeX and Pango SVGs (each check works in its own private folders and
publishes its new SVGs atomically, as parallel renders do).
"""

import contextlib
import importlib.util
import io
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
ARGS = {  # each case's options; its scenes are those ``--all`` would check
    "default": [],
    "zh": ["--lang", "zh"],  # the default preset, its captions in Chinese
    "chinese": ["--sentence", CHINESE],  # its words on screen
    "minilm": ["--model", "minilm"],  # WordPiece, learned positions, pooling
    "smollm2": ["--model", "smollm2"],  # byte-level BPE, RoPE, causal GQA, 9 heads
}
PACKAGES = {"minilm": minilm, "smollm2": smollm2}


@pytest.fixture(scope="module")
def scenes_of() -> Callable[[str], set[str]]:
    """``scenes_of(case)``: the scenes that case has (those ``--all`` checks),
    from the trace ``explainer trace --json`` prints with its options, run in this
    process (once per case and xdist worker)."""
    known: dict[str, set[str]] = {}

    def scenes(case: str) -> set[str]:
        if case not in known:
            options = [] if case == "zh" else ARGS[case]  # trace has no --lang
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer), pytest.raises(SystemExit) as done:
                main(["trace", "--json", *options])
            assert done.value.code == 0
            trace = trace_json.loads(buffer.getvalue())
            known[case] = {spec.name for spec in available(SCENES.values(), trace)}
        return known[case]

    return scenes


@pytest.fixture(scope="module")
def checked(request, tmp_path_factory, scenes_of) -> Callable[[str, str], SceneLint]:
    """``checked(case, scene)``: what ``explainer render --check`` found in that
    scene of that case, one command each. The compiled LaTeX and Pango's SVGs are
    kept in pytest's cache folder if there is one (one folder for all xdist
    workers: the render pool shares its folder between processes the same way)."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        media = cache.mkdir("render-check-media")
    else:
        media = tmp_path_factory.mktemp("media")

    def run(case: str, scene: str) -> SceneLint:
        module = PACKAGES.get(case)
        if module is not None and importlib.util.find_spec(module.MODULE) is None:
            pytest.skip(f"model package missing: {module.INSTALL}")
        if scene not in scenes_of(case):
            pytest.skip(f"{case} has no {scene} scene")
        found: list[SceneLint] = []
        lint = render_cmd.lint_specs

        def keep(*args, **kwargs):
            found.extend(lint(*args, **kwargs))
            return found

        argv = ["render", "--check", "--media-dir", str(media), *ARGS[case], scene]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(render_cmd, "lint_specs", keep)
            with pytest.raises(SystemExit) as exit_code:
                main(argv)
        assert exit_code.value.code in (0, 1)  # 1: a problem, shown below
        assert [r.name for r in found] == [scene]
        return found[0]

    return run


CASES = [(case, name) for case in ARGS for name in SCENES]


@pytest.mark.parametrize(("case", "scene"), CASES, ids=[f"{c}-{s}" for c, s in CASES])
def test_scene_passes_the_check(checked, case, scene):
    result = checked(case, scene)
    assert result.pixel_height == 720  # the default quality
    assert result.captions, "a scene says what it shows"
    assert result.ok, "\n" + check_table([result])
