"""The report embeds the videos rendered from its own trace, and no others."""

import json

from explainer import ModelConfig, trace_sentence
from explainer.render.manifest import (
    MANIFEST,
    read_manifest,
    trace_digest,
    update_manifest,
)
from explainer.report import find_videos, render_report
from explainer.verify import verify


def _trace(sentence="you win or you die"):
    return trace_sentence(ModelConfig(architecture="decoder", n_layers=1), sentence)


def test_manifest_round_trip_and_merge(tmp_path):
    update_manifest(tmp_path, "aaa", {"softmax": "softmax.mp4"})
    update_manifest(tmp_path, "bbb", {"tokens": "tokens.mp4"})
    entries = read_manifest(tmp_path)
    assert entries["softmax"] == {"file": "softmax.mp4", "trace": "aaa"}
    assert entries["tokens"]["trace"] == "bbb"


def test_only_videos_of_the_same_trace_are_linked(tmp_path):
    trace, other = _trace(), _trace("you play game of thrones")
    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("transformer", "softmax", "tokens", "embedding"):
        (videos / f"{name}.mp4").write_bytes(b"\x00")
    update_manifest(videos, trace_digest(trace), {"softmax": "softmax.mp4"})
    update_manifest(videos, trace_digest(trace), {"transformer": "transformer.mp4"})
    update_manifest(videos, trace_digest(other), {"tokens": "tokens.mp4"})
    update_manifest(videos, trace_digest(trace), {"missing": "missing.mp4"})
    found = find_videos(tmp_path / "report.html", trace)
    assert [v.name for v in found] == ["transformer", "softmax"]  # movie first
    assert [v.href for v in found] == ["videos/transformer.mp4", "videos/softmax.mp4"]
    html = render_report(
        trace, verify(trace, derivations=False, precision=False), found
    )
    assert 'src="videos/transformer.mp4"' in html and "tokens.mp4" not in html


def test_a_manifest_cannot_point_outside_its_folder(tmp_path):
    trace = _trace()
    videos = tmp_path / "videos"
    videos.mkdir()
    (tmp_path / "secret.mp4").write_bytes(b"\x00")
    entries = {"softmax": {"file": "../secret.mp4", "trace": trace_digest(trace)}}
    (videos / MANIFEST).write_text(json.dumps(entries))
    assert find_videos(tmp_path / "report.html", trace) == []


def test_no_videos_no_section(tmp_path):
    trace = _trace()
    html = render_report(trace, verify(trace, derivations=False, precision=False))
    assert 'id="videos"' not in html
