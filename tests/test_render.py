"""``explainer render``: names, errors, the cache, the movie and atomic writes."""

import os
import signal
import subprocess
import sys
import time

import pytest
from cli_run import run

from explainer.cli import main
from explainer.render import SCENES, resolve
from explainer.render.progress import Progress
from explainer.render.runner import copy_atomic


def test_list_names_every_scene_in_movie_order(capsys):
    code, out, _ = run(["render", "--list"], capsys)
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == list(SCENES)
    assert all(name == name.lower() and "_" not in name for name in names)


def test_unknown_scene_is_one_line_listing_the_valid_ones(capsys):
    code, out, err = run(["render", "attenton"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "unknown scene 'attenton'" in err and "causal-mask" in err


def test_nothing_to_render_is_an_error(capsys):
    code, _, err = run(["render"], capsys)
    assert code == 2 and "--all" in err


def test_scene_the_model_lacks_is_an_error(capsys):
    code, _, err = run(
        ["render", "cross-attention", "--architecture", "encoder"], capsys
    )
    assert code == 2 and "needs an encoder-decoder" in err


# The paper's model by architecture (written from the paper, not the registry):
# sinusoidal PE, LayerNorm, ReLU and next-token logits always; a causal mask with a
# decoder; cross-attention only in an encoder-decoder; never RoPE, learned positions
# or a pooled sentence vector (those are the pretrained models').
PAPER = [
    "tokens",
    "embedding",
    "positional-encoding",
    "projections",
    "attention",
    "softmax",
    "multi-head",
    "layer-norm",
    "feed-forward",
]
TOY_APPLIES = {
    "encoder": [*PAPER, "output"],
    "decoder": [*PAPER, "causal-mask", "output"],
    "encoder-decoder": [*PAPER, "causal-mask", "cross-attention", "output"],
}


@pytest.mark.parametrize("architecture", list(TOY_APPLIES))
def test_the_scenes_of_the_toy_model_follow_its_architecture(architecture):
    from explainer.config import ModelConfig
    from explainer.render import available
    from explainer.run import trace_sentence

    trace = trace_sentence(ModelConfig(architecture=architecture), "you win")
    names = [spec.name for spec in available(SCENES.values(), trace)]
    assert names == TOY_APPLIES[architecture]
    for name in set(SCENES) - set(names):  # every other one says why, in a line
        reason = SCENES[name].unavailable(trace)
        assert reason.startswith("needs ") and "\n" not in reason


def test_all_skips_the_scenes_the_model_lacks_with_one_note_each(
    capsys, monkeypatch, tmp_path
):
    from explainer.render import RenderReport

    asked = []

    def fake_render(trace, specs, options):
        asked.extend(s.name for s in specs)
        return RenderReport()

    monkeypatch.setattr("explainer.cli.render_cmd.render", fake_render)
    code, _, err = run(
        ["render", "--all", "--architecture", "decoder", "--out-dir", str(tmp_path)],
        capsys,
    )
    assert code == 0 and asked == TOY_APPLIES["decoder"]
    notes = [line for line in err.splitlines() if line.startswith("skipped")]
    assert len(notes) == len(SCENES) - len(asked)
    assert any(
        line.startswith("skipped cross-attention: needs an encoder-decoder")
        for line in notes
    )


def test_resolve_keeps_order_and_drops_repeats():
    assert [s.name for s in resolve(["output", "tokens", "output"])] == [
        "output",
        "tokens",
    ]


def test_every_registered_scene_class_exists():
    pytest.importorskip("manim")
    import importlib

    for spec in SCENES.values():
        module = importlib.import_module(spec.import_path)
        assert spec.cls[0].isupper() and hasattr(module, spec.cls), spec


def test_copy_atomic_replaces_whole_file_and_leaves_no_temporary(tmp_path):
    source, target = tmp_path / "new.mp4", tmp_path / "out" / "scene.mp4"
    source.write_bytes(b"new" * 1000)
    target.parent.mkdir()
    target.write_bytes(b"old")
    copy_atomic(source, target)
    assert target.read_bytes() == b"new" * 1000
    assert [p.name for p in target.parent.iterdir()] == ["scene.mp4"]


def test_progress_prints_a_line_per_change_when_not_a_terminal(tmp_path):
    log = (tmp_path / "log.txt").open("w+")
    progress = Progress(stream=log, live=False)
    progress.begin({"tokens": 10.0, "softmax": 10.0})
    progress.update("tokens", "cached")
    progress.update("softmax", "rendering", 0.0)
    progress.update("softmax", "rendering", 5.0)  # same state: no new line
    progress.update("softmax", "done")
    log.seek(0)
    lines = log.read().splitlines()
    assert len(lines) == 3
    assert lines[-1].startswith("[2/2] softmax") and "done" in lines[-1]


# --- real renders ---------------------------------------------------------------------

SCENE = "cross-attention"  # the shortest scene


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One render of SCENE and the movie of it, through the command line."""
    pytest.importorskip("manim")
    root = tmp_path_factory.mktemp("render")
    argv = [
        "render",
        SCENE,
        "--movie",
        "--out-dir",
        str(root / "videos"),
        "--media-dir",
        str(root / "media"),
        "--jobs",
        "1",
        "--quality",
        "low",
    ]
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    return root, argv


@pytest.mark.slow
def test_render_writes_scene_and_movie_and_prints_paths(rendered, capsys):
    from explainer.render.manifest import MANIFEST, read_manifest
    from explainer.render.movie import frame_count

    root, _ = rendered
    scene, movie = root / "videos" / f"{SCENE}.mp4", root / "videos" / "transformer.mp4"
    assert frame_count(movie) == frame_count(scene) > 100
    leftovers = [p for p in (root / "videos").iterdir() if p.suffix != ".mp4"]
    assert [p.name for p in leftovers] == [MANIFEST]  # no temporary files
    assert set(read_manifest(root / "videos")) == {SCENE, "transformer"}


@pytest.mark.slow
def test_unchanged_render_comes_from_the_cache(rendered, capsys):
    root, argv = rendered
    code, out, err = run(argv, capsys)
    assert code == 0
    assert "0 rendered, 1 from the cache" in err
    assert out.splitlines() == [
        str(root / "videos" / f"{SCENE}.mp4"),
        str(root / "videos" / "transformer.mp4"),
    ]


@pytest.mark.slow
def test_interrupted_render_leaves_the_previous_file(rendered, tmp_path):
    root, _ = rendered
    videos = tmp_path / "videos"
    videos.mkdir()
    previous = videos / f"{SCENE}.mp4"
    previous.write_bytes(b"the previous video")
    command = [
        sys.executable,
        "-m",
        "explainer",
        "render",
        SCENE,
        "--force",
        "--out-dir",
        str(videos),
        "--media-dir",
        str(root / "media"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    for line in process.stderr:  # wait until the scene is being rendered
        if "rendering" in line:
            break
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "aborted" in err
    assert previous.read_bytes() == b"the previous video"
    assert [p.name for p in videos.iterdir()] == [previous.name]
