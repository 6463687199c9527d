"""``explainer trace``: run the model and show or write its trace."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from explainer import trace_json
from explainer.atomic import check_writable_path, write_atomic
from explainer.backward import with_backward
from explainer.cli.errors import user_errors
from explainer.cli.lang import command_help
from explainer.cli.options import Setup, model_options
from explainer.cli.paths import refuse_overwriting_inputs
from explainer.cli.text_width import ljust
from explainer.i18n import N_, _, pgettext
from explainer.trace import Trace
from explainer.weights_line import weights_line

HELP = N_("""Run the model on a sentence and record every stage, tokens to logits.""")

EXAMPLES = """\
  explainer trace --sentence "When you play game of thrones"
  explainer trace --architecture decoder --sentence "我 爱 自然 语言"
  explainer trace --preset seed003 --json > output/trace.json
  explainer trace --out output/trace.json
  explainer trace --model minilm --sentence "The quick brown fox" --json
  explainer trace --backward --json > output/trace.json
"""


@click.command(help=command_help(HELP, EXAMPLES))
@model_options
@click.option("--json", "as_json", is_flag=True, help=N_("print the trace as JSON"))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help=N_("write the trace JSON to this file (atomically)"),
)
@click.option(
    "--backward",
    is_flag=True,
    help=N_(
        "add the backward pass: the next-token loss and every gradient "
        "(backward.* stages; toy models only)"
    ),
)
def trace(setup: Setup, as_json: bool, out: str | None, backward: bool) -> None:
    """``explainer trace`` (its --help: :data:`HELP`)."""
    with user_errors():
        if backward and setup.config.model:
            raise ValueError(
                _(
                    "--backward is for the toy models, not the pretrained {model}; "
                    "drop --backward or --model"
                ).format(model=setup.config.model)
            )
        if out:
            refuse_overwriting_inputs(out, setup.inputs())
            check_writable_path(Path(out))  # before the pass, not after
        result = setup.run()
        if backward:
            result = with_backward(result)
        warn_unknown(result)
        if out:
            write_atomic(out, trace_json.dumps(result))
            click.echo(_("wrote {path}").format(path=out), err=True)
    if as_json:
        click.echo(trace_json.dumps(result), nl=False)
    elif not out:
        click.echo(summary(result))


def warn_unknown(result: Trace) -> None:
    """Tell the user which words the vocabulary did not know."""
    parts = [p for p in (result.source, result.target) if p is not None]
    unknown = dict.fromkeys(w for p in parts for w in p.unknown)
    if unknown and result.config.model:
        words = ", ".join(repr(w) for w in unknown)
        click.echo(
            _("warning: {model}'s tokenizer reads as unknown: {words}").format(
                model=result.config.model, words=words
            ),
            err=True,
        )
    elif unknown:
        words = ", ".join(repr(w) for w in unknown)
        click.echo(
            _(
                "warning: not in the vocabulary, read as <unk>: {words} "
                "(give --corpus FILE to build the vocabulary from your own text)"
            ).format(words=words),
            err=True,
        )


def summary(result: Trace) -> str:
    """A readable table: tokens, then every stage with its op, shape and values."""
    cfg = result.config
    lines = [
        (_("{model} (pretrained) · ").format(model=cfg.model) if cfg.model else "")
        + f"{cfg.architecture} · d_model={cfg.d_model} n_heads={cfg.n_heads} "
        f"d_k={cfg.d_k} d_v={cfg.d_v} d_ff={cfg.d_ff} n_layers={cfg.n_layers} "
        f"norm={cfg.norm} activation={cfg.activation} dtype={cfg.dtype} "
        f"seed={cfg.seed}",
        _("source: ")
        + " ".join(
            f"{t}({i})"
            for t, i in zip(result.source.tokens, result.source.ids, strict=True)
        ),
    ]
    if result.target is not None:
        lines.append(
            _("target: ")
            + " ".join(
                f"{t}({i})"
                for t, i in zip(result.target.tokens, result.target.ids, strict=True)
            )
        )
    width = max(len(s.name) for s in result.stages)
    op_width = max(19, *(len(s.op) for s in result.stages))
    lines.append("")
    head = (
        ljust(_("stage"), width),
        ljust(pgettext("the operation of a stage", "op"), op_width),
        ljust(_("shape"), 14),
        _("first values"),
    )
    lines.append("  ".join(head))
    for stage in result.stages:
        shape = "×".join(str(n) for n in stage.shape)
        preview = _preview(stage.value)
        lines.append(
            f"{stage.name:<{width}}  {stage.op:<{op_width}}  {shape:<14}  {preview}"
        )
    lines.append("")
    if "backward.loss" in result:
        positions = len(result["backward.labels"])
        lines.append(
            _(
                "loss (next-token cross-entropy, mean over {n} positions): {loss}"
            ).format(n=positions, loss=f"{float(result['backward.loss']):.4f}")
        )
    if "output.embedding" in result:
        vector = result["output.embedding"]
        lines.append(
            _("sentence embedding ({n} numbers, unit length): {values}").format(
                n=vector.shape[-1], values=_preview(vector, 6)
            )
        )
        return "\n".join(lines)
    probs = result["output.probs"][-1]
    best = int(np.argmax(probs))
    if not result.weights:
        lines.append(
            _(
                "predicted next token: {token} (p = {p}; the weights are random, "
                "not trained)"
            ).format(token=repr(result.vocab[best]), p=f"{probs[best]:.4f}")
        )
        return "\n".join(lines)
    predicted = " ".join(result.vocab[i] for i in result["output.prediction"])
    lines.append(_("predicted at each position: {tokens}").format(tokens=predicted))
    lines.append(_("weights: {weights}").format(weights=weights_line(result.weights)))
    return "\n".join(lines)


def _preview(value: np.ndarray, n: int = 4) -> str:
    flat = value.reshape(-1)[:n]
    if value.dtype == bool:
        items = ["1" if v else "0" for v in flat]
    elif value.dtype.kind in "iu":
        items = [str(int(v)) for v in flat]
    else:
        items = [f"{v:.4g}" for v in flat]
    more = " …" if value.size > n else ""
    return " ".join(items) + more
