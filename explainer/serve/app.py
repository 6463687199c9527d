"""The live explorer's ASGI application (Starlette).

:func:`create_app` loads what every request shares before the first one comes:
the default preset's report (the first page), every derivation's and op's
MathML, the compiled templates and the pretrained models installed. From then
on a request writes no file: the caches are filled at start-up, not per request.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from explainer.serve import api
from explainer.serve.errors import ApiError
from explainer.serve.models import Models
from explainer.serve.page import CSP, page, render_page


def create_app(hosts: Sequence[str] | None = None) -> Starlette:
    """The application; ``hosts``: the Host headers it answers (None: any), so
    that a web page elsewhere cannot reach a loopback server by DNS rebinding."""
    routes = [
        Route("/", page, methods=["GET"]),
        Route("/api/trace", api.trace, methods=["POST"]),
        Route("/api/verify", api.verify, methods=["POST"]),
        Route("/api/report", api.report, methods=["POST"]),
        Route("/api/generate", api.generate, methods=["POST"]),
    ]
    middleware = [Middleware(Headers)]
    if hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts)))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.models = Models()
    app.state.page = _first_page()
    _load_pretrained()
    return app


def _load_pretrained() -> None:
    """Load every pretrained model installed, once, before the first request (a
    first load may write a converted copy of the weights to the cache folder; a
    request writes nothing). A model not installed is left out: its requests
    answer 503 naming the pip line that installs it."""
    from explainer.config import MODELS
    from explainer.models import load_model

    for name in MODELS:
        try:
            load_model(name)
        except FileNotFoundError:
            pass


def _first_page() -> str:
    """The live page around the default preset's report; building it fills the
    report's caches (templates, every derivation's MathML) before any request."""
    from types import SimpleNamespace

    from explainer.cli.options import _option_keys, build_setup
    from explainer.report.build import render_report
    from explainer.report.derivations import derivation_view
    from explainer.report.formulas import op_formulas
    from explainer.symbolic import list_derivations
    from explainer.train.learning import learning_for
    from explainer.verify import verify
    from explainer.verify.formulas import FORMULAS

    # Every derivation's and every op's MathML (the pretrained models' too), so
    # that no request writes the report's cache.
    for name in list_derivations():
        derivation_view(name)
    op_formulas([SimpleNamespace(name=str(op), op=op) for op in FORMULAS])
    setup = build_setup(dict.fromkeys(_option_keys()))
    trace = setup.run()
    checks = verify(trace, derivations=False, precision=False)
    learning = learning_for(trace, setup.weights)  # "Watch it learn"
    report = render_report(trace, checks, (), learning)
    return render_page(setup.sentence, report)


class Headers:
    """Every response: the page's Content-Security-Policy, no MIME sniffing, no
    referrer (pure ASGI, so that streamed responses pass through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = {404: f"no such page: {request.url.path}", 405: "method not allowed"}
    text = message.get(exc.status_code, str(exc.detail))
    return JSONResponse({"error": text}, status_code=exc.status_code)


async def _server_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the server's log (uvicorn's), never to the client.
    return JSONResponse(
        {"error": f"internal error ({type(exc).__name__}); see the server's log"},
        status_code=500,
    )
