"""Geometry of the architecture diagram (Vaswani et al. 2017, Figure 1), drawn
top to bottom: one column per stack, the output head under the last one, every
box a link to the section that explains it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BOX_W, BOX_H, GAP, COL_GAP, PAD = 262, 30, 14, 64, 12


@dataclass(frozen=True)
class Node:
    """One box: its column (stack), label, target section, and whether it is in
    the repeated layer."""

    stack: str  # encoder | decoder | output
    label: str
    href: str
    status: str  # ok | fail | none
    in_layer: bool
    cross: bool = False  # reads the encoder's output


def layout(nodes: Sequence[Node], n_layers: int) -> dict[str, Any]:
    """Boxes, arrows and layer frames for ``nodes`` (in forward order)."""
    stacks = [s for s in ("encoder", "decoder") if any(n.stack == s for n in nodes)]
    column = {s: i for i, s in enumerate(stacks)}
    column["output"] = len(stacks) - 1
    rows: dict[str, list[Node]] = {s: [] for s in stacks}
    for n in nodes:
        rows[stacks[-1] if n.stack == "output" else n.stack].append(n)
    offset = dict.fromkeys(stacks, 0)
    if len(stacks) == 2:  # put cross-attention below the encoder's last box
        enc_last = len(rows["encoder"]) - 1
        cross = next((i for i, n in enumerate(rows["decoder"]) if n.cross), None)
        if cross is not None:
            offset["decoder"] = max(0, enc_last + 1 - cross)
    boxes, arrows, frames = [], [], []
    where: dict[tuple[str, int], dict[str, Any]] = {}
    for stack in stacks:
        x = PAD + column[stack] * (BOX_W + COL_GAP)
        previous = None
        for i, n in enumerate(rows[stack]):
            y = PAD + 20 + (i + offset[stack]) * (BOX_H + GAP)
            box = {
                "x": x,
                "y": y,
                "w": BOX_W,
                "h": BOX_H,
                "cx": x + BOX_W / 2,
                "cy": y + BOX_H / 2,
                "label": n.label,
                "href": n.href,
                "status": n.status,
                "kind": n.stack,
            }
            boxes.append(box)
            where[(stack, i)] = box
            if previous is not None:
                arrows.append(
                    {
                        "d": f"M{box['cx']},{previous['y'] + BOX_H} V{y - 2}",
                        "cross": False,
                    }
                )
            previous = box
        layer = [i for i, n in enumerate(rows[stack]) if n.in_layer]
        if layer:
            top, bottom = where[(stack, layer[0])], where[(stack, layer[-1])]
            frames.append(
                {
                    "x": x - 8,
                    "y": top["y"] - 7,
                    "w": BOX_W + 16,
                    "h": bottom["y"] + BOX_H - top["y"] + 14,
                    "label": f"× {n_layers}",
                    "label_x": x + BOX_W + 12,
                    "label_y": top["y"] + 12,
                }
            )
    if len(stacks) == 2:
        enc = where[("encoder", len(rows["encoder"]) - 1)]
        for i, n in enumerate(rows["decoder"]):
            if n.cross:
                dec = where[("decoder", i)]
                mid = enc["x"] + BOX_W + COL_GAP / 2
                arrows.append(
                    {
                        "d": f"M{enc['x'] + BOX_W},{enc['cy']} H{mid} "
                        f"V{dec['cy']} H{dec['x'] - 2}",
                        "cross": True,
                    }
                )
    height = max(b["y"] for b in boxes) + BOX_H + PAD + 8
    width = PAD * 2 + len(stacks) * BOX_W + (len(stacks) - 1) * COL_GAP + 40
    heads = [
        {"x": PAD + column[s] * (BOX_W + COL_GAP) + BOX_W / 2, "label": s.capitalize()}
        for s in stacks
    ]
    return {
        "boxes": boxes,
        "arrows": arrows,
        "frames": frames,
        "width": width,
        "height": height,
        "heads": heads,
    }
