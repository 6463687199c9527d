"""LaTeX with Manim's preamble loaded once: a format file for its formulas.

Manim runs ``latex`` once per formula, and each run spends half its time loading
the same preamble (``standalone``, ``babel``, ``amsmath``, ``amssymb``): about
0.12 s of CPU each, over 300 formulas in the movie. :func:`install` dumps that
preamble into a format file with ``mylatexformat`` (once per media folder, in
``<media>/tex-format``; a cold render builds it in well under a second) and makes
Manim's ``latex`` start from it. The DVI, hence the SVG Manim reads, is the same
byte for byte; Manim still names and finds its cached SVGs as before.

TeX writes formats gzip-compressed (18 MB of memory dump in 6.5 MB), and
inflating it again took most of each run's start: about 0.08 s of CPU of 0.15.
TeX reads a format through zlib, which passes an uncompressed file through as
it is, so :func:`build` stores the format inflated: each formula's ``latex`` run
now costs about 0.07 s.

Nothing changes when the format cannot be built (no ``mylatexformat``, another
TeX): a formula whose file does not start with the very preamble dumped, or
another compiler than ``latex``, compiles as before.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

BEGIN = "\\begin{document}"


_active: dict[str, Path] = {}  # preamble → format file of the latest install()


def install(media: str | Path) -> Path | None:
    """Make Manim compile formulas of its default template from a format of its
    preamble; the format file, or None (then nothing changed). Calling it again
    (another media folder) switches to that folder's format."""
    from manim import config
    from manim.utils import tex_file_writing as writing

    template = config.tex_template
    if template.tex_compiler != "latex" or template.output_format != ".dvi":
        return None
    code = template.get_texcode_for_expression("x")
    if BEGIN not in code:
        return None
    preamble = code[: code.index(BEGIN)]
    fmt = build(Path(media).resolve() / "tex-format", preamble)
    if fmt is None:
        return None
    _active.clear()
    _active[preamble] = fmt
    if not getattr(writing.make_tex_compilation_command, "from_format", False):
        writing.make_tex_compilation_command = _from_format(
            writing.make_tex_compilation_command
        )
    return fmt


def _from_format(original: Callable[..., list[str]]) -> Callable[..., list[str]]:
    """Manim's LaTeX command, starting from the active format when the file
    begins with its preamble and the format is still there."""

    def command(
        tex_compiler: str, output_format: str, tex_file: Path, tex_dir: Path
    ) -> list[str]:
        argv = original(tex_compiler, output_format, tex_file, tex_dir)
        for preamble, fmt in _active.items():
            if (
                tex_compiler == "latex"
                and _starts_with(tex_file, preamble + BEGIN)
                and fmt.exists()
            ):
                argv.insert(1, f"-fmt={fmt.with_suffix('').as_posix()}")
        return argv

    command.from_format = True
    return command


def build(folder: Path, preamble: str) -> Path | None:
    """The format file of ``preamble`` in ``folder``, made if missing (named by
    the preamble and the TeX installation, so that a TeX update makes a new
    one); None if it cannot be made."""
    try:
        version = subprocess.run(
            ["latex", "--version"], capture_output=True, text=True, check=True
        ).stdout
        base = subprocess.run(
            ["kpsewhich", "-engine=pdftex", "latex.fmt"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        stamp = f"{base} {os.stat(base).st_mtime_ns}" if base else ""
    except (OSError, subprocess.CalledProcessError):
        return None
    key = hashlib.sha256(
        "\0".join([preamble, version, stamp, "inflated"]).encode()
    ).hexdigest()
    fmt = folder / f"manim-{key[:16]}.fmt"
    if fmt.exists():
        return fmt
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-", dir=folder))
    try:
        (work / "preamble.tex").write_text(
            preamble + BEGIN + "\n\\end{document}\n", encoding="utf-8"
        )
        done = subprocess.run(
            [
                "latex",
                "-ini",
                "-interaction=batchmode",
                "-halt-on-error",
                "-jobname=preamble",
                "&latex",
                "mylatexformat.ltx",
                "preamble.tex",
            ],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        made = work / "preamble.fmt"
        if done.returncode != 0 or not made.exists():
            return None
        inflate(made)
        os.replace(made, fmt)  # atomic: a render sharing the folder sees all or none
        return fmt
    except OSError:
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def inflate(fmt: Path) -> None:
    """Store a gzip-compressed format file uncompressed, in place (TeX reads
    both); leave any other file as it is."""
    with open(fmt, "rb") as handle:
        if handle.read(2) != b"\x1f\x8b":  # gzip's magic number
            return
    with gzip.open(fmt, "rb") as packed:
        data = packed.read()
    fmt.write_bytes(data)


def _starts_with(path: Path, prefix: str) -> bool:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(len(prefix)) == prefix
    except (OSError, UnicodeDecodeError):
        return False
