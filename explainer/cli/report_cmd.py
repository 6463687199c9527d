"""``explainer report``: the HTML derivation report of a forward pass."""

from __future__ import annotations

from pathlib import Path

import click

from explainer.atomic import check_writable_path, write_atomic
from explainer.cli.errors import user_errors
from explainer.cli.lang import command_help, lang_option
from explainer.cli.options import Setup, model_options
from explainer.cli.paths import refuse_overwriting_inputs
from explainer.cli.verify_cmd import load_or_run
from explainer.i18n import N_, _
from explainer.trace import Trace

DEFAULT_OUT = Path("output") / "report.html"


HELP = N_("""Write one self-contained HTML page that explains every stage, tokens to
logits: formula, derivation, numbers, verification, attention views, and the
videos of the same trace found in videos/ beside the page (explainer render).""")

EXAMPLES = """\
  explainer report
  explainer report --preset seed003 --out output/seed003.html
  explainer report --sentence "我爱自然语言" --architecture decoder
  explainer report --trace their_trace.json --prove
  explainer report --backward
"""


@click.command(name="report", help=command_help(HELP, EXAMPLES))
@lang_option
@model_options
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(dir_okay=False),
    help=N_("report on this trace JSON instead of running the model"),
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=str(DEFAULT_OUT),
    show_default=True,
    help=N_("where to write the page (atomically)"),
)
@click.option(
    "--prove/--no-prove",
    default=False,
    help=N_(
        "also prove every derivation step with SymPy and redo the pass at 50 digits "
        "(about 2 s more)"
    ),
)
@click.option(
    "--backward/--no-backward",
    default=False,
    help=N_(
        "add the backward pass (toy models): the loss, every gradient and their "
        "checks, and a section that follows one gradient back through an attention "
        "layer (about 1 s more)"
    ),
)
def report_command(
    setup: Setup, trace_file: str | None, out: str, prove: bool, backward: bool
) -> None:
    """``explainer report`` (its --help: :data:`HELP`)."""
    from explainer.report import find_videos, render_report
    from explainer.train.learning import learning_for
    from explainer.verify import verify

    path = Path(out)
    with user_errors():
        if backward and setup.config.model and not trace_file:
            _refuse_pretrained(setup.config.model)
        refuse_overwriting_inputs(path, setup.inputs(trace=trace_file))
        if path == DEFAULT_OUT:
            path.parent.mkdir(exist_ok=True)
        check_writable_path(path)  # before the work, not after
        trace = load_or_run(setup, trace_file)
        if backward and "backward.loss" not in trace:
            trace = with_backward_of_toy(trace)
        results = verify(trace, derivations=prove, precision=prove)
        learning = learning_for(trace, setup.weights)
        videos = find_videos(path, trace)
        html = render_report(trace, results, videos, learning)
        write_atomic(path, html)
    click.echo(str(path))


def with_backward_of_toy(trace: Trace) -> Trace:
    """``trace`` with its backward stages; a pretrained model's is refused."""
    from explainer.backward import with_backward

    if trace.config.model:
        _refuse_pretrained(trace.config.model)
    return with_backward(trace)


def _refuse_pretrained(model: str) -> None:
    raise ValueError(
        _(
            "--backward is for the toy models, not the pretrained {model}; "
            "drop --backward or --model"
        ).format(model=model)
    )
