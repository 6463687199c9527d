"""The text ``explainer render --check`` prints: one table row per scene, then the
problems of each scene, one line each."""

from __future__ import annotations

from collections.abc import Sequence

from explainer.cli.text_width import cells, ljust, rjust
from explainer.i18n import _
from explainer.render.lint import MIN_TEXT_PX, Caption, Finding, SceneLint

DETAILS = 8  # problems listed per kind and scene; the rest are counted


def check_table(results: Sequence[SceneLint]) -> str:
    """A summary table, the problems scene by scene, and a one-line verdict."""
    header = (
        _("scene"),
        _("seconds"),
        _("captions"),
        _("too short"),
        _("over previous"),
        _("smallest px"),
        f"< {MIN_TEXT_PX:g} px",
        _("off frame"),
        _("overlaps"),
        _("empty picture"),
        _("result"),
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
            _("ok") if r.ok else _("FAIL"),
        )
        for r in results
    ]
    widths = [max(cells(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        out = [ljust(row[0], widths[0])]
        out += [
            rjust(cell, width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        return "  ".join(out).rstrip()

    pixels = results[0].pixel_height if results else 0
    out = [
        _("scene check at {pixels}p").format(pixels=pixels),
        line(header),
        line(["-" * w for w in widths]),
    ]
    out += [line(row) for row in rows]
    for r in results:
        if r.ok:
            continue
        out.append("")
        out.append(f"{r.name}:")
        out += _captions(r.short_captions, _("caption too short"))
        out += _overs(r.caption_overlaps)
        small = _("text under {px} px").format(px=f"{MIN_TEXT_PX:g}")
        out += _findings(r.small, small)
        out += _findings(r.off_frame, _("text off the frame"))
        out += _findings(r.overlaps, _("texts overlap"))
        out += _findings(r.empty, _("caption over an empty picture"))
    failed = sum(1 for r in results if not r.ok)
    out.append("")
    out.append(
        _("{failed} of {n} scenes have problems").format(failed=failed, n=len(results))
        if failed
        else _("all {n} scenes pass").format(n=len(results))
    )
    return "\n".join(out)


def _captions(captions: Sequence[Caption], kind: str) -> list[str]:
    lines = [
        f"  {c.shown_at:6.1f} s  {kind}: "
        + _("{seconds} s of {required} s needed, {text}").format(
            seconds=f"{c.seconds:.1f}",
            required=f"{c.required:.1f}",
            text=_short(c.text),
        )
        for c in captions[:DETAILS]
    ]
    return lines + _more(len(captions), kind)


def _overs(captions: Sequence[Caption]) -> list[str]:
    kind = _("caption fades in over the previous one")
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
    more = _("… and {n} more: {kind}").format(n=count - DETAILS, kind=kind)
    return [f"           {more}"]


def _short(content: str, limit: int = 50) -> str:
    flat = " ".join(content.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")
