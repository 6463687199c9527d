"""explainer/render/text_files.py: Manim's rewrite of a text's SVG never writes
into the shared cache through a render's hard link (two renders sharing a media
folder once left an empty SVG there)."""

import os

import pytest


@pytest.fixture
def unpatched(monkeypatch):
    pytest.importorskip("manim")
    from manimpango import PangoUtils

    # undone after the test, so that other tests see the function they imported
    monkeypatch.setattr(PangoUtils, "remove_last_M", PangoUtils.remove_last_M)
    return PangoUtils


def test_the_last_move_is_removed_by_a_new_file(tmp_path, unpatched):
    from explainer.render import text_files

    path = tmp_path / "t.svg"
    path.write_text('<path d="M 0 0 L 1 1 Z M 2.5 3 "/>', encoding="utf-8")
    link = tmp_path / "link.svg"
    os.link(path, link)
    path.chmod(0o644)
    text_files.remove_last_m(str(path))
    assert path.read_text(encoding="utf-8") == '<path d="M 0 0 L 1 1 Z "/>'
    assert link.read_text(encoding="utf-8") == '<path d="M 0 0 L 1 1 Z M 2.5 3 "/>'
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.svg", "t.svg"]


def test_an_svg_with_nothing_to_remove_is_not_written(tmp_path, unpatched):
    from explainer.render import text_files

    path = tmp_path / "t.svg"
    path.write_text('<path d="M 0 0 L 1 1 Z "/>', encoding="utf-8")
    before = path.stat()
    text_files.remove_last_m(str(path))
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_text_made_in_a_private_folder_leaves_the_shared_svg_alone(
    tmp_path, unpatched
):
    from manim import Text, tempconfig

    from explainer.render.worker import private_dir, publish

    media = tmp_path / "media"
    (media / "tex-work").mkdir(parents=True)
    first = private_dir(media, "texts", "one")
    with tempconfig({"media_dir": str(media), "text_dir": str(first)}):
        Text("shared words", font_size=30)
    publish(first, media / "texts")
    (shared,) = (media / "texts").glob("*.svg")
    content, before = shared.read_bytes(), shared.stat()
    assert b"<svg" in content

    second = private_dir(media, "texts", "two")  # a hard link to the shared SVG
    assert (second / shared.name).stat().st_ino == before.st_ino
    with tempconfig({"media_dir": str(media), "text_dir": str(second)}):
        Text("shared words", font_size=30)  # Manim rewrites the SVG it reads
    after = shared.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert shared.read_bytes() == content
