"""Adam with bias correction, entry by entry (Kingma & Ba 2015, Algorithm 1;
derived in :mod:`explainer.symbolic.adam`), and the step-size schedule.

    m_t = β₁ m_{t−1} + (1 − β₁) g_t,     v_t = β₂ v_{t−1} + (1 − β₂) g_t²,
    θ_t = θ_{t−1} − α_t m̂_t/(√v̂_t + ε),  m̂_t = m_t/(1 − β₁ᵗ), v̂_t = v_t/(1 − β₂ᵗ).

β₁ = 0.9, β₂ = 0.98 and ε = 10⁻⁹ are the paper's (§5.3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explainer.params import Params

BETA_1, BETA_2, EPSILON = 0.9, 0.98, 1e-9  # Vaswani et al. 2017, §5.3


def adam_update(
    theta: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    g: np.ndarray,
    t: int,
    alpha: float,
    beta_1: float = BETA_1,
    beta_2: float = BETA_2,
    epsilon: float = EPSILON,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(θ_t, m_t, v_t) from θ_{t−1}, m_{t−1}, v_{t−1} and the gradient g_t.

    >>> theta, m, v = adam_update(np.zeros(2), np.zeros(2), np.zeros(2),
    ...                           np.array([3.0, -0.5]), 1, 0.1, epsilon=0.0)
    >>> theta  # the first step moves every entry by α, against the gradient's sign
    array([-0.1,  0.1])
    """
    m = beta_1 * m + (1 - beta_1) * g
    v = beta_2 * v + (1 - beta_2) * g * g
    m_hat = m / (1 - beta_1**t)
    v_hat = v / (1 - beta_2**t)
    return theta - alpha * m_hat / (np.sqrt(v_hat) + epsilon), m, v


def step_size(t: int, steps: int, alpha: float, warmup: int) -> float:
    """α_t: up linearly over the first ``warmup`` steps, then down linearly to
    α/10 at the last step (the paper warms up too, §5.3; ending low lets the
    weights settle).

    >>> [round(step_size(t, 10, 1.0, 2), 3) for t in (1, 2, 6, 10)]
    [0.5, 1.0, 0.55, 0.1]
    """
    if t <= warmup:
        return alpha * t / warmup
    done = (t - warmup) / max(steps - warmup, 1)
    return alpha * (1 - 0.9 * done)


@dataclass
class Adam:
    """Adam's moments for every weight (m_0 = v_0 = 0)."""

    alpha: float
    steps: int
    warmup: int
    t: int = 0
    m: Params = field(default_factory=dict)
    v: Params = field(default_factory=dict)

    def step(self, params: Params, gradients: Params) -> Params:
        """The weights after one update; ``params`` itself is not modified."""
        self.t += 1
        alpha = step_size(self.t, self.steps, self.alpha, self.warmup)
        out: Params = {}
        for name, theta in params.items():
            m = self.m.get(name, np.zeros_like(theta))
            v = self.v.get(name, np.zeros_like(theta))
            out[name], self.m[name], self.v[name] = adam_update(
                theta, m, v, gradients[name], self.t, alpha
            )
        return out
