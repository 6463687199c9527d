"""The wheel must carry every package and the data the code looks up."""

import tomllib
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
            "packages"
        ]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "explainer").rglob("__init__.py")
    }
    assert found <= listed, (
        f"add to [tool.setuptools] packages: {sorted(found - listed)}"
    )


def test_package_data_is_found_through_importlib_resources():
    assert resources.files("explainer.data").joinpath("corpus.txt").is_file()
    assert any(
        p.name.endswith(".j2") for p in resources.files("explainer.templates").iterdir()
    )
    assert resources.files("explainer.scenes").joinpath("__init__.py").is_file()


def test_the_compiled_message_catalogs_and_the_glossary_are_package_data():
    from fnmatch import fnmatch

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["explainer"]
    needed = [
        p.relative_to(ROOT / "explainer").as_posix()
        for p in (ROOT / "explainer" / "locale").rglob("*")
        if p.suffix in (".mo", ".toml")
    ]
    assert "locale/zh/LC_MESSAGES/explainer.mo" in needed
    assert all(any(fnmatch(f, g) for g in globs) for f in needed), needed
    assert resources.files("explainer").joinpath(needed[0]).is_file()
