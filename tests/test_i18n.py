"""The Chinese catalog: complete, compiled, chosen by --lang, EXPLAINER_LANG or the
locale; plural forms; bad languages refused on one line."""

import io
import re
import string
from pathlib import Path

import pytest
from cli_run import run

from explainer import i18n

babel_extract = pytest.importorskip("babel.messages.extract")
from babel.messages.frontend import parse_mapping_cfg  # noqa: E402
from babel.messages.mofile import write_mo  # noqa: E402
from babel.messages.pofile import read_po  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "explainer" / "locale" / "zh" / "LC_MESSAGES" / "explainer.po"
MO = PO.with_suffix(".mo")


def _catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="zh")


def _extracted() -> dict[tuple[str, str | None], str]:
    """Every message marked in the sources (as scripts/i18n.sh extracts them):
    (msgid, its pgettext context or None) → where it is."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = {}
    for path, line, message, _comments, context in babel_extract.extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={**babel_extract.DEFAULT_KEYWORDS, "N_": None},
    ):
        key = message if isinstance(message, str) else message[0]
        found.setdefault((key, context), f"{path}:{line}")
    return found


def test_every_marked_message_has_a_chinese_translation():
    catalog = _catalog()
    missing = []
    for (msgid, context), where in _extracted().items():
        entry = catalog.get(msgid, context)
        strings = (
            []
            if entry is None
            else (
                [entry.string] if isinstance(entry.string, str) else list(entry.string)
            )
        )
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f"{where}: {msgid!r}")
    assert not missing, (
        "run scripts/i18n.sh, then translate in explainer.po:\n" + "\n".join(missing)
    )


def test_the_compiled_catalog_is_the_po_file():
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())
    assert MO.read_bytes() == compiled.getvalue(), "run scripts/i18n.sh"


def _fields(text: str) -> list[str]:
    return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)


def test_translations_keep_the_placeholders_and_the_markup():
    for m in _catalog():
        if not m.id:
            continue
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        strs = [m.string] if isinstance(m.string, str) else list(m.string)
        for s in strs:
            if "python-brace-format" in m.flags:
                assert _fields(s) == _fields(ids[-1]), (m.id, s)
            named = r"%\(\w+\)s"
            assert sorted(re.findall(named, s)) == sorted(re.findall(named, ids[-1]))
            assert sorted(re.findall(r"</?\w+", s)) == sorted(
                re.findall(r"</?\w+", ids[-1])
            ), (m.id, s)


def test_language_from_option_then_environment_then_locale():
    assert i18n.choose("en", {"EXPLAINER_LANG": "zh"}) == "en"
    assert i18n.choose(None, {"EXPLAINER_LANG": "zh", "LANG": "en_US.UTF-8"}) == "zh"
    assert i18n.choose(None, {"LC_MESSAGES": "zh_CN.UTF-8"}) == "zh"
    assert i18n.choose(None, {"LANG": "de_DE.UTF-8"}) == "en"
    assert i18n.choose(None, {}) == "en"
    with pytest.raises(ValueError, match="EXPLAINER_LANG 'fr'"):
        i18n.choose(None, {"EXPLAINER_LANG": "fr"})


def test_plural_forms():
    # English has two forms; Chinese one, for every number (Plural-Forms: nplurals=1)
    one, many = "{n} definition", "{n} definitions"
    with i18n.language("en"):
        assert [i18n.ngettext(one, many, n) for n in (1, 2, 5)] == [one, many, many]
    with i18n.language("zh"):
        forms = {i18n.ngettext(one, many, n) for n in (0, 1, 2, 5)}
        assert forms == {"{n} 个定义"}
    assert _catalog().plural_forms == "nplurals=1; plural=0;"


@pytest.mark.parametrize(
    ("argv", "env", "error"),
    [
        (["--lang", "zh", "derive", "no-such"], {}, "错误："),
        (["derive", "no-such"], {"EXPLAINER_LANG": "zh"}, "错误："),
        (["derive", "no-such"], {"LANG": "zh_CN.UTF-8", "LC_ALL": ""}, "错误："),
        (["derive", "--lang", "en", "no-such"], {"EXPLAINER_LANG": "zh"}, "error: "),
    ],
)
def test_cli_chooses_the_language(argv, env, error, capsys, monkeypatch):
    for name in ("EXPLAINER_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, _, err = run(argv, capsys)
    assert code == 2
    assert err.startswith(error), err
    assert i18n.current() == "en"  # main() leaves the language as it found it


@pytest.mark.parametrize("argv", [["--lang", "xx", "verify"], ["report", "--lang=fr"]])
def test_an_unknown_language_is_one_line_and_exit_2(argv, capsys):
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "is not a language here: give en or zh" in err


def test_a_bad_explainer_lang_is_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.setenv("EXPLAINER_LANG", "klingon")
    code, _, err = run(["verify"], capsys)
    assert code == 2
    assert (
        err == "error: EXPLAINER_LANG 'klingon' is not a language here: give en or zh\n"
    )


def test_a_chinese_render_is_cached_apart_from_the_english_one():
    from explainer.render.registry import SCENES
    from explainer.render.runner import scene_key

    spec = next(iter(SCENES.values()))
    english = scene_key(spec, "trace-digest", "low")
    with i18n.language("zh"):
        chinese = scene_key(spec, "trace-digest", "low")
    assert chinese != english
    assert scene_key(spec, "trace-digest", "low") == english
