"""Numbers for the report's pictures: SVG geometry and small summaries.

Everything here reads the trace's arrays; the one exception is the positional-
encoding heatmap and curves, which continue the trace's rows to more positions
by evaluating the same SymPy definition that ``verify`` checks (the trace's own
positions are marked and show the trace's numbers).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from explainer.ops import remember
from explainer.palette import DIVERGING, along
from explainer.report.tables import exact, number
from explainer.trace import Op

HEATMAP_POSITIONS = 64  # columns of the PE heatmap
HEATMAP_DIMS = 64  # at most this many dimensions are drawn
CURVE_POSITIONS = 32  # x range of the PE curves


def _make_pe():
    import sympy as sp

    from explainer.symbolic.positional_encoding import col
    from explainer.symbolic.symbols import d_model, pos
    from explainer.verify.formulas import FORMULAS

    expr = FORMULAS[Op.POSITIONAL_ENCODING]
    return sp.lambdify((pos, col, d_model), expr, modules="numpy")


remember.known("report:pe", _make_pe)  # made with the rest on a miss


@functools.cache
def _pe_formula():
    """PE lambdified (remembered across runs: no SymPy when warm)."""
    return remember.function("report:pe", _make_pe)


def pe_formula(positions: np.ndarray, columns: np.ndarray, d_model: int) -> np.ndarray:
    """PE(pos, col) from the SymPy definition, for drawing beyond the trace."""
    value = _pe_formula()(positions, columns, d_model)
    return np.broadcast_to(
        np.asarray(value, dtype=np.float64), np.broadcast(positions, columns).shape
    )


def colour(value: float, largest: float = 1.0) -> str:
    """A colour of the palette's diverging map: blue for negative, near white
    for 0, red for positive (as the videos and the rest of the report).

    >>> from explainer import palette
    >>> colour(0.0) == palette.DIVERGING[4], colour(2.0, 2.0) == palette.DIVERGING[-1]
    (True, True)
    >>> colour(-1.0) == palette.DIVERGING[0]
    True
    """
    t = 0.0 if largest == 0 else max(-1.0, min(1.0, value / largest))
    return along(DIVERGING, (t + 1) / 2)


def pe_heatmap(pe: np.ndarray, d_model: int) -> dict[str, Any]:
    """Rectangles of PE over positions × dimensions; the trace's rows outlined."""
    seq_len = pe.shape[0]
    n_pos = max(HEATMAP_POSITIONS, seq_len)
    n_dim = min(d_model, HEATMAP_DIMS)
    cell_w = 9
    cell_h = max(3, min(18, 160 // n_dim))
    grid = pe_formula(
        np.arange(n_pos, dtype=np.float64)[:, None], np.arange(n_dim)[None, :], d_model
    ).copy()
    grid[:seq_len, :n_dim] = pe[:, :n_dim]  # the trace's own numbers
    left, top = 44, 8
    cells = [
        {
            "x": left + p * cell_w,
            "y": top + d * cell_h,
            "fill": colour(float(grid[p, d])),
            "title": f"pos {p}, dim {d}: {exact(float(grid[p, d]))}"
            if p < seq_len
            else "",
        }
        for p in range(n_pos)
        for d in range(n_dim)
    ]
    return {
        "cells": cells,
        "cell_w": cell_w,
        "cell_h": cell_h,
        "width": left + n_pos * cell_w + 10,
        "height": top + n_dim * cell_h + 34,
        "left": left,
        "top": top,
        "outline_w": seq_len * cell_w,
        "grid_h": n_dim * cell_h,
        "dim_ticks": [
            {"y": top + d * cell_h + cell_h / 2, "label": str(d)}
            for d in range(n_dim)
            if n_dim <= 16 or d % 8 == 0
        ],
        "pos_ticks": [
            {"x": left + p * cell_w + cell_w / 2, "label": str(p)}
            for p in range(0, n_pos, 8)
        ],
        "seq_len": seq_len,
        "n_pos": n_pos,
        "n_dim": n_dim,
        "hidden_dims": d_model - n_dim,
    }


def _curve_columns(d_model: int) -> list[int]:
    evens = list(range(0, d_model, 2))
    picks = [evens[round(k * (len(evens) - 1) / 3)] for k in range(4)]
    return list(dict.fromkeys(picks))


def pe_curves(pe: np.ndarray, d_model: int) -> dict[str, Any]:
    """One panel per chosen sine column: the formula's curve and the trace's dots."""
    width, height, left = 620, 70, 44
    xs = np.linspace(0, CURVE_POSITIONS, CURVE_POSITIONS * 8 + 1)
    sx = (width - left - 10) / CURVE_POSITIONS

    def y(v: float, top: float) -> float:
        return round(top + 12 + (height - 12) / 2 - v * ((height - 12) / 2 - 4), 2)

    panels = []
    for n, c in enumerate(_curve_columns(d_model)):
        top = n * (height + 22) + 4
        ys = pe_formula(xs, np.full_like(xs, c, dtype=int), d_model)
        points = " ".join(
            f"{round(left + x * sx, 1)},{round(y(float(v), top), 1)}"
            for x, v in zip(xs, ys, strict=True)
        )
        wavelength = 2 * math.pi * 10000 ** (c / d_model)
        panels.append(
            {
                "column": c,
                "pair": c // 2,
                "top": top,
                "mid": top + 12 + (height - 12) / 2,
                "points": points,
                "wavelength": number(wavelength),
                "dots": [
                    {
                        "x": round(left + p * sx, 2),
                        "y": y(float(pe[p, c]), top),
                        "title": f"PE({p}, {c}) = {exact(float(pe[p, c]))}",
                    }
                    for p in range(min(pe.shape[0], CURVE_POSITIONS + 1))
                ],
            }
        )
    return {
        "panels": panels,
        "width": width,
        "height": len(panels) * (height + 22) + 14,
        "left": left,
        "right": width - 10,
        "panel_h": height,
        "ticks": [
            {"x": round(left + p * sx, 2), "label": str(p)}
            for p in range(0, CURVE_POSITIONS + 1, 4)
        ],
    }


def variance_argument(
    q: np.ndarray, k: np.ndarray, scores: np.ndarray, scaled: np.ndarray
) -> list[dict[str, str]]:
    """Per head: the spread of q and k, what footnote 4 predicts for Var[q·k], and
    the variance of this trace's scores before and after ÷√d_k."""
    d_k = q.shape[-1]
    rows = []
    for h in range(q.shape[0]):
        mq, mk = float(np.mean(q[h] ** 2)), float(np.mean(k[h] ** 2))
        rows.append(
            {
                "head": str(h),
                "q2": number(mq),
                "k2": number(mk),
                "predicted": number(d_k * mq * mk),
                "observed": number(float(np.var(scores[h]))),
                "scaled": number(float(np.var(scaled[h]))),
            }
        )
    return rows


def strongest(
    weights: np.ndarray, queries: Sequence[str], keys: Sequence[str]
) -> list[list[dict[str, Any]]]:
    """For each head and query: the key it attends to most, and the weight."""
    return [
        [
            {
                "query": queries[i],
                "key": keys[int(np.argmax(row))],
                "weight": number(float(row.max())),
            }
            for i, row in enumerate(head)
        ]
        for head in weights
    ]


def row_stats(x: np.ndarray) -> list[dict[str, str]]:
    """Mean and (biased) standard deviation of each row that LayerNorm reads."""
    return [{"mean": number(float(r.mean())), "std": number(float(r.std()))} for r in x]


def bars(probs: np.ndarray, vocab: Sequence[str], k: int = 10) -> dict[str, Any]:
    """The ``k`` most probable tokens as horizontal bars (ties: lower id first)."""
    order = np.argsort(-probs, kind="stable")[:k]
    top = float(probs[order[0]])
    width, label_w, bar_h, gap = 560, 110, 22, 6
    scale = (width - label_w - 70) / top if top > 0 else 0.0
    items = [
        {
            "token": vocab[int(i)],
            "id": int(i),
            "p": number(float(probs[i])),
            "exact": exact(float(probs[i])),
            "y": n * (bar_h + gap),
            "w": round(float(probs[i]) * scale, 2),
            "best": n == 0,
        }
        for n, i in enumerate(order)
    ]
    return {
        "rows": items,
        "width": width,
        "label_w": label_w,
        "bar_h": bar_h,
        "height": len(items) * (bar_h + gap),
        "uniform": number(1 / len(probs)),
        "uniform_x": round(label_w + scale / len(probs), 2),
    }


def top_k(
    probs: np.ndarray, vocab: Sequence[str], tokens: Sequence[str], k: int
) -> list[dict[str, Any]]:
    """For each position, its ``k`` most probable next tokens."""
    out = []
    for t, row in enumerate(probs):
        order = np.argsort(-row, kind="stable")[:k]
        out.append(
            {
                "position": t,
                "token": tokens[t],
                "top": [
                    {"token": vocab[int(i)], "p": number(float(row[i]))} for i in order
                ],
            }
        )
    return out
