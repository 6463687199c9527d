"""The JSON API of the live explorer (documented in README.md, "Live explorer").

- ``POST /api/trace``: the forward pass as ``explainer-trace/1`` JSON, the same
  text as ``explainer trace --json``;
- ``POST /api/verify``: the checks as ``explainer verify --json`` prints them;
- ``POST /api/report``: the report page of the sentence (HTML, the report's own
  templates), which the live page shows;
- ``POST /api/generate``: new tokens one at a time, as server-sent events.

Each body is a JSON object: ``sentence``, and ``preset`` or ``model``
(``target`` for the encoder-decoder). Bad input answers 4xx ``{"error": "…"}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse

from explainer import trace_json
from explainer.cli.options import Setup
from explainer.i18n import _
from explainer.serve import inputs
from explainer.serve.errors import ApiError, library_errors
from explainer.serve.generation import Generation, start_generation
from explainer.serve.models import Models, key
from explainer.trace import Trace

T = TypeVar("T")
MODEL_FIELDS = ("sentence", "target", "preset", "model")


async def trace(request: Request) -> Response:
    """The trace JSON of the sentence."""
    raw = await _model_request(request, MODEL_FIELDS)
    traced = await _run(request, raw, _forward)
    # Written outside the model's lock: the next request's pass need not wait.
    body = await run_in_threadpool(trace_json.dump_bytes, traced)
    return Response(body, media_type="application/json")


async def verify(request: Request) -> Response:
    """Every check of the sentence's pass, as ``explainer verify --json`` prints
    them (``prove``: also redo the pass at 50 digits; the derivations are proved
    by ``explainer verify``, not per request: they do not depend on the sentence)."""
    data = await inputs.read_json(request)
    inputs.check_fields(data, (*MODEL_FIELDS, "prove"))
    prove = data.get("prove", False)
    if not isinstance(prove, bool):
        raise ApiError(
            _("{name} must be true or false, not {value}").format(
                name="prove", value=repr(prove)
            )
        )
    raw = inputs.model_options(data)
    payload = await _run(request, raw, lambda setup: _checks(setup, prove))
    return Response(
        json.dumps(payload, ensure_ascii=False, indent=1), media_type="application/json"
    )


async def report(request: Request) -> Response:
    """The report page of the sentence: the same HTML as ``explainer report``."""
    raw = await _model_request(request, MODEL_FIELDS)
    models: Models = request.app.state.models

    def page(setup: Setup) -> str:
        from explainer.report.build import render_report
        from explainer.train.learning import learning_for
        from explainer.verify import verify as run_checks

        result = _forward(setup)
        checks = run_checks(result, derivations=False, precision=False)
        learning = learning_for(result, setup.weights)  # "Watch it learn"
        with models.render_lock:
            return render_report(result, checks, (), learning)

    return HTMLResponse(await _run(request, raw, page))


async def generate(request: Request) -> Response:
    """New tokens as server-sent events: ``start`` (the input's tokens), one
    ``token`` per new token, then ``done``; ``error`` if a step fails."""
    data = await inputs.read_json(request)
    models: Models = request.app.state.models
    started = await run_in_threadpool(start_generation, data, models)
    return StreamingResponse(
        _events(started), media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )  # fmt: skip


def _events(started: Generation) -> Iterator[str]:
    yield _event("start", started.start)
    count = 0
    try:
        for piece in started.pieces():
            count += 1
            yield _event("token", piece)
    except (ValueError, FileNotFoundError) as err:
        yield _event("error", {"error": str(err).splitlines()[0]})
        return
    yield _event("done", {"new_tokens": count})


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _model_request(request: Request, known: tuple[str, ...]) -> dict[str, Any]:
    data = await inputs.read_json(request)
    inputs.check_fields(data, known)
    return inputs.model_options(data)


async def _run(request: Request, raw: dict[str, Any], work: Callable[[Setup], T]) -> T:
    """``work`` on the setup of ``raw`` in a worker thread, holding the model's
    lock; the library's errors become answers (:func:`library_errors`)."""
    models: Models = request.app.state.models

    def locked() -> T:
        with models.lock(key(raw)):
            return work(models.setup(raw))

    with library_errors():
        return await run_in_threadpool(locked)


def _forward(setup: Setup) -> Trace:
    return setup.run()


def _checks(setup: Setup, prove: bool) -> dict[str, Any]:
    from explainer.cli.verify_cmd import as_json_payload
    from explainer.verify import verify as run_checks

    results = run_checks(setup.run(), derivations=False, precision=prove)
    return as_json_payload(results)
