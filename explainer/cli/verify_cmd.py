"""``explainer verify``: the formulas against the numbers, as a table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from explainer import trace_json
from explainer.cli.errors import user_errors
from explainer.cli.options import Setup, model_options
from explainer.cli.trace_cmd import warn_unknown
from explainer.trace import Trace
from explainer.verify import CheckResult, summary_line, verify


@click.command(name="verify")
@model_options
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(dir_okay=False),
    help="verify this trace JSON (written by `explainer trace` or another program)",
)
@click.option("--json", "as_json", is_flag=True, help="print the results as JSON")
@click.option("--failures", is_flag=True, help="list only the checks that failed")
def verify_command(
    setup: Setup, trace_file: str | None, as_json: bool, failures: bool
) -> None:
    """Check every formula against the numbers of a forward pass.

    Each formula's SymPy definition is turned into a function and evaluated on the
    inputs the trace recorded, for every stage, layer and head; the identities the
    derivations prove are checked on the same numbers; the whole pass is redone at
    50 significant digits; and every derivation step is proved by SymPy (once per
    version of the source: a full success is remembered in ~/.cache/explainer;
    EXPLAINER_NO_CACHE=1 proves anew). Exit code 1 if any check fails, 2 if the
    input is bad.

    \b
    Examples:
      explainer verify
      explainer verify --preset seed003 --json
      explainer verify --trace someone_elses_trace.json
    """
    with user_errors():
        trace = load_or_run(setup, trace_file)
        results = verify(trace)
    if as_json:
        payload = {
            "summary": summary_line(results),
            "ok": all(r.ok for r in results),
            "results": [r.to_dict() for r in results],
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=1))
    else:
        shown = [r for r in results if not r.ok] if failures else results
        click.echo(table(shown))
        click.echo(summary_line(results))
    sys.exit(0 if all(r.ok for r in results) else 1)


def load_or_run(setup: Setup, trace_file: str | None) -> Trace:
    """The trace in ``trace_file``, or a fresh forward pass of ``setup``."""
    if trace_file:
        path = Path(trace_file)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FileNotFoundError(
                f"trace file {trace_file!r} does not exist"
            ) from None
        except UnicodeDecodeError:
            raise ValueError(f"trace file {trace_file!r} is not UTF-8 text") from None
        return trace_json.loads(text, source=trace_file)
    trace = setup.run()
    warn_unknown(trace)
    return trace


def table(results: list[CheckResult]) -> str:
    """check · formula · where · max abs error · tolerance · status."""
    header = ("check", "formula", "where", "max abs err", "tolerance", "status")
    rows = [
        (
            r.check,
            r.formula,
            r.where,
            f"{r.max_abs_err:.2e}"
            if r.check not in ("derivation", "tokens", "structure")
            else "—",
            f"{r.tol:.0e}" if r.tol else "exact",
            r.status + (f"  {r.detail}" if r.detail and not r.ok else ""),
        )
        for r in results
    ]
    # max() of a list: with no rows (--failures when all passed) only the header.
    widths = [
        max([len(h), *(len(row[c]) for row in rows)]) for c, h in enumerate(header)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("─" * w for w in widths))
    for row in rows:
        lines.append("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines)
