"""The typed, read-only record of one forward pass.

Every stage of :func:`explainer.forward.forward` is a :class:`Stage` with a stable
dotted name (``encoder.0.self_attn.scores``), the operation (formula) that made it,
the names of the stages and parameters it read, and its value. Reports, scenes and
verification read a :class:`Trace`; none recomputes a stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from explainer.config import ModelConfig
from explainer.memory import keep_freed_memory


class Op(StrEnum):
    """Which formula produced a stage (the ``op`` field of the trace format)."""

    TOKEN_IDS = "token_ids"  # ids of the tokens, from the tokenizer
    ONE_HOT = "one_hot"  # row t = e_{id_t}
    EMBEDDING = "embedding"  # one_hot @ E (§3.4)
    SCALE_EMBEDDING = "scale_embedding"  # x · √d_model (§3.4)
    POSITIONAL_ENCODING = "positional_encoding"  # sinusoids (§3.5)
    ADD = "add"  # a + b: embeddings + PE, residual connections
    PROJECT_HEADS = "project_heads"  # X W + b split into heads (§3.2.2)
    QK = "qk"  # Q Kᵀ per head (Eq. 1)
    SCALE = "scale"  # ÷ √d_k (Eq. 1)
    CAUSAL_MASK = "causal_mask"  # key s allowed for query t iff s ≤ t (§3.2.3)
    NO_MASK = "no_mask"  # every key allowed
    PADDING_MASK = "padding_mask"  # key allowed iff it is not <pad> (batches)
    APPLY_MASK = "apply_mask"  # −∞ where not allowed
    SOFTMAX = "softmax"  # over the last axis
    ATTEND = "attend"  # weights @ V (Eq. 1)
    CONCAT_HEADS = "concat_heads"  # Concat(head_1 … head_h) (§3.2.2)
    LINEAR = "linear"  # x W + b
    LAYER_NORM = "layer_norm"  # γ (x − μ)/√(σ² + ε) + β
    RELU = "relu"  # max(0, x) (Eq. 2)
    GELU = "gelu"  # x Φ(x)
    LOGITS = "logits"  # h Eᵀ (§3.4)
    ARGMAX = "argmax"  # predicted token
    POSITION_EMBEDDING = "position_embedding"  # rows 0…T−1 of a learned table P
    SEGMENT_EMBEDDING = "segment_embedding"  # token-type row 0 for every token
    MEAN_POOL = "mean_pool"  # mean over positions: a sentence vector
    L2_NORMALIZE = "l2_normalize"  # x / ‖x‖₂
    RMS_NORM = "rms_norm"  # γ x / √(mean(x²) + ε)
    ROPE_ANGLES = "rope_angles"  # θ_{m,i} = m ω_i
    ROPE = "rope"  # rotate pair (x_{2i}, x_{2i+1}) by θ_{m,i}
    REPEAT_KV = "repeat_kv"  # K/V head g serves query heads g·r … (g+1)·r − 1
    SWIGLU = "swiglu"  # SiLU(gate) ⊙ up
    # The backward pass (``explainer trace --backward``): ``backward.X`` is ∂L/∂X.
    LABELS = "labels"  # the token each position must predict (explainer.backward.loss)
    CROSS_ENTROPY = "cross_entropy"  # L = −(1/T) Σ_t log p_t[label_t]
    CROSS_ENTROPY_BACKWARD = "cross_entropy_backward"  # ∂L/∂logits = (p − y)/T
    LOGITS_BACKWARD_H = "logits_backward_h"  # dh = dlogits E
    LOGITS_BACKWARD_E = "logits_backward_e"  # dE = dlogitsᵀ h
    LINEAR_BACKWARD_X = "linear_backward_x"  # dX = dY Wᵀ
    LINEAR_BACKWARD_W = "linear_backward_w"  # dW = Xᵀ dY
    LINEAR_BACKWARD_B = "linear_backward_b"  # db = Σ_rows dY
    PROJECT_HEADS_BACKWARD_X = "project_heads_backward_x"  # Concat(dY) Wᵀ
    PROJECT_HEADS_BACKWARD_W = "project_heads_backward_w"  # Xᵀ Concat(dY)
    PROJECT_HEADS_BACKWARD_B = "project_heads_backward_b"  # Σ_rows Concat(dY)
    CONCAT_HEADS_BACKWARD = "concat_heads_backward"  # split dY back into heads
    ATTEND_BACKWARD_WEIGHTS = "attend_backward_weights"  # dP = dO Vᵀ
    ATTEND_BACKWARD_V = "attend_backward_v"  # dV = Pᵀ dO
    SOFTMAX_BACKWARD = "softmax_backward"  # dx = p ⊙ (dy − ⟨dy, p⟩)
    APPLY_MASK_BACKWARD = "apply_mask_backward"  # dy where allowed, 0 where masked
    SCALE_BACKWARD = "scale_backward"  # dy ÷ √d_k
    QK_BACKWARD_Q = "qk_backward_q"  # dQ = dS K
    QK_BACKWARD_K = "qk_backward_k"  # dK = dSᵀ Q
    LAYER_NORM_BACKWARD_X = "layer_norm_backward_x"  # (g − ḡ − x̂·mean(g x̂))/σ
    LAYER_NORM_BACKWARD_GAMMA = "layer_norm_backward_gamma"  # Σ_rows dy ⊙ x̂
    LAYER_NORM_BACKWARD_BETA = "layer_norm_backward_beta"  # Σ_rows dy
    RELU_BACKWARD = "relu_backward"  # dy ⊙ [x > 0]
    GELU_BACKWARD = "gelu_backward"  # dy ⊙ (Φ(x) + x φ(x))
    ADD_BACKWARD = "add_backward"  # a + b: dy copied to both branches
    SCALE_EMBEDDING_BACKWARD = "scale_embedding_backward"  # dy · √d_model
    EMBEDDING_BACKWARD = "embedding_backward"  # dE = one_hotᵀ dy (scatter-add)
    GRAD_SUM = "grad_sum"  # a stage read several times: its gradients summed


class Stage(NamedTuple):
    """One recorded step: ``value = op(*inputs)``.

    Immutable (a typed named tuple: cheap to make, as there is one per stage of
    every pass) and compared by value, arrays included.
    """

    name: str
    op: Op
    inputs: tuple[str, ...]
    value: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.value.shape)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stage):
            return NotImplemented
        return (
            (self.name, self.op, self.inputs) == (other.name, other.op, other.inputs)
            and self.value.dtype == other.value.dtype
            and np.array_equal(self.value, other.value, equal_nan=True)
        )

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Tokens:
    """A sentence as the model saw it."""

    text: str
    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    unknown: tuple[str, ...] = ()


def freeze(value: np.ndarray) -> np.ndarray:
    """The array itself, marked read-only (no copy)."""
    value = np.asarray(value)
    value.setflags(write=False)
    return value


@dataclass(frozen=True, eq=False)
class Trace:
    """Everything one forward pass did, in forward order."""

    config: ModelConfig
    vocab: tuple[str, ...]
    source: Tokens
    target: Tokens | None
    params: Mapping[str, np.ndarray]
    stages: tuple[Stage, ...]
    weights: str = ""  # how the weights were made; "": random, drawn from the seed
    _by_name: Mapping[str, Stage] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        frozen = {name: freeze(v) for name, v in self.params.items()}
        object.__setattr__(self, "params", MappingProxyType(frozen))
        by_name = {}
        for stage in self.stages:
            if stage.name in by_name:
                raise ValueError(f"stage {stage.name!r} is recorded twice")
            by_name[stage.name] = stage
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def with_stages(self, stages: Iterable[Stage]) -> Trace:
        """The same pass (config, tokens, weights) with other stages: a backward
        pass appended, or a stage edited by a test."""
        return replace(self, stages=tuple(stages))

    def __getitem__(self, name: str) -> np.ndarray:
        """The value of a stage or, failing that, of a parameter."""
        if name in self._by_name:
            return self._by_name[name].value
        if name in self.params:
            return self.params[name]
        raise KeyError(f"no stage or parameter named {name!r}")

    def __contains__(self, name: object) -> bool:
        return name in self._by_name or name in self.params

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    def stage(self, name: str) -> Stage:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no stage named {name!r}") from None

    def names(self) -> list[str]:
        return [s.name for s in self.stages]

    def find(self, op: Op | str) -> list[Stage]:
        """All stages made by ``op``, in forward order."""
        return [s for s in self.stages if s.op == op]

    @property
    def prediction(self) -> str:
        """The token predicted after the last position."""
        return self.vocab[int(self["output.prediction"][-1])]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return (
            (self.config, self.vocab, self.source, self.target)
            == (other.config, other.vocab, other.source, other.target)
            and self.params.keys() == other.params.keys()
            and all(
                self.params[k].dtype == other.params[k].dtype
                and np.array_equal(self.params[k], other.params[k])
                for k in self.params
            )
            and self.stages == other.stages
        )

    __hash__ = None  # type: ignore[assignment]


class Recorder:
    """Collects stages during a forward pass; ``enabled=False`` keeps nothing."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.stages: list[Stage] = []
        if enabled:
            keep_freed_memory()

    def __call__(
        self, name: str, op: Op, inputs: tuple[str, ...], value: np.ndarray
    ) -> np.ndarray:
        if self.enabled:
            # Once per stage of every traced pass, so kept lean (benchmarks/forward.py,
            # trace overhead): setflags' first positional argument is ``write``, and
            # the Stage is made without the named tuple's Python-level __new__.
            value.setflags(False)  # read-only; numeric ops return fresh ndarrays
            self.stages.append(_new_stage(Stage, (name, op, inputs, value)))
        return value


_new_stage = tuple.__new__
