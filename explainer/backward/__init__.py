"""The backward pass of the toy models, recorded as ``backward.*`` stages of the
trace: the loss (:mod:`~explainer.backward.loss`), then ∂L/∂(every forward stage)
and ∂L/∂(every parameter), each from NumPy rules that read the recorded forward
values (:mod:`~explainer.backward.walk`).

>>> from explainer import ModelConfig, trace_sentence
>>> trace = with_backward(trace_sentence(ModelConfig(n_layers=1), "you win"))
>>> trace["backward.embedding"].shape == trace["embedding"].shape
True
"""

from __future__ import annotations

from explainer.backward.rules import BACKWARD_OPS
from explainer.backward.walk import PREFIX, backward_stages, with_backward

__all__ = ["BACKWARD_OPS", "PREFIX", "backward_stages", "with_backward"]
