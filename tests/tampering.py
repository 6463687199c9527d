"""Editing a recorded trace, as a wrong implementation would have written it."""

import numpy as np

from explainer.trace import Trace


def tampered(trace: Trace, name: str, factor: float = 1.01) -> Trace:
    """``trace`` with the largest entry of stage ``name`` multiplied by ``factor``."""
    stages = []
    for stage in trace.stages:
        if stage.name == name:
            value = stage.value.copy()
            value.reshape(-1)[int(np.argmax(np.abs(value)))] *= factor
            stage = stage._replace(value=value)
        stages.append(stage)
    return trace.with_stages(stages)
