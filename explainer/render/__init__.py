"""Manim videos of a trace: the scene registry, one-scene rendering, the parallel
cached runner and the movie (``explainer render``).

Nothing here imports Manim at import time; only the processes that render do.
"""

from explainer.render.registry import SCENES, SceneSpec, available, resolve
from explainer.render.runner import (
    MOVIE_NAME,
    RenderError,
    RenderOptions,
    RenderReport,
    render,
)
from explainer.render.worker import QUALITIES

__all__ = [
    "MOVIE_NAME",
    "QUALITIES",
    "SCENES",
    "RenderError",
    "RenderOptions",
    "RenderReport",
    "SceneSpec",
    "available",
    "render",
    "resolve",
]
