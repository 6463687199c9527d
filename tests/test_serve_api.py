"""The live explorer's JSON API through Starlette's TestClient (no socket): each
endpoint against the command line's output for the same input, every kind of
bad input answered 4xx with a one-line JSON error, and no request writing a file."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from cli_run import run
from starlette.testclient import TestClient

from explainer.serve.app import create_app
from explainer.serve.limits import (
    MAX_BODY_BYTES,
    MAX_NEW_TOKENS,
    MAX_SENTENCE_CHARS,
)

SENTENCE = "When you play game of thrones"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c


def events(text: str) -> list[tuple[str, dict]]:
    """Server-sent events as (name, data)."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


@pytest.mark.parametrize(
    "argv, body",
    [
        ([], {"sentence": SENTENCE}),
        (["--preset", "seed003"], {"sentence": "you win", "preset": "seed003"}),
        (["--preset", "next-word"], {"sentence": "when you", "preset": "next-word"}),
        (["--target", "你 赢"], {"sentence": "you win", "target": "你 赢"}),
    ],
)
def test_trace_is_the_cli_trace_json(client, capsys, argv, body):
    code, out, _ = run(
        ["trace", "--json", "--sentence", body["sentence"], *argv], capsys
    )
    assert code == 0
    for _ in range(2):  # the second time from the remembered translation
        answer = client.post("/api/trace", json=body)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        assert answer.text == out  # byte for byte


def test_trace_of_the_default_preset_translates(client):
    data = client.post("/api/trace", json={"sentence": SENTENCE}).json()
    assert data["schema"] == "explainer-trace/1"
    assert data["tokens"]["target"]["text"] == "当 你 玩 权力 的 游戏"


def test_verify_rows_are_the_cli_rows(client, capsys):
    code, out, _ = run(["verify", "--json", "--preset", "seed003"], capsys)
    assert code == 0
    cli = json.loads(out)
    answer = client.post("/api/verify", json={"preset": "seed003", "prove": True})
    assert answer.status_code == 200
    api = answer.json()
    assert set(api) == set(cli)
    assert api["ok"] is True and api["total"] == cli["total"]
    # The same checks in the same order; the derivations are proved by the CLI,
    # not per request (they do not depend on the sentence).
    rows = [r for r in cli["results"] if r["check"] != "derivation"]
    assert [r for r in api["results"] if r["check"] != "derivation"] == rows
    proofs = [r for r in api["results"] if r["check"] == "derivation"]
    assert proofs and all(r["skipped"] for r in proofs)


def test_generate_streams_the_cli_translation(client, capsys):
    code, out, _ = run(
        ["generate", "--preset", "default", "--sentence", SENTENCE], capsys
    )
    assert code == 0
    answer = client.post("/api/generate", json={"sentence": SENTENCE})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    got = events(answer.text)
    assert got[0] == (
        "start",
        {
            "model": "preset:default",
            "task": "translate",
            "tokens": SENTENCE.lower().split(),
            "unknown": [],
            "text": SENTENCE.lower(),
        },
    )
    names = [name for name, _ in got]
    assert names == ["start"] + ["token"] * (len(got) - 2) + ["done"]
    text = "".join(data["text"] for name, data in got if name == "token").strip()
    assert text == "当 你 玩 权力 的 游戏"
    assert out.strip() == f"{SENTENCE} → {text}"
    assert got[-1] == ("done", {"new_tokens": 6})


def test_generate_stops_after_max_new_tokens(client):
    body = {"sentence": "when you", "preset": "next-word", "max_new_tokens": 2}
    got = events(client.post("/api/generate", json=body).text)
    assert [n for n, _ in got] == ["start", "token", "token", "done"]


def test_page_holds_the_report_and_the_pickers(client):
    answer = client.get("/")
    assert answer.status_code == 200
    page = answer.text
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "http" not in csp  # nothing from elsewhere
    for value in ("preset:default", "preset:next-word", "preset:seed003"):
        assert f'value="{value}"' in page
    assert 'value="model:minilm"' in page and 'value="model:smollm2"' in page
    # The report is inside the frame, escaped into its srcdoc attribute.
    assert 'srcdoc="&lt;!DOCTYPE html&gt;' in page
    assert "The Transformer, step by step" in page
    assert "<script src" not in page and "https://" not in page.split("srcdoc")[0]


