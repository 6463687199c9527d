"""Render one scene with Manim's Python API, in this process.

``explainer render`` starts one ``python -m explainer.render.worker`` process per
scene (``--jobs`` of them at a time); tests call :func:`render_scene` directly. The
trace is read by the scene from the JSON file named in ``EXPLAINER_TRACE``.

The worker reports on stdout, one line per event, for the parent's progress bars::

    @play <number of animations so far> <seconds of video so far>
    @done <seconds of video> <animations>
"""

from __future__ import annotations

import argparse
import ctypes
import importlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from explainer import i18n
from explainer.atomic import replacing
from explainer.render import text_files
from explainer.render.one_stream import one_stream
from explainer.render.registry import SCENES, SceneSpec

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# x264's "veryfast" preset: about a sixth less CPU a scene than its default
# ("medium"; attention 34.9 -> 29.6 s) and no bigger files for these flat drawings.
# One encoder thread: the scene's own thread and the other scene's process keep
# both cores busy, and x264's second thread cost 0.4-1 ms of CPU a frame to keep
# in step (attention's 843 frames: 6.4 -> 5.6 s). No B-frames: x264 spends a fifth
# less CPU (5.9 -> 4.7 s), the file is 5 % bigger, and the quality is the same
# (attention against a lossless encoding: PSNR median 46.5 dB either way).
ENCODER_OPTIONS = {
    "crf": "23",
    "preset": "veryfast",
    "threads": "1",
    "x264-params": "bframes=0",
}

QUALITIES = {
    "low": "low_quality",  # 854 × 480, 15 fps (manim -ql)
    "medium": "medium_quality",  # 1280 × 720, 30 fps (-qm)
    "high": "high_quality",  # 1920 × 1080, 60 fps (-qh)
    "4k": "fourk_quality",  # 3840 × 2160, 60 fps (-qk)
}


@dataclass(frozen=True)
class SceneResult:
    """What one render produced."""

    path: Path  # the MP4 (or PNG of the last frame)
    seconds: float  # length of the video at normal speed
    animations: int  # play() calls, waits included
    frame_rate: float
    scene: Any = None  # the rendered Scene, for inspection (tests)


def render_scene(
    spec: SceneSpec,
    out: str | Path,
    *,
    quality: str = "low",
    media_dir: str | Path = "output/.manim",
    last_frame: bool = False,
    manim_cache: bool = False,
    overrides: dict[str, Any] | None = None,
    on_play: Callable[[int, float], None] | None = None,
    fade_out: bool | None = None,
) -> SceneResult:
    """Render ``spec`` and move the result to ``out`` atomically.

    ``last_frame`` saves only the last frame as PNG (``manim -s``). Manim's own
    per-animation cache is off unless ``manim_cache``: hashing every animation costs
    more than it saves here (``explainer render`` caches whole scenes instead); the
    LaTeX and text caches under ``media_dir`` are always reused. ``overrides`` are
    extra Manim config keys (e.g. a smaller ``pixel_width`` in tests).

    A video ends with everything fading out (``fade_out``, default: unless
    ``last_frame``), so that the scenes joined into the movie meet in black.
    """
    if quality not in QUALITIES:
        raise ValueError(f"unknown quality {quality!r}; valid: {', '.join(QUALITIES)}")
    out = Path(out)
    scene_class = getattr(importlib.import_module(spec.import_path), spec.cls)
    media = Path(media_dir).resolve()
    (media / "tex-work").mkdir(parents=True, exist_ok=True)
    tex_dir = private_dir(media, "Tex", spec.name)
    text_dir = private_dir(media, "texts", spec.name)  # Pango's SVGs
    stem = f"{spec.name}-{os.getpid()}"  # concurrent renders never share a file
    options: dict[str, Any] = {
        "quality": QUALITIES[quality],
        "media_dir": str(media),
        "tex_dir": str(tex_dir),
        "text_dir": str(text_dir),
        # Manim names this folder after the scene class, so two renders of one
        # scene would write and delete the same numbered segments (uncached_00014):
        # one folder per process unless the segments are cached (named by hash).
        "partial_movie_dir": str(
            media / "partial" / (spec.name if manim_cache else stem)
        ),
        "output_file": stem,
        "progress_bar": "none",
        "verbosity": "WARNING",
        "disable_caching": not manim_cache,
        "video_encoder_options": ENCODER_OPTIONS,
        "format": "png" if last_frame else "mp4",
        **(overrides or {}),
    }
    try:
        fade = (not last_frame) if fade_out is None else fade_out
        with one_stream():  # the scene's animations: one encoder, not one each
            result, produced = _render(
                scene_class, out, options, last_frame, on_play, fade
            )
    except BaseException:  # a killed LaTeX run may have left a half-written SVG
        shutil.rmtree(tex_dir, ignore_errors=True)
        shutil.rmtree(text_dir, ignore_errors=True)
        raise
    publish(tex_dir, media / "Tex")
    publish(text_dir, media / "texts")
    move_atomic(produced, out)
    return result


