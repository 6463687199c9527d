"""The whole pass as one MP4: the scene videos joined end to end.

Every scene starts by fading its title in and ends by fading everything out, so the
joins are short fades through black. The scenes were encoded with the same settings,
so joining copies their packets (no re-encoding): a second or two for the whole movie.
"""

from __future__ import annotations

from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from explainer.atomic import replacing


def concatenate(parts: Sequence[str | Path], out: str | Path) -> Path:
    """Join the MP4 files ``parts`` into ``out`` (written atomically)."""
    import av

    if not parts:
        raise ValueError("no videos to join")
    out = Path(out)
    manifest = "".join(
        f"file 'file:{Path(p).resolve().as_posix()}'\n" for p in parts
    ).encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        replacing(out) as tmp,
        av.open(BytesIO(manifest), format="concat", options={"safe": "0"}) as src,
        av.open(str(tmp), mode="w", format="mp4") as dst,
    ):
        video = src.streams.video[0]
        stream = dst.add_stream_from_template(template=video)
        for packet in src.demux(video):
            if packet.dts is None:  # the demuxer's final flush packet
                continue
            packet.dts = None  # let libav order the joined timestamps
            packet.stream = stream
            dst.mux(packet)
    return out


def frame_count(path: str | Path) -> int:
    """The number of video frames in ``path``, counted by decoding."""
    import av

    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def duration(path: str | Path) -> float:
    """Length of the video stream of ``path`` in seconds."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        return frame_count(path) / float(stream.average_rate)