def test_report_is_the_report_of_the_new_sentence(client):
    answer = client.post("/api/report", json={"sentence": "you win or you die"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    html = answer.text
    assert html.startswith("<!DOCTYPE html>")
    assert "you win or you die" in html and "你 赢 或者 你 死" in html


def test_report_watches_trained_weights_learn(client):
    """The trained default preset's page has "Watch it learn", as the report
    command's has; the random seed003 preset's has not."""
    trained = client.post("/api/report", json={"sentence": "you win or you die"})
    random = client.post(
        "/api/report", json={"sentence": "you win or you die", "preset": "seed003"}
    )
    assert 'id="watch-it-learn"' in trained.text
    assert random.status_code == 200 and 'id="watch-it-learn"' not in random.text


def test_report_escapes_the_sentence(client):
    answer = client.post("/api/report", json={"sentence": "<b>you</b> win"})
    assert answer.status_code == 200
    assert "<b>you</b>" not in answer.text
    assert "&lt;b&gt;you&lt;/b&gt; win" in answer.text


BAD = [
    ({"sentence": ""}, 400, "the sentence is empty"),
    ({"sentence": "   "}, 400, "the sentence is empty"),
    ({"sentence": "a " * MAX_SENTENCE_CHARS}, 400, "at most 200 are accepted"),
    ({"sentence": 5}, 400, "sentence must be a string, not 5"),
    ({"sentence": "\ud800 x"}, 400, "not valid UTF-8"),
    ({"preset": "nope"}, 400, "preset 'nope' is unknown"),
    ({"preset": "paper-base"}, 400, "too large to run live"),
    ({"model": "gpt"}, 400, "unknown model 'gpt'"),
    ({"model": "minilm", "sentence": "fox " * 20}, 400, "traces at most 16"),
    ({"model": "smollm2", "preset": "default"}, 400, "cannot be combined"),
    ({"preset": "seed003", "target": "你"}, 400, "target is only read"),
    ({"preset": "next-word", "target": "你"}, 400, "target is only read"),
    ({"sentence": "you", "colour": "red"}, 400, "unknown field 'colour'"),
    ({"sentence": "xyzzy"}, 200, None),  # an unknown word is <unk>, not an error
]


@pytest.mark.parametrize("path", ["/api/trace", "/api/verify", "/api/report"])
@pytest.mark.parametrize("body, status, message", BAD)
def test_bad_input_is_a_json_4xx(client, path, body, status, message):
    # json.dumps writes a lone surrogate as the escape "\\ud800", as a browser may
    answer = client.post(path, content=json.dumps(body).encode(), headers=JSON)
    assert answer.status_code == status, answer.text
    if message is not None:
        error = answer.json()["error"]
        assert message in error and "\n" not in error and "Traceback" not in error


BAD_GENERATE = [
    ({"sentence": "you", "max_new_tokens": -1}, "between 0 and 64"),
    ({"sentence": "you", "max_new_tokens": MAX_NEW_TOKENS + 1}, "between 0 and 64"),
    ({"sentence": "you", "max_new_tokens": 2.5}, "must be a whole number"),
    ({"sentence": "you", "max_new_tokens": True}, "must be a whole number"),
    ({"sentence": "you", "max_new_tokens": "3"}, "must be a whole number"),
    ({"sentence": "you", "temperature": 0.8}, "always pick the most probable"),
    ({"sentence": "you", "preset": "seed003"}, "random weights"),
    ({"preset": "default"}, "give a sentence"),
    ({"sentence": "you", "model": "minilm"}, "does not generate text"),
    ({"sentence": "you", "model": "smollm2", "temperature": -1}, "must be a finite"),
    ({"sentence": "you", "model": "smollm2", "top_p": 1.5}, "top_p (1.5)"),
    ({"sentence": "you", "model": "smollm2", "top_k": 0}, "between 1 and"),
    ({"sentence": "you", "model": "smollm2", "temperature": "hot"}, "must be a number"),
]


@pytest.mark.parametrize("body, message", BAD_GENERATE)
def test_bad_generate_is_a_json_400(client, body, message):
    answer = client.post("/api/generate", json=body)
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]


@pytest.mark.parametrize(
    "content, status, message",
    [
        (b"{", 400, "not JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b"\xff\xfe", 400, "not UTF-8"),
        (b"[" * 10000, 400, "not JSON"),  # too deep for the parser
        (b'{"sentence": NaN}', 400, "must be a string"),
        (b" " * (MAX_BODY_BYTES + 1), 413, "at most 16384"),
    ],
)
def test_bad_body_is_a_json_4xx(client, content, status, message):
    answer = client.post("/api/trace", content=content, headers=JSON)
    assert answer.status_code == status
    assert message in answer.json()["error"]


@pytest.mark.parametrize(
    "kind", [None, "text/plain", "application/x-www-form-urlencoded"]
)
def test_a_body_not_sent_as_json_is_a_415(client, kind):
    """What a form or fetch() on another site may send without a preflight."""
    headers = {} if kind is None else {"content-type": kind}
    for path in ("/api/trace", "/api/verify", "/api/report", "/api/generate"):
        answer = client.post(path, content=b'{"sentence": "you"}', headers=headers)
        assert answer.status_code == 415
        assert "Content-Type: application/json" in answer.json()["error"]


def test_oversized_body_is_refused_by_its_declared_length(client):
    answer = client.post(
        "/api/trace",
        content=b"{}",
        headers={**JSON, "content-length": str(MAX_BODY_BYTES + 1)},
    )
    assert answer.status_code == 413


def test_unknown_path_and_method_are_json(client):
    assert client.get("/nope").json() == {"error": "no such page: /nope"}
    answer = client.get("/api/trace")
    assert answer.status_code == 405 and "error" in answer.json()


def test_an_unexpected_failure_is_a_500_without_traceback(client, monkeypatch):
    import explainer.serve.api as api

    def broken(setup):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(api, "_forward", broken)
    answer = client.post("/api/trace", json={"sentence": "you"})
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "internal error (RuntimeError); see the server's log"
    }


def test_requests_write_no_file(client):
    """An audit hook records every file opened for writing while requests run."""
    written: list[str] = []
    active = [True]

    def hook(event: str, args: tuple) -> None:
        if not active[0]:
            return
        if event == "open" and isinstance(args[0], str | bytes):
            mode, flags = args[1], args[2]
            if (mode and any(c in mode for c in "wax+")) or (flags or 0) & 0o3:
                written.append(str(args[0]))
        elif event in ("os.rename", "os.replace", "os.remove", "os.mkdir"):
            written.append(f"{event} {args[0]}")

    sys.addaudithook(hook)
    try:
        bodies = [{"sentence": "you win"}, {"preset": "seed003"}, {"model": "minilm"}]
        for body in bodies:
            assert client.post("/api/trace", json=body).status_code == 200
            assert client.post("/api/verify", json=body).status_code == 200
            assert client.post("/api/report", json=body).status_code == 200
        assert client.post("/api/generate", json={"sentence": "you"}).status_code == 200
        assert client.get("/").status_code == 200
    finally:
        active[0] = False  # an audit hook cannot be removed; it stops recording
    assert written == []


@pytest.mark.parametrize(
    "sampling, argv",
    [
        ({}, []),
        (
            {"temperature": 0.8, "top_p": 0.9, "seed": 1},
            ["--temperature", "0.8", "--top-p", "0.9", "--seed", "1"],
        ),
    ],
)
def test_generate_with_smollm2_is_the_cli_text(client, capsys, sampling, argv):
    import importlib.util

    from explainer.models import smollm2

    if importlib.util.find_spec(smollm2.MODULE) is None:
        pytest.skip(f"SmolLM2's weights are not installed ({smollm2.INSTALL})")
    prompt = "Once upon a time"
    code, out, _ = run(
        ["generate", "-p", prompt, "--max-new-tokens", "4", *argv], capsys
    )
    assert code == 0
    body = {"model": "smollm2", "sentence": prompt, "max_new_tokens": 4, **sampling}
    got = events(client.post("/api/generate", json=body).text)
    assert got[0][1]["tokens"] == ["Once", "Ġupon", "Ġa", "Ġtime"]
    assert got[0][1]["text"] == prompt
    text = "".join(data["text"] for name, data in got if name == "token")
    assert prompt + text == out.rstrip("\n")
    assert got[-1] == ("done", {"new_tokens": 4})


def test_serve_refuses_a_port_in_use(capsys):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, out, err = run(["serve", "--port", str(port)], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert err.rstrip().endswith("give another --port or --host")


def test_each_generated_token_comes_with_its_distribution(client):
    """The toy translation: at each step the p of the top tokens equal the traced
    pass's output.probs row of that decoder position (the trace of the sentence
    with its translation as the target), and the token sent is the most probable."""
    import numpy as np

    from explainer.cli.options import _option_keys, build_setup

    body = {"sentence": "you win or you die"}
    got = [data for name, data in events(client.post("/api/generate", json=body).text)]
    steps = got[1:-1]
    raw = dict.fromkeys(_option_keys()) | body
    probs = build_setup(raw).run()["output.probs"]  # (positions, V)
    assert len(steps) == 5
    for row, step in zip(probs, steps, strict=False):
        assert step["top"][0]["id"] == step["id"] == int(np.argmax(row))
        want = np.sort(row)[::-1][: len(step["top"])]
        np.testing.assert_allclose([t["p"] for t in step["top"]], want, rtol=1e-12)
        assert [row[t["id"]] for t in step["top"]] == list(want)


def test_smollm2_step_distribution_is_the_traced_one(client):
    """SmolLM2's first step: the top tokens and p of the trace's last row."""
    import importlib.util

    import numpy as np

    from explainer.models import smollm2, trace_model

    if importlib.util.find_spec(smollm2.MODULE) is None:
        pytest.skip(f"SmolLM2's weights are not installed ({smollm2.INSTALL})")
    prompt = "The capital of France is"
    body = {"model": "smollm2", "sentence": prompt, "max_new_tokens": 1}
    step = events(client.post("/api/generate", json=body).text)[1][1]
    row = trace_model("smollm2", prompt)["output.probs"][-1]
    order = np.argsort(-row, kind="stable")[: len(step["top"])]
    assert [t["id"] for t in step["top"]] == [int(i) for i in order]
    np.testing.assert_allclose([t["p"] for t in step["top"]], row[order], rtol=1e-5)
    assert step["top"][0]["token"] == " Paris"
