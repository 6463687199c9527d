"""Is a trace complete? The stages, shapes and parameters its config implies.

A trace written by another program is read against the layout that this config
implies (the stage list of :func:`explainer.forward.forward`; only names, ops,
inputs and shapes are used, never its numbers), so that a missing or misshapen
stage gets a message naming it instead of a wrong verdict.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from explainer.config import ModelConfig
from explainer.forward import forward
from explainer.params import param_shapes
from explainer.trace import Op, Stage, Trace
from explainer.verify.result import CheckResult


def check_structure(trace: Trace) -> tuple[Stage, ...]:
    """Raise ValueError naming the first thing that is missing or misshapen;
    return the layout (the stages the config implies, with their inputs)."""
    cfg = trace.config
    vocab = len(trace.vocab)
    for name, shape in _expected_params(cfg, vocab).items():
        if name not in trace.params:
            raise ValueError(f"parameter {name!r} is missing (the config needs it)")
        got = tuple(trace.params[name].shape)
        if got != shape:
            raise ValueError(
                f"parameter {name!r} has shape {list(got)}, expected {list(shape)}"
            )
    for part, tokens in (("source", trace.source), ("target", trace.target)):
        if tokens is not None and not tokens.ids:
            raise ValueError(f"tokens.{part} has no ids")
        if tokens is not None and any(i < 0 or i >= vocab for i in tokens.ids):
            raise ValueError(
                f"tokens.{part} has an id outside the vocabulary (0…{vocab - 1})"
            )
    target = None
    if cfg.architecture == "encoder-decoder":
        if trace.target is None:
            raise ValueError("an encoder-decoder trace needs tokens.target")
        target = np.array(trace.target.ids)
    layout = _layout(trace, target)
    for want in layout:
        if want.name not in trace:
            raise ValueError(f"stage {want.name!r} is missing (the config implies it)")
        got = trace.stage(want.name)
        if got.op != want.op:
            raise ValueError(
                f"stage {want.name!r} has op {str(got.op)!r}, expected {str(want.op)!r}"
            )
        if got.shape != want.shape:
            raise ValueError(
                f"stage {want.name!r} has shape {list(got.shape)}, "
                f"expected {list(want.shape)}"
            )
    seen: set[str] = set()
    for stage in trace.stages:
        for name in stage.inputs:
            if name not in trace:
                raise ValueError(
                    f"stage {stage.name!r} reads {name!r}, which is neither a stage "
                    "nor a parameter"
                )
            if name not in seen and name not in trace.params:
                raise ValueError(
                    f"stage {stage.name!r} reads {name!r}, which comes after it; "
                    "stages must be in forward order"
                )
        seen.add(stage.name)
    return layout


def _expected_params(cfg: ModelConfig, vocab: int) -> dict[str, tuple[int, ...]]:
    """The toy model's parameter shapes, or those of the pretrained model named."""
    if cfg.model:
        from explainer.models import load_params

        return {name: tuple(v.shape) for name, v in load_params(cfg.model).items()}
    return param_shapes(cfg, vocab)


def _layout(trace: Trace, target: np.ndarray | None) -> tuple[Stage, ...]:
    """The stages the config implies, from a pass on the trace's own parameters."""
    cfg, params, ids = trace.config, dict(trace.params), np.array(trace.source.ids)
    if cfg.model:
        from explainer.models import layout

        return layout(cfg, params, ids).stages
    return forward(cfg, params, ids, target).stages


def check_inputs(trace: Trace, layout: tuple[Stage, ...]) -> Iterator[CheckResult]:
    """Does every stage read what the layout says it reads?

    The formulas are evaluated on the inputs a stage *names*; a stage that names
    the wrong ones (keys from the decoder instead of the encoder, say) would match
    its formula on them and hide the mistake. One failing row per such stage, or
    one passing row. The two terms of an ``add`` may come in either order.
    """
    wrong = 0
    for want in layout:
        got = trace.stage(want.name).inputs
        same = (
            sorted(got) == sorted(want.inputs)
            if want.op == Op.ADD
            else got == want.inputs
        )
        if not same:
            wrong += 1
            yield CheckResult(
                "structure", "inputs as in the trace format", want.name, 1.0, 0.0,
                False, detail=f"reads {list(got)}, expected {list(want.inputs)}",
            )  # fmt: skip
    if not wrong:
        yield CheckResult(
            "structure", "inputs as in the trace format", "all stages", 0.0, 0.0, True
        )
