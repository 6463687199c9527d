"""``explainer verify``: the formulas against the numbers: a summary, every
failure diagnosed, or (``--all``) every check as a table."""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

import click

from explainer import trace_json
from explainer.cli.errors import InputError, user_errors
from explainer.cli.lang import command_help, lang_option
from explainer.cli.options import Setup, model_options
from explainer.cli.text_width import cells, ljust, rjust
from explainer.cli.trace_cmd import warn_unknown
from explainer.i18n import N_, _, pgettext
from explainer.step_labels import tally_text
from explainer.text_file import read_text
from explainer.trace import Trace
from explainer.verify import CheckResult, summary_line, verify
from explainer.verify.derivations import step_counts
from explainer.verify.structure import StructureError
from explainer.wording import kind_name, shown


class _JsonErrors(click.Command):
    """With ``--json``, an error (exit code 2) is printed as JSON on stdout too,
    ``{"ok": false, "error": "…"}``, whether it is a bad option or a bad trace;
    the one-line ``error: …`` still goes to stderr."""

    def make_context(self, info_name, args, parent=None, **extra):
        wants_json = "--json" in args
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as err:
            if wants_json:
                _echo_error(err)
            raise

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            if ctx.params.get("as_json"):
                _echo_error(err)
            raise


def _echo_error(err: click.ClickException) -> None:
    payload = {"ok": False, "error": err.format_message().splitlines()[0]}
    problems = getattr(err, "problems", None)
    if problems:
        payload["problems"] = problems
    _echo(json.dumps(payload, ensure_ascii=False, indent=1))


class StructureProblems(InputError):
    """Every structural problem of a trace, one a line (exit code 2)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        head = _("{n} problems in the trace:").format(n=len(problems))
        super().__init__("\n".join([head, *(f"  - {p}" for p in problems)]))


HELP = N_("""Check every formula against the numbers of a forward pass.

Each formula's SymPy definition is turned into a function and evaluated on the
inputs the trace recorded, for every stage, layer and head; the text is
tokenized again and compared with the recorded tokens and ids; the identities
the derivations prove are checked on the same numbers; the whole pass is
redone at 50 significant digits; and every derivation step is proved by SymPy
(once per version of the source: a full success is remembered in
~/.cache/explainer; EXPLAINER_NO_CACHE=1 proves anew).

Prints how many checks of each kind passed and every failure: where the stage
is most wrong (head, row, column and their tokens), the formula's value and
the trace's, and the slip it looks like when a known one matches. --all prints
every check. Exit code 1 if any check fails, 2 if the input is bad.""")

EXAMPLES = """\
  explainer verify
  explainer verify --all
  explainer verify --preset seed003 --json
  explainer verify --trace someone_elses_trace.json
"""


@click.command(name="verify", cls=_JsonErrors, help=command_help(HELP, EXAMPLES))
@lang_option
@model_options
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(dir_okay=False),
    help=N_("verify this trace JSON (written by `explainer trace` or another program)"),
)
@click.option(
    "--json", "as_json", is_flag=True, help=N_("print the results as JSON (errors too)")
)
@click.option(
    "--all", "show_all", is_flag=True, help=N_("print every check, one a row")
)
@click.option("--failures", is_flag=True, help=N_("print only the checks that failed"))
def verify_command(
    setup: Setup, trace_file: str | None, as_json: bool, show_all: bool, failures: bool
) -> None:
    """``explainer verify`` (its --help: :data:`HELP`)."""
    with user_errors():
        trace = load_or_run(setup, trace_file)
        try:
            results = verify(trace)
        except StructureError as err:
            if len(err.problems) == 1:
                raise
            raise StructureProblems(err.problems) from None
    if as_json:
        _echo(json.dumps(as_json_payload(results), ensure_ascii=False, indent=1))
    elif show_all or failures:
        _echo(table([r for r in results if not r.ok] if failures else results))
        _echo(summary_text(results))
    else:
        _echo(summary(results))
    sys.exit(0 if all(r.ok for r in results) else 1)


def _echo(text: str) -> None:
    """Print; when the reader has gone (``verify | head``), stop quietly with the
    exit code of a broken pipe (128 + SIGPIPE), not that of a failed check."""
    try:
        click.echo(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # nothing left to flush at exit
        sys.exit(128 + signal.SIGPIPE)


STATUSES = (N_("ok"), N_("FAIL"), N_("skip"))
"""A check's ``status``, translated where the table shows it."""

TRACE_LIMIT = 1 << 30
"""Largest trace file read (1 GiB): a 5-token SmolLM2 trace is about 15 MB, and
``--trace /dev/zero`` must not fill the memory."""


def load_or_run(setup: Setup, trace_file: str | None) -> Trace:
    """The trace in ``trace_file``, or a fresh forward pass of ``setup``."""
    if trace_file:
        text = read_text(trace_file, "trace file", TRACE_LIMIT)
        return trace_json.loads(text, source=trace_file)
    trace = setup.run()
    warn_unknown(trace)
    return trace


def as_json_payload(results: list[CheckResult]) -> dict[str, Any]:
    """What ``--json`` prints (and ``explainer serve``'s ``/api/verify`` answers):
    the summary line, whether all passed, the counts per kind, every check."""
    return {
        "summary": summary_line(results),
        "ok": all(r.ok for r in results),
        "total": len(results),
        "counts": counts(results),
        "results": [r.to_dict() for r in results],
    }


