"""explainer/render/tex_format.py: Manim's LaTeX starting from a format of its
preamble gives the same SVGs, byte for byte, as Manim's own LaTeX run."""

import filecmp
import shutil

import pytest

FORMULAS = [
    r"\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\left("
    r"\frac{Q K^{\top}}{\sqrt{d_k}}\right) V",
    r"\gamma \frac{x - \mu}{\sqrt{\sigma^{2} + \varepsilon}} + \beta",
    r"\begin{bmatrix} 1 & -2 \\ \vdots & \ddots \end{bmatrix}",
    r"-\infty",
    "7",
]


@pytest.fixture
def writing(monkeypatch):
    pytest.importorskip("manim")
    if not shutil.which("latex") or not shutil.which("kpsewhich"):
        pytest.skip("no LaTeX")
    from manim.utils import tex_file_writing

    # install() replaces this function for the process: undo it after the test
    monkeypatch.setattr(
        tex_file_writing,
        "make_tex_compilation_command",
        tex_file_writing.make_tex_compilation_command,
    )
    return tex_file_writing


def _compile(folder):
    from manim import MathTex, Tex, tempconfig

    with tempconfig({"tex_dir": str(folder)}):
        for formula in FORMULAS:
            MathTex(formula)
        Tex(r"plain words, \textbf{bold}")  # Manim's dvisvgm:raw specials
    return sorted(p.name for p in folder.glob("*.svg"))


@pytest.mark.slow
def test_formulas_from_the_format_are_the_same_svgs(writing, tmp_path):
    from explainer.render import tex_format

    plain = _compile(tmp_path / "plain")
    fmt = tex_format.install(tmp_path / "media")
    if fmt is None:
        pytest.skip("mylatexformat is not installed")
    assert fmt.parent == tmp_path / "media" / "tex-format" and fmt.is_file()
    assert fmt.read_bytes()[:2] != b"\x1f\x8b"  # stored inflated: TeX reads it so
    formatted = _compile(tmp_path / "formatted")
    assert formatted == plain and len(plain) == len(FORMULAS) + 1
    for name in plain:
        assert filecmp.cmp(tmp_path / "plain" / name, tmp_path / "formatted" / name)


@pytest.mark.slow
def test_only_files_with_the_dumped_preamble_use_the_format(writing, tmp_path):
    from explainer.render import tex_format

    if tex_format.install(tmp_path / "media") is None:
        pytest.skip("mylatexformat is not installed")
    own = tmp_path / "own.tex"
    own.write_text("\\documentclass{article}\n\\begin{document}x\\end{document}\n")
    command = writing.make_tex_compilation_command("latex", ".dvi", own, tmp_path)
    assert not any(arg.startswith("-fmt") for arg in command)
    _compile(tmp_path / "tex")  # the default template's files
    (default,) = [
        p for p in (tmp_path / "tex").glob("*.tex") if "bmatrix" in p.read_text()
    ]
    command = writing.make_tex_compilation_command("latex", ".dvi", default, tmp_path)
    assert any(arg.startswith("-fmt=") for arg in command)


def test_inflate_stores_a_gzip_file_uncompressed_and_leaves_others(tmp_path):
    import gzip

    from explainer.render.tex_format import inflate

    data = bytes(range(256)) * 1000
    packed = tmp_path / "packed.fmt"
    packed.write_bytes(gzip.compress(data, compresslevel=1))
    inflate(packed)
    assert packed.read_bytes() == data
    inflate(packed)  # already inflated: unchanged
    assert packed.read_bytes() == data
