"""The ``explainer`` command: thin commands over the library.

Library code raises ``ValueError``/``FileNotFoundError``; the commands turn those into
a one-line ``error: …`` and exit code 2.
"""

from __future__ import annotations

import sys

import click

from explainer.cli.ascii_text import fit_streams
from explainer.cli.derive_cmd import derive_command
from explainer.cli.errors import InputError
from explainer.cli.generate_cmd import generate_command
from explainer.cli.render_cmd import render_command
from explainer.cli.report_cmd import report_command
from explainer.cli.trace_cmd import trace
from explainer.cli.verify_cmd import verify_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


cli.add_command(trace)
cli.add_command(verify_command)
cli.add_command(derive_command)
cli.add_command(render_command)
cli.add_command(report_command)
cli.add_command(generate_command)


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
