"""The loss curve of a training run as an SVG picture: the loss after 0, 1, 2, …
Adam steps on a logarithmic axis, with the checkpoints marked. Plain text, no plotting
library, the same losses give the same bytes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 48  # margins for the axes' labels
FONT = 'font-family="sans-serif" font-size="14"'


def loss_curve_svg(
    losses: Sequence[float],
    checkpoints: Sequence[int] = (),
    title: str = "",
    labels: tuple[str, str, str] = ("Adam steps done", "loss", "loss curve"),
) -> str:
    """An SVG line chart of ``losses`` (``losses[s]``: after s steps) on a log axis;
    ``labels``: the x axis's, the y axis's and the picture's (when no ``title``).

    >>> svg = loss_curve_svg([2.0, 1.0, 0.1], [0], "loss")
    >>> svg.startswith("<svg") and "step" in svg
    True
    """
    if not losses or not all(math.isfinite(x) and x > 0 for x in losses):
        raise ValueError("a loss curve needs positive finite losses")
    lo = math.floor(math.log10(min(losses)))
    hi = math.ceil(math.log10(max(losses)))
    hi = max(hi, lo + 1)
    n = len(losses)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(step: float) -> float:
        return LEFT + plot_w * step / max(n - 1, 1)

    def y_of(loss: float) -> float:
        return TOP + plot_h * (hi - math.log10(loss)) / (hi - lo)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(title or labels[2])}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
    ]
    if title:
        parts.append(f'<text x="{LEFT}" y="18" {FONT}>{escape(title)}</text>')
    for power in range(lo, hi + 1):  # one grid line per power of ten
        y = y_of(10.0**power)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            'stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 5:.1f}" text-anchor="end" {FONT}>'
            f"{_power_label(power)}</text>"
        )
    for step in _step_ticks(n):
        x = x_of(step)
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 20}" text-anchor="middle" '
            f"{FONT}>{step}</text>"
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
        f"{FONT}>{escape(labels[0])}</text>"
    )
    parts.append(
        f'<text transform="translate(16 {TOP + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" {FONT}>{escape(labels[1])}</text>'
    )
    points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(losses))
    parts.append(
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>'
    )
    for step in checkpoints:
        if 0 <= step < n:
            x, y = x_of(step), y_of(losses[step])
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#d62728"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _power_label(power: int) -> str:
    return f"{10.0**power:g}" if -4 <= power <= 4 else f"1e{power}"


def _step_ticks(n: int) -> list[int]:
    """About five round step numbers from 0 to ``n``."""
    raw = max(n / 5, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    stride = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return list(range(0, n, stride))
