"""``explainer render``'s workers: one process imports Manim and forks a child per
scene (explainer/render/pool.py). The videos match a process per scene byte for
byte, a failing scene is named with its log, the longest scenes start first, and
a killed render leaves no scene process behind."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explainer import config as config_mod
from explainer.presets import get_preset
from explainer.render import SCENES, RenderOptions, render
from explainer.render.progress import Progress
from explainer.render.runner import RenderReport, _run_workers
from explainer.run import trace_sentence

SCENE = "cross-attention"  # the shortest scene


class _Recorder(Progress):
    """A progress display that remembers in which order scenes started."""

    def __init__(self) -> None:
        super().__init__(stream=io.StringIO())
        self.started: list[str] = []

    def update(self, name, state, video=None, note=""):
        if state == "rendering" and self.rows[name].state != "rendering":
            self.started.append(name)
        super().update(name, state, video, note)


def _trace():
    preset = get_preset("default")
    return trace_sentence(config_mod.from_dict(preset.config), preset.sentence)


def test_a_failing_scene_is_named_with_its_log_and_longest_start_first(tmp_path):
    pytest.importorskip("manim")
    broken = tmp_path / "trace.json"
    broken.write_text("{not json", encoding="utf-8")  # every scene fails to load it
    specs = [SCENES[name] for name in ("tokens", "attention", "softmax")]
    expected = {"tokens": 12.0, "attention": 40.0, "softmax": 20.0}
    (tmp_path / "logs").mkdir()
    options = RenderOptions(jobs=1, media_dir=tmp_path, out_dir=tmp_path / "v")
    progress = _Recorder()
    progress.begin(expected)
    targets = {s.name: tmp_path / f"{s.name}.mp4" for s in specs}
    report = RenderReport()
    failures = _run_workers(specs, targets, broken, options, progress, report)
    assert progress.started == ["attention", "softmax", "tokens"]  # longest first
    assert [f.split("'")[1] for f in failures] == ["attention", "softmax", "tokens"]
    for failure, spec in zip(failures, ["attention", "softmax", "tokens"], strict=True):
        log = Path(failure.rsplit("(log: ", 1)[1].rstrip(")"))
        assert log.name.startswith(f"{spec}.")  # the scene's own log
        assert "Traceback" in log.read_text()
        assert "json" in failure.lower() or "trace" in failure.lower(), failure
    assert {r.state for r in progress.rows.values()} == {"failed"}
    assert sorted(report.cpu_seconds) == sorted(expected)  # each process's CPU
    assert all(0 < cpu < 60 for cpu in report.cpu_seconds.values())


@pytest.mark.slow
def test_the_pool_renders_the_same_bytes_as_a_process_per_scene(tmp_path):
    pytest.importorskip("manim")
    trace = _trace()
    options = RenderOptions(
        quality="low", jobs=2, out_dir=tmp_path / "v", media_dir=tmp_path / "m"
    )
    render(trace, [SCENES[SCENE]], options, Progress(io.StringIO()))
    pooled = (tmp_path / "v" / f"{SCENE}.mp4").read_bytes()
    (trace_file,) = (tmp_path / "m" / "traces").glob("*.json")
    alone = tmp_path / "alone.mp4"
    env = {**os.environ, "EXPLAINER_TRACE": str(trace_file), "EXPLAINER_LANG": "en"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "explainer.render.worker",
            SCENE,
            "--out",
            str(alone),
            "--quality",
            "low",
            "--media-dir",
            str(tmp_path / "fresh"),  # nothing cached: LaTeX and Pango run again
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    assert alone.read_bytes() == pooled
