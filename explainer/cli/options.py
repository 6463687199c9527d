"""Model and input options shared by every command that runs the model
(``trace`` now; ``verify``, ``report`` and ``render`` read the same flags)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from explainer import config as config_mod
from explainer.cli.lang import help_text
from explainer.config import ModelConfig
from explainer.i18n import N_, gettext
from explainer.presets import PRESETS, get_preset
from explainer.run import trace_sentence
from explainer.tokenizer import Tokenizer, check_text, load_corpus
from explainer.trace import Trace
from explainer.train.weights_file import Weights, load_weights, shipped_weights

# (flag, config key, click type, help)
_CONFIG_FLAGS: list[tuple[str, str, Any, str]] = [
    ("--architecture", "architecture", str, N_("encoder | decoder | encoder-decoder")),
    ("--d-model", "d_model", int, N_("width of the token vectors")),
    ("--n-heads", "n_heads", int, N_("attention heads per layer")),
    ("--d-k", "d_k", int, N_("query/key width per head (default d_model / n_heads)")),
    ("--d-v", "d_v", int, N_("value width per head (default d_model / n_heads)")),
    ("--d-ff", "d_ff", int, N_("inner width of the feed-forward network")),
    ("--n-layers", "n_layers", int, N_("layers per stack")),
    ("--max-len", "max_len", int, N_("longest sentence accepted, in tokens")),
    ("--norm", "norm", str, N_("post (the paper) | pre")),
    ("--activation", "activation", str, N_("relu (the paper) | gelu")),
    ("--eps", "eps", float, N_("LayerNorm epsilon")),
    ("--seed", "seed", int, N_("seed of the weight initialisation")),
    ("--dtype", "dtype", str, N_("float64 | float32")),
]


@dataclass(frozen=True)
class Setup:
    """What a command needs to run the model."""

    config: ModelConfig
    sentence: str
    target: str | None
    tokenizer: Tokenizer | None  # the toy model's; a pretrained model brings its own
    files: tuple[tuple[str, str], ...] = ()  # (option, path) of the files it read
    weights: Weights | None = None  # trained weights; None: drawn from the seed

    def inputs(self, **more: str | None) -> dict[str, str | None]:
        """Option → path of every file read, plus ``more`` (e.g. ``trace=…``)."""
        return dict(self.files) | {f"--{k}": v for k, v in more.items()}

    def run(self) -> Trace:
        """The forward pass of the toy model, or of the pretrained ``config.model``."""
        if self.config.model:
            from explainer.models import trace_model

            return trace_model(self.config.model, self.sentence)
        if self.weights is None:
            return trace_sentence(
                self.config, self.sentence, target=self.target, tokenizer=self.tokenizer
            )
        target = self.target
        if target is None and self.config.architecture == "encoder-decoder":
            target = self.translation()
        return trace_sentence(
            self.config,
            self.sentence,
            target=target,
            tokenizer=self.tokenizer,
            params=self.weights.params,
            weights=self.weights.describe(),
        )

    def translation(self) -> str:
        """The trained encoder-decoder's greedy translation of the sentence: the
        decoder's default input, so that the trace shows what the model says."""
        from explainer.train.greedy import translate_ids

        assert self.weights is not None and self.tokenizer is not None
        vocab = self.tokenizer.vocab
        ids = self.tokenizer.encode(self.sentence).ids
        out = translate_ids(self.config, self.weights.params, vocab, list(ids))
        return " ".join(vocab[i] for i in out)


