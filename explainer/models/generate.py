"""Text generation with a pretrained decoder: run the NumPy pass, pick the next
token (greedy, or sampled with temperature / top-k / top-p), append, repeat.

The prompt is run once; each later step runs only the newest token, reading the
earlier tokens' keys and values from a cache (:class:`llama_forward.KVCache`).
With ``use_cache=False`` each step reruns the whole pass on the text so far: the
numbers of a trace of the longer text (the same tokens, within float32 rounding).

Holtzman et al. 2020 (nucleus, top-p sampling); Fan et al. 2018 (top-k).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from explainer import numeric
from explainer.i18n import _
from explainer.models import Loaded
from explainer.models.llama_forward import KVCache

# Below this, logits ÷ temperature can overflow to inf (and softmax to NaN); the
# sampler is already as good as greedy there.
MIN_TEMPERATURE = 1e-6


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen; ``temperature == 0`` is greedy (argmax)."""

    temperature: float = 0.0  # 0: greedy; else logits ÷ temperature before softmax
    top_k: int | None = None  # keep only the k most probable tokens
    top_p: float | None = None  # keep the smallest set whose probability ≥ p
    seed: int | None = None  # seed of the sampler (same seed, same text)

    def __post_init__(self) -> None:
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(
                _("temperature ({value}) must be a finite number >= 0").format(
                    value=self.temperature
                )
            )
        if 0 < self.temperature < MIN_TEMPERATURE:
            raise ValueError(
                _(
                    "temperature ({value}) is too small to divide by; give 0 "
                    "(always the most probable token) or at least {least}"
                ).format(value=self.temperature, least=MIN_TEMPERATURE)
            )
        if self.seed is not None and self.seed < 0:
            raise ValueError(_("seed ({value}) must be >= 0").format(value=self.seed))
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(_("top_k ({value}) must be >= 1").format(value=self.top_k))
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(
                _("top_p ({value}) must be in (0, 1]").format(value=self.top_p)
            )


def next_token(logits: np.ndarray, sampling: Sampling, rng: np.random.Generator) -> int:
    """The id chosen from one row of logits (V,).

    >>> next_token(np.array([0.0, 2.0, 1.0]), Sampling(), np.random.default_rng(0))
    1
    >>> rng = np.random.default_rng(0)
    >>> next_token(np.array([0.0, 2.0, 1.0]), Sampling(1.0, top_k=1), rng)
    1
    """
    if sampling.temperature == 0:
        return int(numeric.argmax(logits))
    scaled = logits.astype(np.float64) / sampling.temperature  # (V,)
    if sampling.top_k is not None and sampling.top_k < scaled.shape[-1]:
        kth = np.partition(scaled, -sampling.top_k)[-sampling.top_k]
        scaled = np.where(scaled < kth, -math.inf, scaled)
    probs = numeric.softmax(scaled)  # (V,)
    if sampling.top_p is not None:
        order = np.argsort(-probs)
        cumulative = np.cumsum(probs[order])
        keep = order[: int(np.searchsorted(cumulative, sampling.top_p)) + 1]
        kept = np.zeros_like(probs)
        kept[keep] = probs[keep]
        probs = kept / kept.sum()
    return int(rng.choice(probs.shape[-1], p=probs))


def generate(
    model: Loaded,
    ids: list[int],
    max_new_tokens: int,
    sampling: Sampling = Sampling(),
    stop_id: int | None = None,
    *,
    use_cache: bool = True,
) -> Iterator[int]:
    """Yield up to ``max_new_tokens`` new ids after ``ids``, one at a time; stops
    after ``stop_id`` (end of text) or at the model's context length."""
    if max_new_tokens < 0:
        raise ValueError(
            _("max_new_tokens ({value}) must be >= 0").format(value=max_new_tokens)
        )
    if not ids:
        raise ValueError(_("the prompt gives no tokens"))
    rng = np.random.default_rng(sampling.seed)
    sequence = list(ids)
    cache = KVCache() if use_cache else None
    extra = {} if cache is None else {"cache": cache}
    fresh = sequence  # the tokens the next pass runs
    for _step in range(max_new_tokens):
        if len(sequence) >= model.config.max_len:
            return
        result = model.spec.forward(
            model.config, model.params, np.array(fresh), record=False, **extra
        )
        token = next_token(result.logits[-1], sampling, rng)
        sequence.append(token)
        fresh = sequence if cache is None else [token]
        yield token
        if token == stop_id:
            return
