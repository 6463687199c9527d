"""The ``explainer`` command: thin commands over the library.

Library code raises ``ValueError``/``FileNotFoundError``; the commands turn those into
a one-line ``error: …`` and exit code 2.
"""

from __future__ import annotations

import importlib
import sys

import click

from explainer.cli.ascii_text import fit_streams
from explainer.cli.errors import InputError

COMMANDS = {
    "trace": ("explainer.cli.trace_cmd", "trace"),
    "verify": ("explainer.cli.verify_cmd", "verify_command"),
    "derive": ("explainer.cli.derive_cmd", "derive_command"),
    "render": ("explainer.cli.render_cmd", "render_command"),
    "report": ("explainer.cli.report_cmd", "report_command"),
    "generate": ("explainer.cli.generate_cmd", "generate_command"),
    "train": ("explainer.cli.train_cmd", "train_command"),
    "serve": ("explainer.cli.serve_cmd", "serve_command"),
}
"""Each command's module and function: imported only when that command runs (or
for --help), so that ``explainer report`` does not load Manim's runner or
``derive``'s SymPy proofs (about 0.4 s of a 2 s toy report)."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module), name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="explainer")
def cli() -> None:
    """Explain the Transformer (Vaswani et al. 2017): derive every formula with SymPy,
    compute every stage with NumPy, check one against the other.

    \b
    Examples:
      explainer trace --sentence "When you play game of thrones"
      explainer trace --preset seed003 --json > output/trace.json
      explainer verify
      explainer derive softmax
      explainer generate --model smollm2 --prompt "Once upon a time"
    """


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command, print any error on one line."""
    fit_streams()  # a terminal without Unicode gets ASCII
    try:
        code = cli.main(args=argv, prog_name="explainer", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except InputError as err:
        click.echo(f"error: {err.format_message()}", err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        hint = ""
        if isinstance(err, click.UsageError) and err.ctx is not None:
            hint = f" (see '{err.ctx.command_path} --help')"
        click.echo(f"error: {err.format_message()}{hint}", err=True)
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