def _render(
    scene_class: type,
    out: Path,
    options: dict[str, Any],
    last_frame: bool,
    on_play: Callable[[int, float], None] | None,
    fade_out: bool,
) -> tuple[SceneResult, Path]:
    from manim import FadeOut, tempconfig

    with tempconfig(options):
        from manim import config

        scene = scene_class()
        if on_play is not None:
            inner = scene.play

            def play(*args: Any, **kwargs: Any) -> None:
                inner(*args, **kwargs)
                on_play(scene.renderer.num_plays, scene.renderer.time)

            scene.play = play  # this instance only
        if fade_out:
            construct = scene.construct

            def construct_then_fade() -> None:
                construct()
                if scene.mobjects:
                    scene.play(*(FadeOut(m) for m in scene.mobjects), run_time=0.6)

            scene.construct = construct_then_fade
        scene.render()
        writer = scene.renderer.file_writer
        produced = Path(
            writer.image_file_path if last_frame else writer.movie_file_path
        )
        result = SceneResult(
            path=out,
            seconds=float(scene.renderer.time),
            animations=int(scene.renderer.num_plays),
            frame_rate=float(config.frame_rate),
            scene=scene,
        )
        if config.disable_caching and not last_frame:  # numbered leftovers
            shutil.rmtree(writer.partial_movie_directory, ignore_errors=True)
    return result, produced


def private_dir(media: Path, kind: str, name: str) -> Path:
    """A fresh folder for this process's ``kind`` files (``Tex``: LaTeX's, ``texts``:
    Pango's), seeded with the shared cache ``media/kind``.

    Manim writes each formula's .tex/.dvi/.svg (and a temporary ``<hash>_.svg``
    while parsing) beside one another and deletes by-products afterwards, so two
    processes sharing a folder read and delete each other's half-written files
    (two renders of one scene write the very same names). Each worker therefore
    works in its own folder, ``tex-work/<kind>-<scene>-<pid>-<random>``, starting
    from hard links to every SVG already made, and :func:`publish` moves its new
    SVGs back. The pid lets the next render remove a killed worker's folder.
    Manim rewrites a text's SVG each time the text is made: that rewrite must
    not write through the link (:mod:`~explainer.render.text_files`).
    """
    text_files.install()
    shared = media / kind
    shared.mkdir(parents=True, exist_ok=True)
    private = Path(
        tempfile.mkdtemp(
            prefix=f"{kind.lower()}-{name}-{os.getpid()}-", dir=media / "tex-work"
        )
    )
    for svg in shared.glob("*.svg"):
        try:
            os.link(svg, private / svg.name)
        except OSError:
            shutil.copy2(svg, private / svg.name)
    return private


def publish(private: Path, shared: Path) -> None:
    """Move the SVGs made in ``private`` into the shared cache, then drop it."""
    for svg in private.glob("*.svg"):
        if not (shared / svg.name).exists():
            os.replace(svg, shared / svg.name)  # atomic; same content if raced
    shutil.rmtree(private, ignore_errors=True)


def move_atomic(source: Path, target: Path) -> None:
    """Move ``source`` to ``target`` so that ``target`` is never half-written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as tmp:
        shutil.move(str(source), tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explainer.render.worker")
    parser.add_argument("scene", choices=list(SCENES))
    parser.add_argument("--out", required=True)
    parser.add_argument("--quality", default="low", choices=list(QUALITIES))
    parser.add_argument("--media-dir", default="output/.manim")
    parser.add_argument("--last-frame", action="store_true")
    parser.add_argument("--manim-cache", action="store_true")
    args = parser.parse_args(argv)
    start_child()

    def report(plays: int, seconds: float) -> None:
        print(f"@play {plays} {seconds:.3f}", flush=True)

    result = render_scene(
        SCENES[args.scene],
        args.out,
        quality=args.quality,
        media_dir=args.media_dir,
        last_frame=args.last_frame,
        manim_cache=args.manim_cache,
        on_play=report,
    )
    print(f"@done {result.seconds:.3f} {result.animations}", flush=True)
    return 0


def start_child() -> None:
    """What a process the runner starts does first: speak the runner's language
    (EXPLAINER_LANG), stop cleanly on SIGTERM (the parent was interrupted:
    finally-blocks run), and die with its parent."""
    i18n.set_language(i18n.choose())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    die_with_parent()


def die_with_parent() -> None:
    """On Linux, be sent SIGTERM when the parent render dies, even by SIGKILL."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's handler must do
        return
    if os.getppid() == 1:  # the parent died before prctl
        sys.exit(143)


if __name__ == "__main__":
    sys.exit(main())
