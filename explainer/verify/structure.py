"""Is a trace complete? The stages, shapes and parameters its config implies.

A trace written by another program is read against the layout that this config
implies (the stage list of :func:`explainer.forward.forward`; only names, ops,
inputs and shapes are used, never its numbers), so that a missing or misshapen
stage gets a message naming it instead of a wrong verdict.
"""

from __future__ import annotations

import numpy as np

from explainer.forward import forward
from explainer.params import param_shapes
from explainer.trace import Trace


def check_structure(trace: Trace) -> None:
    """Raise ValueError naming the first thing that is missing or misshapen."""
    cfg = trace.config
    vocab = len(trace.vocab)
    for name, shape in param_shapes(cfg, vocab).items():
        if name not in trace.params:
            raise ValueError(f"parameter {name!r} is missing (the config needs it)")
        got = tuple(trace.params[name].shape)
        if got != shape:
            raise ValueError(
                f"parameter {name!r} has shape {list(got)}, expected {list(shape)}"
            )
    if any(i < 0 or i >= vocab for i in trace.source.ids):
        raise ValueError(
            f"tokens.source has an id outside the vocabulary (0…{vocab - 1})"
        )
    target = None
    if cfg.architecture == "encoder-decoder":
        if trace.target is None:
            raise ValueError("an encoder-decoder trace needs tokens.target")
        target = np.array(trace.target.ids)
    layout = forward(cfg, dict(trace.params), np.array(trace.source.ids), target).stages
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
        for name in got.inputs:
            if name not in trace:
                raise ValueError(
                    f"stage {want.name!r} reads {name!r}, which is neither a stage "
                    "nor a parameter"
                )
