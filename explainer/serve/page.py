"""``GET /``: the live page (``templates/live.html.j2``): a sentence box and a
model picker above the report of the default preset's sentence, rendered by the
report's own templates; the page's script swaps in the report of each new
sentence (``POST /api/report``)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from explainer.i18n import N_, _
from explainer.presets import PRESETS
from explainer.serve.limits import LIVE_PRESETS, MAX_NEW_TOKENS, MAX_SENTENCE_CHARS

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "connect-src 'self'; img-src data:; media-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""The page's policy: the report's own (inline styles and scripts, nothing from
elsewhere), plus requests to this server; the report in the frame inherits it."""


@dataclass(frozen=True)
class Choice:
    value: str  # "preset:default" or "model:smollm2"
    label: str


ARCHITECTURES = {
    "encoder-decoder": N_("toy encoder-decoder"),
    "encoder": N_("toy encoder"),
    "decoder": N_("toy decoder"),
}
"""A live preset's architecture, as the picker names it."""


def choices() -> list[Choice]:
    """The models of the picker: the live presets, then the pretrained models,
    named in the language in use."""
    from explainer.config import MODELS

    tasks = {
        "translation": N_("trained: translates English → Chinese"),
        "next-word": N_("trained: predicts the next word"),
    }
    out = []
    for name in LIVE_PRESETS:
        preset = PRESETS[name]
        what = tasks.get(preset.task or "", N_("trained")) if preset.weights else None
        arch = preset.config.get("architecture", "encoder-decoder")
        label = _("{name} ({architecture}, {weights})").format(
            name=name,
            architecture=_(ARCHITECTURES[arch]) if arch in ARCHITECTURES else arch,
            weights=_(what or N_("random weights")),
        )
        out.append(Choice(f"preset:{name}", label))
    labels = {
        "minilm": N_("MiniLM (pretrained encoder)"),
        "smollm2": N_("SmolLM2 (pretrained)"),
    }
    for name in MODELS:
        out.append(Choice(f"model:{name}", _(labels[name]) if name in labels else name))
    return out


def render_page(sentence: str, report: str) -> str:
    """The live page around ``report`` (the report page of ``sentence``), in the
    language in use (:mod:`explainer.i18n`), as the report is."""
    from explainer.report.build import environment

    return (
        environment()
        .get_template("live.html.j2")
        .render(
            sentence=sentence,
            report=report,
            choices=choices(),
            chosen="preset:default",
            max_chars=MAX_SENTENCE_CHARS,
            max_new_tokens=MAX_NEW_TOKENS,
        )
    )


async def page(request: Request) -> Response:
    """The live page, the default preset's report inside (rendered at start-up)."""
    return HTMLResponse(request.app.state.page)
