"""``explainer generate``: continue a prompt with a pretrained decoder, or
translate / continue with a trained toy model (``--preset``, ``--weights``),
printing each token as it comes."""

from __future__ import annotations

import click

from explainer.cli.errors import user_errors
from explainer.cli.lang import command_help
from explainer.i18n import N_, _
from explainer.tokenizer import check_text

HELP = N_("""Continue PROMPT (or translate SENTENCE) token by token with the NumPy
forward pass.""")

EXAMPLES = """\
  explainer generate --preset default --sentence "you win or you die"
  explainer generate --preset next-word --prompt "when you"
  explainer generate --prompt "Once upon a time" --max-new-tokens 12
  explainer generate -p "The capital of France is" --temperature 0.8 \\
      --top-p 0.9 --seed 1
"""


@click.command("generate", help=command_help(HELP, EXAMPLES))
@click.option(
    "--model",
    help=N_(
        "a pretrained decoder model (default: smollm2, unless a toy "
        "model is chosen with --preset or --weights)"
    ),
)
@click.option(
    "--preset",
    help=N_(
        "a trained toy model: default (translates --sentence into Chinese) or "
        "next-word (continues --prompt)"
    ),
)
@click.option(
    "--weights",
    "weights_file",
    type=click.Path(dir_okay=False),
    help=N_("a toy model's weights written by `explainer train`"),
)
@click.option(
    "--sentence", "-s", help=N_("the sentence a toy encoder-decoder translates")
)
@click.option("--prompt", "-p", help=N_("the text to continue"))
@click.option(
    "--max-new-tokens", default=12, show_default=True, type=click.IntRange(min=0)
)
@click.option(
    "--temperature",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help=N_("0 picks the most probable token (greedy); above 0 samples"),
)
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    help=N_("sample among the k most probable tokens"),
)
@click.option(
    "--top-p",
    type=click.FloatRange(min=0, max=1, min_open=True),
    help=N_("sample among the smallest set with mass p"),
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help=N_("seed of the sampler (same seed, same text)"),
)
@click.option(
    "--kv-cache/--no-kv-cache",
    default=True,
    show_default=True,
    help=N_(
        "run only the newest token each step, reusing the earlier keys and values "
        "(--no-kv-cache reruns the whole text: slower, the same tokens)"
    ),
)
def generate_command(
    model: str | None,
    preset: str | None,
    weights_file: str | None,
    sentence: str | None,
    prompt: str | None,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    seed: int | None,
    kv_cache: bool,
) -> None:
    """``explainer generate`` (its --help: :data:`HELP`)."""
    from explainer.models import load_model
    from explainer.models.generate import Sampling, generate

    with user_errors():
        for text, what in ((prompt, "prompt"), (sentence, "sentence")):
            if text is not None:
                check_text(text, what)
        if preset or weights_file:
            if model:
                raise ValueError(
                    _("--model cannot be combined with --preset or --weights")
                )
            from explainer.cli.generate_toy import generate_toy, toy_weights

            toy = toy_weights(preset, weights_file)
            generate_toy(toy, sentence, prompt, max_new_tokens)
            return
        model = model or "smollm2"
        if sentence is not None:
            raise ValueError(
                _(
                    "--sentence is read by a toy encoder-decoder (--preset default); "
                    "{model} continues a --prompt"
                ).format(model=model)
            )
        if prompt is None:
            raise ValueError(_('give --prompt (e.g. --prompt "Once upon a time")'))
        try:
            sampling = Sampling(temperature, top_k, top_p, seed)
        except ValueError as err:  # name the option, not the field
            raise ValueError(f"--{err}") from None
        loaded = load_model(model)
        if loaded.config.architecture != "decoder":
            raise ValueError(
                _(
                    "{model} is an {architecture}: it does not generate text; "
                    "use --model smollm2"
                ).format(model=model, architecture=loaded.config.architecture)
            )
        tokenizer = loaded.tokenizer.tokenizer
        ids = loaded.tokenizer.encode(prompt).ids
        if not ids:
            raise ValueError(
                _("the prompt gives no tokens; give some text with --prompt")
            )
        if len(ids) > loaded.config.max_len:
            raise ValueError(
                _(
                    "the prompt has {n} tokens but {model} reads at most {most}; "
                    "shorten it"
                ).format(n=len(ids), model=model, most=loaded.config.max_len)
            )
        click.echo(prompt, nl=False)
        new: list[int] = []
        shown = ""
        stop = loaded.spec.end_of_text()
        tokens = generate(
            loaded, list(ids), max_new_tokens, sampling, stop, use_cache=kv_cache
        )
        for token in tokens:
            new.append(token)
            text = tokenizer.decode(new, skip_special_tokens=True)
            if not text.endswith("\ufffd"):  # wait for a character's last byte
                click.echo(text[len(shown) :], nl=False)
                shown = text
        click.echo(tokenizer.decode(new, skip_special_tokens=True)[len(shown) :])
