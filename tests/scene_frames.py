"""Rendering a small Manim scene inside a test: its frames, decoded from the MP4."""

from pathlib import Path
from typing import Any


def render_frames(
    scene_class: type, folder: Path, name: str, **overrides: Any
) -> tuple[list, Any]:
    """Render ``scene_class`` at -ql into ``folder`` (Manim's own caching off,
    unless ``overrides`` say otherwise) as ``name``.mp4: (its frames as RGB
    arrays, the scene)."""
    import av
    from manim import tempconfig

    options = {
        "quality": "low_quality",
        "media_dir": str(folder),
        "disable_caching": True,
        "output_file": name,
        "verbosity": "WARNING",
        "progress_bar": "none",
        **overrides,
    }
    with tempconfig(options):
        scene = scene_class()
        scene.render()
        path = scene.renderer.file_writer.movie_file_path
    with av.open(str(path)) as video:
        frames = [f.to_ndarray(format="rgb24") for f in video.decode(video=0)]
    return frames, scene


def key_frames(path: Path) -> int:
    """How many key frames the MP4 at ``path`` has."""
    import av

    with av.open(str(path)) as video:
        return sum(p.is_keyframe for p in video.demux(video=0) if p.size)
