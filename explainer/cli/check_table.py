"""The text ``explainer render --check`` prints: one table row per scene, then the
problems of each scene, one line each."""

from __future__ import annotations

from collections.abc import Sequence

from explainer.render.lint import MIN_TEXT_PX, Caption, Finding, SceneLint

DETAILS = 8  # problems listed per kind and scene; the rest are counted


def check_table(results: Sequence[SceneLint]) -> str:
    """A summary table, the problems scene by scene, and a one-line verdict."""
    header = (
        "scene",
        "seconds",
        "captions",
        "too short",
        "over previous",
        "smallest px",
        f"< {MIN_TEXT_PX:g} px",
        "off frame",
        "overlaps",
        "empty picture",
        "result",
    )
    rows = [
        (
            r.name,
            f"{r.seconds:.1f}",
            str(len(r.captions)),
            str(len(r.short_captions)),
            str(len(r.caption_overlaps)),
            "-" if r.smallest_px is None else f"{r.smallest_px:.1f}",
            str(len(r.small)),
            str(len(r.off_frame)),
            str(len(r.overlaps)),
            str(len(r.empty)),
            "ok" if r.ok else "FAIL",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        cells = [row[0].ljust(widths[0])]
        cells += [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    pixels = results[0].pixel_height if results else 0
    out = [f"scene check at {pixels}p", line(header), line(["-" * w for w in widths])]
    out += [line(row) for row in rows]
    for r in results:
        if r.ok:
            continue
        out.append("")
        out.append(f"{r.name}:")
        out += _captions(r.short_captions, "caption too short")
        out += _overs(r.caption_overlaps)
        out += _findings(r.small, f"text under {MIN_TEXT_PX:g} px")
        out += _findings(r.off_frame, "text off the frame")
        out += _findings(r.overlaps, "texts overlap")
        out += _findings(r.empty, "caption over an empty picture")
    failed = sum(1 for r in results if not r.ok)
    out.append("")
    out.append(
        f"{failed} of {len(results)} scenes have problems"
        if failed
        else f"all {len(results)} scenes pass"
    )
    return "\n".join(out)


def _captions(captions: Sequence[Caption], kind: str) -> list[str]:
    lines = [
        f"  {c.shown_at:6.1f} s  {kind}: {c.seconds:.1f} s of {c.required:.1f} s "
        f"needed, {_short(c.text)}"
        for c in captions[:DETAILS]
    ]
    return lines + _more(len(captions), kind)


def _overs(captions: Sequence[Caption]) -> list[str]:
    kind = "caption fades in over the previous one"
    lines = [f"  {c.shown_at:6.1f} s  {kind}: {_short(c.text)}" for c in captions]
    return lines[:DETAILS] + _more(len(captions), kind)


def _findings(findings: Sequence[Finding], kind: str) -> list[str]:
    lines = [
        f"  {f.at:6.1f} s  {kind}: {f.what}" + (f" ({f.detail})" if f.detail else "")
        for f in findings[:DETAILS]
    ]
    return lines + _more(len(findings), kind)


def _more(count: int, kind: str) -> list[str]:
    if count <= DETAILS:
        return []
    return [f"           … and {count - DETAILS} more: {kind}"]


def _short(content: str, limit: int = 50) -> str:
    flat = " ".join(content.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
