"""``explainer serve`` as a user starts it: a real uvicorn server on 127.0.0.1
(a free port), 50 concurrent trace requests over loopback, all answered with the
library's own trace JSON, none lost, the server still up; then stopped."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from serve_process import serve  # noqa: E402

from explainer import trace_json  # noqa: E402
from explainer.cli.options import _option_keys, build_setup  # noqa: E402

REQUESTS = 50
SENTENCES = [
    "When you play game of thrones",
    "you win or you die",
    "winter is coming",
    "when you play",
    "the night is dark",
]


@pytest.fixture(scope="module")
def server():
    yield from serve()


def expected(sentence: str) -> str:
    raw = dict.fromkeys(_option_keys())
    raw["sentence"] = sentence
    return trace_json.dumps(build_setup(raw).run())


def test_serve_binds_loopback_and_answers_50_concurrent_traces(server):
    want = {s: expected(s) for s in SENTENCES}
    bodies = [SENTENCES[i % len(SENTENCES)] for i in range(REQUESTS)]

    def ask(sentence: str) -> tuple[str, int, str]:
        with httpx.Client(timeout=120) as client:
            answer = client.post(server + "api/trace", json={"sentence": sentence})
        return sentence, answer.status_code, answer.text

    began = time.monotonic()
    with ThreadPoolExecutor(REQUESTS) as pool:
        answers = list(pool.map(ask, bodies))
    seconds = time.monotonic() - began
    assert len(answers) == REQUESTS  # none lost
    for sentence, status, text in answers:
        assert status == 200
        assert text == want[sentence]
    print(f"{REQUESTS} concurrent toy traces in {seconds:.1f} s")
    # Still up: the page and another request answer.
    assert httpx.get(server, timeout=60).status_code == 200
    bad = httpx.post(server + "api/trace", json={"sentence": ""}, timeout=60)
    assert bad.status_code == 400


def test_serve_refuses_a_foreign_host_header(server):
    """DNS rebinding: a page elsewhere naming this port under its own host name."""
    answer = httpx.get(server, headers={"Host": "evil.example"}, timeout=60)
    assert answer.status_code == 400
