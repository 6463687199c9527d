"""A frame reaches the encoder without a copy, and a held one is converted once.

Manim hands its video encoder each RGBA picture, with a repeat count when the
scene waits (a caption being read). For every frame it copied the picture into a
new video frame (about 1.2 ms of CPU at 854 × 480) and converted that to YUV
4:2:0, again for each of the repeated frames (some 40 % of the movie's frames).
:func:`install` makes the encoder read the picture where it is (Manim hands it
over for good: it is never changed afterwards), convert it once with the very
conversion the codec would make (the same scaler, size, format and threads), and
encode that ``repeat`` times: the same packets, byte for byte
(tests/test_render_encode.py).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any


def install() -> bool:
    """Patch Manim's segment encoder (once per process); False if this Manim has
    no such encoder (then nothing changed)."""
    try:
        from manim.scene.video_segment_encoder import VideoSegmentEncoder
    except ImportError:
        return False
    original = VideoSegmentEncoder.write_frame
    if getattr(original, "converts_once", False):
        return True

    def write_frame(self: Any, pixels: Any, *, repeat: int = 1) -> None:
        stream = getattr(self, "_stream", None)
        if stream is None or not hasattr(self, "_next_pts"):
            original(self, pixels, repeat=repeat)
            return
        import av

        self._validate_frame(pixels, repeat)
        rate = self.spec.frame_rate
        time_base = Fraction(rate.denominator, rate.numerator)
        try:
            frame = av.VideoFrame.from_numpy_buffer(pixels, format="rgba")
            codec = stream.codec_context
            if (
                frame.format.name != codec.pix_fmt
                or frame.width != codec.width
                or frame.height != codec.height
            ):  # what the codec does to each frame it is given
                frame = frame.reformat(
                    codec.width,
                    codec.height,
                    codec.pix_fmt,
                    threads=codec.thread_count,
                )
            for _ in range(repeat):
                frame.pts = self._next_pts
                frame.time_base = time_base
                self._next_pts += 1
                for packet in stream.encode(frame):
                    self._container.mux(packet)
        except BaseException as error:
            raise self._operation_error("encode", error) from error

    write_frame.converts_once = True
    VideoSegmentEncoder.write_frame = write_frame
    return True
