"""``explainer render``: names, errors, the cache, the movie and atomic writes."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_run import run
from scene_frames import key_frames

from explainer.cli import main
from explainer.render import SCENES, resolve
from explainer.render.progress import Progress
from explainer.render.runner import copy_atomic, scene_sources


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
    "softmax",
    "attention",
    "scaling",
    "multi-head",
    "layer-norm",
    "feed-forward",
]
TOY_APPLIES = {
    "encoder": ["intro", *PAPER, "output", "outro"],
    "decoder": ["intro", *PAPER, "causal-mask", "output", "outro"],
    "encoder-decoder": [
        "intro",
        *PAPER,
        "bridge",
        "causal-mask",
        "cross-attention",
        "output",
        "outro",
    ],
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


def test_the_cache_key_covers_every_scene_and_the_formulas_they_print():
    """A change to a formula or its LaTeX printer must re-render, not reuse a video
    showing the old formula (the scenes import explainer.symbolic)."""
    names = {(p.parent.name, p.name) for p in scene_sources()}
    scenes = Path(__file__).resolve().parents[1] / "scenes"
    for scene in scenes.glob("*.py"):
        assert ("scenes", scene.name) in names, scene.name
        imported = re.findall(
            r"from explainer\.symbolic\.(\w+) import", scene.read_text()
        )
        for module in imported:
            assert ("symbolic", f"{module}.py") in names, (scene.name, module)
    assert ("symbolic", "render.py") in names and ("render", "worker.py") in names
    assert all(p.is_file() for p in scene_sources())


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
    # One stream for the scene's animations (explainer/render/one_stream.py): a
    # key frame each 250 frames (x264's default interval), not one per animation
    assert key_frames(scene) <= frame_count(scene) // 250 + 1
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


def test_unwritable_out_dir_is_found_before_rendering(tmp_path, capsys):
    # /sys refuses new files even to root; nothing may be rendered first.
    start = time.monotonic()
    code, out, err = run(
        ["render", SCENE, "--out-dir", "/sys/videos", "--media-dir", str(tmp_path)],
        capsys,
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--out-dir '/sys/videos'" in err
    assert not (tmp_path / "logs").exists()  # no worker was started
    assert time.monotonic() - start < 60  # not a render's minutes


def _children(pid: int) -> list[int]:
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as handle:
        return [int(p) for p in handle.read().split()]


def _gone(pid: int, within: float = 30.0) -> bool:
    """True once ``pid`` has exited (or is a zombie nobody reaped yet)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if handle.read().split(") ")[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_render_stops_its_workers(rendered, tmp_path, sig):
    root, _ = rendered
    command = [
        sys.executable,
        "-m",
        "explainer",
        "render",
        SCENE,
        "--force",
        "--quality",
        "low",
        "--out-dir",
        str(tmp_path / "videos"),
        "--media-dir",
        str(root / "media"),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    for line in process.stderr:  # wait until the worker renders
        if "rendering" in line:
            break
    workers = _children(process.pid)  # the pool, which forks a process per scene
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(map(_children, workers)):
        time.sleep(0.2)
    scenes = [pid for worker in workers for pid in _children(worker)]
    assert workers and scenes
    process.send_signal(sig)
    process.communicate(timeout=60)
    assert process.returncode == (143 if sig == signal.SIGTERM else -9)
    assert all(_gone(pid) for pid in workers + scenes)


@pytest.mark.slow
def test_next_render_removes_what_a_killed_run_left(rendered, capsys):
    root, argv = rendered
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    media, videos = root / "media", root / "videos"
    left = [
        media / "tex-work" / f"tex-{SCENE}-{dead.pid}-abcd1234",
        media / "partial" / f"{SCENE}-{dead.pid}",
    ]
    for folder in left:
        folder.mkdir(parents=True)
    temp = videos / f".{SCENE}.mp4.{dead.pid}.abcd1234.tmp"
    temp.write_bytes(b"half a video")
    code, _, err = run(argv, capsys)  # from the cache: no rendering
    assert code == 0, err
    assert not temp.exists() and not any(p.exists() for p in left)


@pytest.mark.slow
def test_two_renders_sharing_a_media_folder_both_succeed(rendered, tmp_path):
    root, _ = rendered
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "explainer",
                "render",
                SCENE,
                "--force",  # both really render, at once, in one media folder
                "--quality",
                "low",
                "--out-dir",
                str(tmp_path / f"videos{n}"),
                "--media-dir",
                str(root / "media"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for n in (1, 2)
    ]
    for process in processes:
        _, err = process.communicate(timeout=1200)
        assert process.returncode == 0, err
    for n in (1, 2):
        assert (tmp_path / f"videos{n}" / f"{SCENE}.mp4").stat().st_size > 1000


def test_a_trace_inside_the_out_dir_is_not_overwritten(tmp_path, capsys):
    from explainer import trace_json
    from explainer.config import ModelConfig
    from explainer.run import trace_sentence

    trace = trace_sentence(ModelConfig(architecture="encoder"), "you win")
    path = tmp_path / "videos.json"  # the name of the videos' manifest
    path.write_text(trace_json.dumps(trace))
    before = path.read_bytes()
    code, out, err = run(
        ["render", "softmax", "--trace", str(path), "--out-dir", str(tmp_path)],
        capsys,
    )
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "would overwrite the --trace file" in err
    assert path.read_bytes() == before
