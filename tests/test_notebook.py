"""explain() in a Jupyter notebook: a real kernel (ipykernel) runs a notebook
through nbclient, and the outputs it saved are read back as a notebook would
show them: the report, sandboxed in an <iframe srcdoc>, twice, with distinct ids.

The browser side (links, height) is tests/test_notebook_browser.py.
"""

import html
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

SENTENCE = "you win <or> you die"  # '<' and '>': the page must stay an attribute
CELLS = [
    f"from explainer import explain\nreport = explain({SENTENCE!r}, n_layers=1)",
    "report",  # shown as the cell's value
    "display(report)\nprint(repr(report))",  # and again, with its short repr
]
IDS = re.compile(r'<div class="explainer-report" id="([^"]+)"')
SRCDOC = re.compile(r'srcdoc="([^"]*)"')


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3")
    client.execute()
    return notebook


def html_outputs(notebook) -> list[str]:
    return [
        out["data"]["text/html"]
        for cell in notebook.cells
        for out in cell.outputs
        if "text/html" in out.get("data", {})
    ]


def test_the_report_is_shown_twice_with_distinct_ids(executed):
    shown = html_outputs(executed)
    assert len(shown) == 2
    ids = [IDS.findall(out) for out in shown]
    assert [len(i) for i in ids] == [1, 1]
    assert ids[0][0] != ids[1][0]
    for out, (own,) in zip(shown, ids, strict=True):
        # the frame's script listens for its own box only
        assert f'document.getElementById("{own}")' in out
        (srcdoc,) = SRCDOC.findall(out)
        page = html.unescape(srcdoc)
        assert page.startswith("<!DOCTYPE html>")
        assert html.escape(SENTENCE, quote=False) in page
        assert 'class="toc"' in page and 'href="#part-encoder"' in page
        # outside the attribute only the wrapper's own script: the page's are escaped
        assert SRCDOC.sub("", out).count("<script") == 1
        assert 'sandbox="allow-scripts"' in out  # no allow-same-origin


def test_the_text_form_is_one_short_line(executed):
    printed = [
        out["text"]
        for out in executed.cells[2].outputs
        if out.get("output_type") == "stream"
    ]
    assert len(printed) == 1
    line = printed[0].strip()
    assert "\n" not in line and len(line) < 200
    assert line.startswith(f"<Report of {SENTENCE!r}: ") and "checks passed" in line
