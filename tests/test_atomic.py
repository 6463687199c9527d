import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from explainer.atomic import write_atomic


def test_writes_and_replaces(tmp_path):
    path = tmp_path / "a.txt"
    write_atomic(path, "one")
    write_atomic(path, "two")
    assert path.read_text() == "two"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("good")

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "half")
    assert path.read_text() == "good"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_atomic(tmp_path / "no" / "a.txt", "x")


def test_temp_file_of_a_killed_run_is_removed_by_the_next(tmp_path):
    path = tmp_path / "a.txt"
    script = (
        "import sys, time\n"
        "from explainer.atomic import replacing\n"
        "with replacing(sys.argv[1]) as tmp:\n"
        "    tmp.write_text('half')\n"
        "    print(tmp, flush=True)\n"
        "    time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True
    )
    left = Path(child.stdout.readline().strip())
    child.kill()  # SIGKILL: no cleanup runs
    child.wait()
    child.stdout.close()
    assert left.exists() and left.parent == tmp_path
    # A live writer's temp file (this test's own pid) is left alone.
    busy = tmp_path / f".a.txt.{os.getpid()}.abcdefgh.tmp"
    busy.write_text("busy")
    write_atomic(path, "whole")
    assert sorted(os.listdir(tmp_path)) == sorted(["a.txt", busy.name])
    assert path.read_text() == "whole"


def test_os_errors_name_the_users_file_not_the_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"

    def refuse(source, target):
        raise PermissionError(13, "Permission denied", str(source))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError) as caught:
        write_atomic(path, "x")
    assert str(caught.value) == f"cannot write {str(path)!r}: Permission denied"
    assert ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == []


def test_folder_that_is_a_file_is_named(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        write_atomic(tmp_path / "f" / "a.txt", "x")


def test_a_pipe_is_not_replaced(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        write_atomic(fifo, "x")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
