"""``explainer serve``: the live explorer on a local web server."""

from __future__ import annotations

import click

from explainer.cli.errors import user_errors
from explainer.cli.lang import command_help, lang_option
from explainer.i18n import N_

LIMIT_CONNECTIONS = 200
"""Connections served at once (the load test makes 50)."""


HELP = N_("""Serve the live explorer: type a sentence, pick a model, see the report of
its pass; and a JSON API (trace, verify, report, generate; see README.md).""")

EXAMPLES = """\
  explainer serve
  explainer serve --port 8080
"""


@click.command("serve", help=command_help(HELP, EXAMPLES))
@lang_option
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help=N_("the address to listen on (127.0.0.1: this computer only)"),
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help=N_("the port to listen on (0: any free port)"),
)
def serve_command(host: str, port: int) -> None:
    """``explainer serve`` (its --help: :data:`HELP`)."""
    import socket

    import uvicorn

    from explainer.serve.app import create_app

    with user_errors():
        try:  # bind first: a port in use is a one-line error, before the models load
            sock = socket.create_server((host, port))
        except OSError as err:
            raise ValueError(
                f"cannot listen on {host}:{port} ({err.strerror}); "
                "give another --port or --host"
            ) from None
    with sock:
        click.echo("loading the models and the first report…", err=True)
        hosts = None if host in ("0.0.0.0", "::") else [host, "localhost", "127.0.0.1"]
        app = create_app(hosts=hosts)
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"explainer serve: http://{shown}:{bound}/ (Ctrl+C stops it)")
        # Beyond LIMIT_CONNECTIONS open at once, uvicorn answers 503 at once.
        config = uvicorn.Config(
            app, log_level="warning", limit_concurrency=LIMIT_CONNECTIONS
        )
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except KeyboardInterrupt:  # uvicorn has shut down, then raised it again
            pass
    click.echo("explainer serve: stopped", err=True)
