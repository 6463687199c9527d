"""A scene's video is encoded as one stream, not as one file per animation.

Manim encodes each animation (each ``play`` and ``wait``) into a file of its own
and joins the files when the scene ends, so that an animation unchanged since
the last render can be taken from its cache. Every file starts a new encoder,
with a key frame drawn from nothing and no earlier frame to predict from: the
movie's 496 animations made 496 key frames, 60 % of its bytes, and x264 spent
about a third more CPU than on the same frames as one stream (attention: 2.5
against 1.6 s, 2.3 against 1.1 MB).

The render turns Manim's per-animation cache off (``disable_caching``: hashing
every animation costs more than it saves), so nothing reads those files again.
While :func:`one_stream` is on (``render_scene`` turns it on for each scene),
the first animation's encoder is the scene's: later animations hand their frames
to it, and the scene's movie is that one file (through Manim's own joining, of
one file). The encoder is given the same frames; x264 codes them with fewer key
frames (tests/test_render_one_stream.py).
Where Manim's cache is on, or sections or a GIF are asked for, nothing changes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from explainer.render.patching import patched


def applies(writer: Any) -> bool:
    """Whether ``writer``'s animations can share a stream: a video without Manim's
    per-animation cache, sections or a GIF."""
    from manim import config

    spec = writer.output_spec
    return bool(
        config.disable_caching
        and spec.is_video
        and not spec.is_gif
        and not spec.save_sections
    )


@contextmanager
def one_stream() -> Iterator[None]:
    """For the duration, a scene's animations (without Manim's cache) are
    encoded into the first animation's stream."""
    from manim.scene.scene_file_writer import SceneFileWriter

    open_segment = SceneFileWriter.open_partial_movie_stream
    close_segment = SceneFileWriter.close_partial_movie_stream
    abort_jobs = SceneFileWriter.abort_encode_jobs
    finish = SceneFileWriter.finish

    def opening(self: Any, *, animation_index: int, file_path: Any = None) -> None:
        job = self.__dict__.get("_scene_job")
        if job is None:
            open_segment(self, animation_index=animation_index, file_path=file_path)
            if applies(self):
                self._scene_job = self._current_encode_job
            return
        if self._current_encode_job is not None:  # as Manim's own check
            raise RuntimeError(
                "Cannot open a video segment while another segment is still open.",
            )
        self._current_encode_job = job  # the scene's stream goes on

    def closing(self: Any) -> None:
        if self.__dict__.get("_scene_job") is None:
            close_segment(self)
            return
        if self._current_encode_job is None:  # as Manim's own check
            raise RuntimeError(
                "close_partial_movie_stream() called without an open partial "
                "movie stream.",
            )
        self._current_encode_job = None  # not sealed: the next animation goes on

    def aborting(self: Any, reraise_encoder_failures: bool = False) -> None:
        job = self.__dict__.pop("_scene_job", None)
        if job is not None and self._current_encode_job is None:
            self._current_encode_job = job  # between animations: Manim discards it
        abort_jobs(self, reraise_encoder_failures=reraise_encoder_failures)

    def finishing(self: Any) -> None:
        job = self.__dict__.pop("_scene_job", None)
        if job is not None:  # sealed and joined as Manim's last segment would be
            job.seal()
            self._inflight_encode_jobs.append(job)
            self._inflight_by_path[str(job.path)] = job
            self.partial_movie_files = [str(job.path)]
        finish(self)

    with (
        patched(SceneFileWriter, "open_partial_movie_stream", opening),
        patched(SceneFileWriter, "close_partial_movie_stream", closing),
        patched(SceneFileWriter, "abort_encode_jobs", aborting),
        patched(SceneFileWriter, "finish", finishing),
    ):
        yield
