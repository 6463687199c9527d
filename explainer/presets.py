"""Named example set-ups: a configuration and the sentence it is shown with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from explainer.i18n import _

DEFAULT_SENTENCE = "When you play game of thrones"


@dataclass(frozen=True)
class Preset:
    """A named configuration (keys of :class:`~explainer.config.ModelConfig`)."""

    name: str
    description: str
    config: dict[str, Any]
    sentence: str = DEFAULT_SENTENCE
    weights: str | None = None  # trained weights shipped in explainer/data/weights/
    task: str | None = None  # what those weights learned (explainer.train.TASKS)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "default",
            "The paper's encoder-decoder, scaled down (d_model 8, 2 heads, 2 layers), "
            "trained to translate 202 short English sentences into Chinese.",
            {},
            weights="default.safetensors",
            task="translation",
        ),
        Preset(
            "next-word",
            "A decoder-only model of the same size, trained to predict the next word "
            "of the same 202 English sentences.",
            {"architecture": "decoder"},
            weights="next-word.safetensors",
            task="next-word",
        ),
        Preset(
            "seed003",
            "The worked example of seed 003 (Fareed Khan's step-by-step maths): "
            "an encoder with d_model 5, one head of width 3, no √d_model scaling; "
            "random weights, as in the seed.",
            {
                "architecture": "encoder",
                "d_model": 5,
                "n_heads": 1,
                "d_k": 3,
                "d_v": 3,
                "d_ff": 8,
                "n_layers": 1,
                "scale_embeddings": False,
            },
        ),
        Preset(
            "paper-base",
            "The paper's base model sizes (Table 3): d_model 512, 8 heads, "
            "d_ff 2048, 6 layers; random weights.",
            {
                "d_model": 512,
                "n_heads": 8,
                "d_ff": 2048,
                "n_layers": 6,
                "max_len": 512,
            },
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a ValueError lists the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            _("unknown preset {name}; valid presets: {presets}").format(
                name=repr(name), presets=", ".join(PRESETS)
            )
        ) from None
