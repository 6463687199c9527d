"""The ``explainer`` command: thin commands over the library.

Library code raises ``ValueError``/``FileNotFoundError``; the commands turn those into
a one-line ``error: …`` and exit code 2.
"""

from __future__ import annotations

import importlib
import sys

import click

from explainer import i18n
from explainer.cli.ascii_text import fit_streams
from explainer.cli.errors import InputError, error_line
from explainer.cli.help_width import WideContext
from explainer.cli.lang import (
    command_help,
    in_language,
    lang_from_argv,
    lang_option,
)
from explainer.i18n import N_, _

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
    context_class = WideContext  # --help wrapped by terminal columns (Chinese: 2)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, name = COMMANDS[cmd_name]
        command = in_language(getattr(importlib.import_module(module), name))
        command.context_class = WideContext
        return command


HELP = N_("""Explain the Transformer (Vaswani et al. 2017): derive every formula with
SymPy, compute every stage with NumPy, check one against the other.""")

EXAMPLES = """\
  explainer trace --sentence "When you play game of thrones"
  explainer trace --preset seed003 --json > output/trace.json
  explainer verify
  explainer derive softmax
  explainer generate --model smollm2 --prompt "Once upon a time"
  explainer --lang zh report
"""


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=command_help(HELP, EXAMPLES),
)
@click.version_option(package_name="explainer")
@lang_option
def cli() -> None:
    """The ``explainer`` command (its --help: :data:`HELP`)."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the command in the chosen language (``--lang``,
    ``EXPLAINER_LANG``, the locale), print any error on one line."""
    fit_streams()  # a terminal without Unicode gets ASCII
    args = sys.argv[1:] if argv is None else argv
    before = i18n.current()
    try:
        i18n.set_language(i18n.choose(lang_from_argv(args)))
    except ValueError as err:
        click.echo(error_line(str(err)), err=True)
        sys.exit(2)
    in_language(cli)
    try:
        _run(argv)
    finally:
        i18n.set_language(before)  # main() called in a test leaves no trace


def _run(argv: list[str] | None) -> None:
    try:
        code = cli.main(args=argv, prog_name="explainer", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo(error_line(_("aborted")), err=True)
        sys.exit(130)
    except InputError as err:
        click.echo(error_line(err.format_message()), err=True)
        sys.exit(err.exit_code)
    except click.ClickException as err:
        hint = ""
        if isinstance(err, click.UsageError) and err.ctx is not None:
            hint = _(" (see '{command} --help')").format(command=err.ctx.command_path)
        click.echo(error_line(err.format_message() + hint), err=True)
        sys.exit(2)
    except BrokenPipeError:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
