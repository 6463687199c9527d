"""``explainer generate`` with a trained toy model: an encoder-decoder translates
``--sentence`` token by token; a decoder-only model continues ``--prompt``."""

from __future__ import annotations

import click

from explainer.i18n import _
from explainer.presets import get_preset
from explainer.tokenizer import Tokenizer
from explainer.train.greedy import continue_ids, translate_ids
from explainer.train.weights_file import Weights, load_weights, shipped_weights


def toy_weights(preset: str | None, weights_file: str | None) -> Weights:
    """The weights of ``--weights``, or the trained weights ``--preset`` ships."""
    if weights_file:
        return load_weights(weights_file)
    spec = get_preset(preset or "default")
    if spec.weights is None:
        raise ValueError(
            _(
                "preset {preset} has random weights: it would generate noise; "
                "use --preset default or --preset next-word, or --weights FILE"
            ).format(preset=repr(spec.name))
        )
    return shipped_weights(spec.weights)


def generate_toy(
    weights: Weights, sentence: str | None, prompt: str | None, max_new_tokens: int
) -> None:
    """Print the greedy output token by token (the words are separated by spaces)."""
    cfg, vocab = weights.config, weights.vocab
    tokenizer = Tokenizer(vocab)
    if cfg.architecture == "encoder-decoder":
        if not sentence:
            raise ValueError(
                _(
                    "an encoder-decoder translates a sentence: give --sentence "
                    '(e.g. --sentence "you win or you die")'
                )
            )
        source = tokenizer.encode(sentence)
        _warn_unknown(source.unknown)
        click.echo(f"{sentence} →", nl=False)
        tokens = translate_ids(cfg, weights.params, vocab, list(source.ids))
    elif cfg.architecture == "decoder":
        if not prompt:
            raise ValueError(
                _(
                    "a decoder continues a prompt: give --prompt "
                    '(e.g. --prompt "when you")'
                )
            )
        start = tokenizer.encode(prompt)
        _warn_unknown(start.unknown)
        click.echo(" ".join(start.tokens), nl=False)
        tokens = continue_ids(cfg, weights.params, vocab, list(start.ids))
    else:
        raise ValueError(
            _("an {architecture} does not generate text").format(
                architecture=cfg.architecture
            )
        )
    for count, token in enumerate(tokens):
        if count == max_new_tokens:
            break
        click.echo(f" {vocab[token]}", nl=False)
    click.echo()


def _warn_unknown(words: tuple[str, ...]) -> None:
    if words:
        listed = ", ".join(repr(w) for w in dict.fromkeys(words))
        click.echo(
            _("warning: not in the vocabulary, read as <unk>: {words}").format(
                words=listed
            ),
            err=True,
        )
