"""``explainer derive``: a derivation, step by step, in the terminal."""

from __future__ import annotations

import click

from explainer.cli.errors import user_errors
from explainer.symbolic import get_derivation, list_derivations
from explainer.symbolic.derivation import tally_text


@click.command(name="derive")
@click.argument("name", required=False)
@click.option("--list", "list_names", is_flag=True, help="list the derivations")
@click.option("--latex", is_flag=True, help="print LaTeX instead of Unicode")
@click.option("--check/--no-check", default=True, help="prove every step (default)")
def derive_command(
    name: str | None, list_names: bool, latex: bool, check: bool
) -> None:
    """Print the derivation NAME with the justification of every step.

    \b
    Examples:
      explainer derive --list
      explainer derive softmax
      explainer derive positional-encoding --latex
    """
    if list_names or not name:
        total: dict[str, int] = {}
        for item in list_derivations():
            derivation = get_derivation(item)
            counts = derivation.tally()
            for label, count in counts.items():
                total[label] = total.get(label, 0) + count
            steps = f"{len(derivation.steps)} steps: {tally_text(counts, zeros=False)}"
            click.echo(f"{item:<30} {derivation.title}  ({steps})")
        click.echo(f"\n{sum(total.values())} steps: {tally_text(total)}", err=True)
        return
    with user_errors():
        derivation = get_derivation(name)
    click.echo(derivation.to_latex() if latex else derivation.to_pretty())
    counts = tally_text(derivation.tally())
    if check:
        results = derivation.check()
        held = sum(r.ok for r in results)
        click.echo(f"\n{held} of {len(results)} steps hold: {counts}", err=True)
    else:
        click.echo(f"\n{len(derivation.steps)} steps (not checked): {counts}", err=True)