def counts(results: list[CheckResult]) -> dict[str, dict[str, int]]:
    """Per kind of check (in the order verify runs them): checks, passed, failed,
    skipped."""
    out: dict[str, dict[str, int]] = {}
    for r in results:
        row = out.setdefault(
            r.check, {"checks": 0, "passed": 0, "failed": 0, "skipped": 0}
        )
        row["checks"] += 1
        row["skipped" if r.skipped else "passed" if r.ok else "failed"] += 1
    return out


def summary_text(results: list[CheckResult]) -> str:
    """:func:`summary_line` in the language in use: ``N passed, M failed``."""
    passed = sum(r.ok and not r.skipped for r in results)
    failed = sum(not r.ok and not r.skipped for r in results)
    skipped = sum(r.skipped for r in results)
    line = _("{passed} passed, {failed} failed").format(passed=passed, failed=failed)
    return line + (_(", {n} skipped").format(n=skipped) if skipped else "")


def summary(results: list[CheckResult]) -> str:
    """The checks counted per kind, the derivations' steps per label, then every
    failure with its diagnosis."""
    keys = ("checks", "passed", "failed", "skipped")
    header = (_("check"), _("checks"), _("passed"), _("failed"), _("skipped"))
    rows = [
        (kind_name(kind), *(str(n[k]) for k in keys))
        for kind, n in counts(results).items()
    ]
    total = (
        _("total"),
        str(len(results)),
        *(str(sum(int(r[c]) for r in rows)) for c in (2, 3, 4)),
    )
    lines = _columns(header, [*rows, total], numeric=True)
    proved = [r.formula for r in results if r.check == "derivation" and not r.skipped]
    if proved:
        steps = step_counts(proved)
        title = _("Derivation steps ({n})").format(n=sum(steps.values()))
        lines += ["", f"{title}: {tally_text(steps)}"]
    bad = [r for r in results if not r.ok and not r.skipped]
    if bad:
        lines += ["", _("Failures ({n}):").format(n=len(bad))]
        for r in bad:
            lines += failure_lines(r)
    skipped = [r for r in results if r.skipped]
    if skipped:
        why = dict.fromkeys(f"{kind_name(r.check)}: {shown(r.detail)}" for r in skipped)
        lines += ["", _("Skipped: {why}").format(why="; ".join(why))]
    lines.append(summary_text(results))
    return "\n".join(lines)


def failure_lines(r: CheckResult) -> list[str]:
    """A failing check: what, where, by how much, where it is worst, and a hint."""
    lines = [f"{_('FAIL')} {kind_name(r.check)} {shown(r.formula)}: {shown(r.where)}"]
    if r.differ is not None:
        lines.append(
            "     "
            + _("{differ} of {entries} entries differ").format(
                differ=r.differ, entries=r.entries
            )
        )
    elif r.check in ("formula", "identity", "precision") and r.tol:
        what = _("max |formula − trace|") if r.check == "formula" else _("error")
        over = _("{error} > tolerance {tol}").format(
            error=f"{r.max_abs_err:.3g}", tol=f"{r.tol:.2g}"
        )
        lines.append(f"     {what} {over}")
    if r.detail and not (r.differ is not None and r.detail.endswith("entries differ")):
        lines.append(f"     {shown(r.detail)}")
    if r.cell:
        values = ""
        if r.expected is not None or r.actual is not None:
            values = ": " + _values(r)
        lines.append("     " + _("worst at {cell}").format(cell=shown(r.cell)) + values)
    if r.hint:
        lines.append(f"     {shown(r.hint)}")
    return lines


def _values(r: CheckResult) -> str:
    return _("formula {expected}, trace {actual}").format(
        expected=_value(r.expected), actual=_value(r.actual)
    )


def _value(v: float | None) -> str:
    if v is None:
        return "—"
    return "−∞" if v == float("-inf") else "∞" if v == float("inf") else f"{v:.6g}"


def table(results: list[CheckResult]) -> str:
    """check · formula · where · max abs error · tolerance · differ · status; a
    failing row's status says why, where it is worst and what it looks like."""
    header = (
        _("check"), _("formula"), pgettext("the stage of a check", "where"),
        _("max abs err"), _("tolerance"),
        _("differ"), _("status"),
    )  # fmt: skip
    rows = [
        (
            kind_name(r.check),
            shown(r.formula),
            shown(r.where),
            f"{r.max_abs_err:.2e}"
            if r.tol and r.check not in ("derivation", "tokens", "structure")
            else "—",
            f"{r.tol:.0e}" if r.tol else _("exact"),
            "" if r.differ is None else f"{r.differ}/{r.entries}",
            _(r.status) + _why(r),
        )
        for r in results
    ]
    return "\n".join(_columns(header, rows))


def _why(r: CheckResult) -> str:
    if r.ok:
        return ""
    parts = [shown(r.detail)] if r.detail else []
    if r.cell:
        parts.append(
            _("worst at {cell}").format(cell=shown(r.cell)) + ": " + _values(r)
        )
    if r.hint:
        parts.append(shown(r.hint))
    return "  " + "; ".join(parts) if parts else ""


def _columns(
    header: tuple[str, ...], rows: list[tuple[str, ...]], numeric: bool = False
) -> list[str]:
    """Rows in aligned columns under a ruled header (numbers right-aligned)."""
    # max() of a list: with no rows (--failures when all passed) only the header.
    widths = [
        max([cells(h), *(cells(row[c]) for row in rows)]) for c, h in enumerate(header)
    ]

    def fit(values: tuple[str, ...]) -> str:
        out = [
            rjust(v, w) if numeric and c else ljust(v, w)
            for c, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    lines = [fit(header), "  ".join("─" * w for w in widths)]
    return lines + [fit(row) for row in rows]
