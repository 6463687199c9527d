"""A trace that names a pretrained model (``config.model``) must hold that model's
numbers: its config, no weights of its own (they come from the model package), and
stages as wide as the model. Checked when the trace is read, so that a toy trace
relabelled ``minilm`` is named as such instead of failing deep inside verify."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from explainer.config import ModelConfig
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
            f"{source}: config.model is {name!r} but the trace carries weights of "
            f"its own (embedding {shape or '?'}); a {name} trace holds none, so these "
            f"numbers are not {name}'s"
        )
    from explainer.models import load_model

    loaded = load_model(name)
    expected = loaded.config
    differ = [
        f"{field} {getattr(cfg, field)!r} ({name}: {getattr(expected, field)!r})"
        for field in ("architecture", "d_model", "n_heads", "d_k", "d_ff", "n_layers")
        if getattr(cfg, field) != getattr(expected, field)
    ]
    if differ:
        raise ValueError(
            f"{source}: config.model is {name!r} but the config is not {name}'s: "
            + ", ".join(differ)
        )
    for stage in stages:
        width = stage.value.shape[-1] if stage.value.ndim else None
        if stage.op in WIDE_OPS and width != expected.d_model:
            raise ValueError(
                f"{source}: config.model is {name!r} but stage {stage.name!r} is "
                f"{width} wide, not {name}'s d_model {expected.d_model}: these "
                f"numbers are not {name}'s"
            )
        if stage.op == Op.ONE_HOT and vocab is not None and width != len(vocab):
            raise ValueError(
                f"{source}: config.model is {name!r} but stage {stage.name!r} has "
                f"{width} columns, not the {len(vocab)} of {name}'s vocabulary"
            )
