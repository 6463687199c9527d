"""Running the command line inside a test: the exit code and what it printed."""

import pytest

from explainer.cli import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``explainer ARGV`` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return done.value.code, out, err
