"""A trace that names a pretrained model (``config.model``) must hold that model's
numbers: its config, no weights of its own (they come from the model package), and
stages as wide as the model. Checked when the trace is read, so that a toy trace
relabelled ``minilm`` is named as such instead of failing deep inside verify."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from explainer.config import ModelConfig
from explainer.i18n import _
from explainer.trace import Op, Stage

WIDE_OPS = {Op.EMBEDDING, Op.LAYER_NORM, Op.RMS_NORM, Op.CONCAT_HEADS}  # d_model


def check_model_trace(
    cfg: ModelConfig,
    params: Mapping[str, Any],
    stages: Sequence[Stage],
    vocab: Sequence[str] | None,
    source: str,
) -> None:
    """Raise ValueError, naming the model and the first mismatch, if a trace whose
    ``config.model`` is set does not hold that model's numbers."""
    if not cfg.model:
        return
    name = cfg.model
    if params:
        shape = "×".join(str(n) for n in getattr(params.get("embedding"), "shape", ()))
        raise ValueError(
            _(
                "{source}: config.model is {model} but the trace carries weights of "
                "its own (embedding {shape}); a {name} trace holds none, so these "
                "numbers are not {name}'s"
            ).format(source=source, model=repr(name), shape=shape or "?", name=name)
        )
    from explainer.models import load_model

    loaded = load_model(name)
    expected = loaded.config
    differ = [
        _("{field} {value} ({name}: {expected})").format(
            field=field,
            value=repr(getattr(cfg, field)),
            name=name,
            expected=repr(getattr(expected, field)),
        )
        for field in ("architecture", "d_model", "n_heads", "d_k", "d_ff", "n_layers")
        if getattr(cfg, field) != getattr(expected, field)
    ]
    if differ:
        raise ValueError(
            _(
                "{source}: config.model is {model} but the config is not {name}'s: "
                "{differ}"
            ).format(
                source=source, model=repr(name), name=name, differ=", ".join(differ)
            )
        )
    for stage in stages:
        width = stage.value.shape[-1] if stage.value.ndim else None
        if stage.op in WIDE_OPS and width != expected.d_model:
            raise ValueError(
                _(
                    "{source}: config.model is {model} but stage {stage} is "
                    "{width} wide, not {name}'s d_model {d_model}: these "
                    "numbers are not {name}'s"
                ).format(
                    source=source,
                    model=repr(name),
                    stage=repr(stage.name),
                    width=width,
                    name=name,
                    d_model=expected.d_model,
                )
            )
        if stage.op == Op.ONE_HOT and vocab is not None and width != len(vocab):
            raise ValueError(
                _(
                    "{source}: config.model is {model} but stage {stage} has "
                    "{width} columns, not the {n} of {name}'s vocabulary"
                ).format(
                    source=source,
                    model=repr(name),
                    stage=repr(stage.name),
                    width=width,
                    n=len(vocab),
                    name=name,
                )
            )
