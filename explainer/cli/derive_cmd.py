"""``explainer derive``: a derivation, step by step, in the terminal."""

from __future__ import annotations

import click

from explainer.cli.errors import user_errors
from explainer.cli.lang import command_help, lang_option
from explainer.i18n import N_, _
from explainer.symbolic import get_derivation, list_derivations
from explainer.symbolic.derivation import tally_text

HELP = N_("""Print the derivation NAME with the justification of every step.""")

EXAMPLES = """\
  explainer derive --list
  explainer derive softmax
  explainer derive positional-encoding --latex
"""


@click.command(name="derive", help=command_help(HELP, EXAMPLES))
@lang_option
@click.argument("name", required=False)
@click.option("--list", "list_names", is_flag=True, help=N_("list the derivations"))
@click.option("--latex", is_flag=True, help=N_("print LaTeX instead of Unicode"))
@click.option("--check/--no-check", default=True, help=N_("prove every step (default)"))
def derive_command(
    name: str | None, list_names: bool, latex: bool, check: bool
) -> None:
    """``explainer derive`` (its --help: :data:`HELP`)."""
    if list_names or not name:
        total: dict[str, int] = {}
        for item in list_derivations():
            derivation = get_derivation(item)
            counts = derivation.tally()
            for label, count in counts.items():
                total[label] = total.get(label, 0) + count
            steps = _("{n} steps: {tally}").format(
                n=len(derivation.steps), tally=tally_text(counts, zeros=False)
            )
            click.echo(f"{item:<30} {_(derivation.title)}  ({steps})")
        steps = _("{n} steps: {tally}").format(
            n=sum(total.values()), tally=tally_text(total)
        )
        click.echo(f"\n{steps}", err=True)
        return
    with user_errors():
        derivation = get_derivation(name)
    click.echo(derivation.to_latex() if latex else derivation.to_pretty())
    counts = tally_text(derivation.tally())
    if check:
        results = derivation.check()
        held = sum(r.ok for r in results)
        line = _("{held} of {n} steps hold: {tally}").format(
            held=held, n=len(results), tally=counts
        )
        click.echo(f"\n{line}", err=True)
    else:
        line = _("{n} steps (not checked): {tally}").format(
            n=len(derivation.steps), tally=counts
        )
        click.echo(f"\n{line}", err=True)
