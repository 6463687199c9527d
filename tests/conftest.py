"""Fixtures shared by several test modules."""

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    """Tests expect the English text unless they choose another language: a
    machine whose locale is zh_CN must not change their output (explainer.i18n)."""
    monkeypatch.setenv("EXPLAINER_LANG", "en")


@pytest.fixture
def last_scene(tmp_path, monkeypatch) -> Callable[[str], object]:
    """``last_scene(name)``: the default preset's scene ``name`` rendered to its
    last frame only, small (480 × 270); the Manim scene, to inspect."""

    def render(name: str) -> object:
        pytest.importorskip("manim")
        from explainer.render import SCENES
        from explainer.render.worker import render_scene

        monkeypatch.delenv("EXPLAINER_TRACE", raising=False)  # the default preset
        result = render_scene(
            SCENES[name],
            tmp_path / "last.png",
            last_frame=True,
            media_dir=tmp_path / "media",
            overrides={"pixel_width": 480, "pixel_height": 270},
        )
        return result.scene

    return render


# The three reports a learner opens, written once per test session by
# ``explainer report`` (the pretrained models take several seconds each).
REPORTS = {
    "toy": [],
    "minilm": ["--model", "minilm", "--sentence", "The quick brown fox"],
    "smollm2": ["--model", "smollm2", "--sentence", "The capital of France is"],
}


@pytest.fixture(scope="session")
def report_page(tmp_path_factory) -> Callable[[str], Path]:
    """``report_page(name)``: the path of that report (see REPORTS), written on
    first use; skips if its model's package is not installed."""
    from explainer.cli import main
    from explainer.models import minilm, smollm2

    packages = {"minilm": minilm, "smollm2": smollm2}
    folder = tmp_path_factory.mktemp("reports")
    written: dict[str, Path] = {}

    def page(name: str) -> Path:
        if name not in written:
            module = packages.get(name)
            if module is not None and importlib.util.find_spec(module.MODULE) is None:
                pytest.skip(f"model package missing: {module.INSTALL}")
            out = folder / f"{name}.html"
            with pytest.raises(SystemExit) as done:
                main(["report", *REPORTS[name], "--out", str(out)])
            assert done.value.code == 0
            written[name] = out
        return written[name]

    return page