def model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the sentence, preset, config-file and per-field flags to ``command``;
    it receives them as one ``setup`` argument (a :class:`Setup`)."""

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        from explainer.cli.errors import user_errors

        raw = {key: kwargs.pop(key) for key in _option_keys()}
        with user_errors():
            setup = build_setup(raw)
        return command(setup=setup, **kwargs)

    options = [
        click.option(
            "--sentence", "-s", help=N_("the input sentence (default: the preset's)")
        ),
        click.option(
            "--target",
            help=N_(
                "decoder input of an encoder-decoder (default: the sentence); "
                "<bos> is put in front"
            ),
        ),
        click.option(
            "--preset",
            help=help_text(
                N_("a named example: {presets} (default: default)"),
                presets=", ".join(PRESETS),
            ),
        ),
        click.option(
            "--model",
            help=help_text(
                N_(
                    "a real pretrained model, loaded offline: {models} (weights "
                    "from its pip package; the config flags do not apply)"
                ),
                models=", ".join(config_mod.MODELS),
            ),
        ),
        click.option(
            "--config",
            "config_file",
            type=click.Path(dir_okay=False),
            help=N_("a TOML file of config keys (flags override it)"),
        ),
        click.option(
            "--weights",
            "weights_file",
            type=click.Path(dir_okay=False),
            help=N_(
                "trained weights written by `explainer train` (default: the "
                "preset's, if it ships some; the config comes with them)"
            ),
        ),
        click.option(
            "--corpus",
            type=click.Path(dir_okay=False),
            help=N_(
                "a text file whose words form the vocabulary "
                "(default: the shipped corpus)"
            ),
        ),
        click.option(
            "--scale-embeddings/--no-scale-embeddings",
            default=None,
            help=N_("multiply embeddings by √d_model (paper §3.4)"),
        ),
    ]
    for flag, key, kind, text in _CONFIG_FLAGS:
        options.append(click.option(flag, key, type=kind, default=None, help=text))
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _option_keys() -> list[str]:
    keys = [
        "sentence",
        "target",
        "model",
        "preset",
        "config_file",
        "weights_file",
        "corpus",
        "scale_embeddings",
    ]
    return keys + [key for _, key, _, _ in _CONFIG_FLAGS]


def build_setup(raw: dict[str, Any]) -> Setup:
    """Preset, then config file, then flags: later ones win (or a pretrained
    ``--model``, which takes none of them)."""
    for what in ("sentence", "target"):
        if raw.get(what) is not None:
            check_text(raw[what], what)
    if raw.get("model"):
        return _model_setup(raw)
    preset = get_preset(raw["preset"] or "default")
    given = _config_options(raw)
    sentence = preset.sentence if raw["sentence"] is None else raw["sentence"]
    if raw.get("weights_file"):
        if given:
            raise ValueError(
                f"{', '.join(given)} cannot be combined with --weights: "
                "the config and vocabulary come with the weights"
            )
        weights = load_weights(raw["weights_file"])
        files = (("--weights", raw["weights_file"]),)
        return _trained(weights, sentence, raw["target"], files)
    if preset.weights and not given:
        return _trained(shipped_weights(preset.weights), sentence, raw["target"], ())
    values: dict[str, Any] = dict(preset.config)
    if raw["config_file"]:
        values.update(config_mod.load_toml(raw["config_file"]))
    for key in ["scale_embeddings"] + [key for _, key, _, _ in _CONFIG_FLAGS]:
        if raw.get(key) is not None:
            values[key] = raw[key]
    cfg = config_mod.from_dict(values)
    tokenizer = Tokenizer.from_corpus(load_corpus(raw["corpus"]))
    files = tuple(
        (flag, raw[key])
        for flag, key in (("--config", "config_file"), ("--corpus", "corpus"))
        if raw[key]
    )
    return Setup(cfg, sentence, raw["target"], tokenizer, files)


def _config_options(raw: dict[str, Any]) -> list[str]:
    """The options given that choose a config or vocabulary (trained weights
    bring their own): with any of them, a preset's shipped weights are not used."""
    given = [
        flag
        for flag, key in (
            ("--config", "config_file"),
            ("--corpus", "corpus"),
            ("--scale-embeddings", "scale_embeddings"),
        )
        if raw.get(key) is not None
    ]
    return given + [
        flag for flag, key, _, _ in _CONFIG_FLAGS if raw.get(key) is not None
    ]


def _trained(
    weights: Weights,
    sentence: str,
    target: str | None,
    files: tuple[tuple[str, str], ...],
) -> Setup:
    """A toy model with trained weights: their config and vocabulary."""
    if target is not None and weights.config.architecture != "encoder-decoder":
        raise ValueError(
            gettext(
                "a target is only read by an encoder-decoder, not by this "
                "{architecture} model; drop --target"
            ).format(architecture=weights.config.architecture)
        )
    tokenizer = Tokenizer(weights.vocab)
    return Setup(weights.config, sentence, target, tokenizer, files, weights)


def _model_setup(raw: dict[str, Any]) -> Setup:
    """A pretrained model: its own config, tokenizer and default sentence."""
    from explainer.models import get_model, load_model

    name = raw["model"]
    spec = get_model(name)
    given = [
        "--" + key.replace("_", "-")
        for key in (
            "target",
            "preset",
            "config_file",
            "weights_file",
            "corpus",
            "scale_embeddings",
        )
        if raw.get(key) is not None
    ] + [flag for flag, key, _, _ in _CONFIG_FLAGS if raw.get(key) is not None]
    if given:
        raise ValueError(
            f"{', '.join(g.replace('-file', '') for g in given)} "
            f"cannot be combined with --model {name}: its config comes with it"
        )
    cfg = load_model(name).config
    sentence = spec.example if raw["sentence"] is None else raw["sentence"]
    return Setup(cfg, sentence, None, None)
