"""A request's JSON body, read within the limits and turned into checked values;
anything wrong raises :class:`ApiError` with a one-line message."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from explainer.cli.options import _option_keys
from explainer.i18n import _
from explainer.presets import PRESETS
from explainer.serve.errors import ApiError
from explainer.serve.limits import LIVE_PRESETS, MAX_BODY_BYTES, MAX_SENTENCE_CHARS
from explainer.tokenizer import check_text


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object; 415 unless it is sent as ``application/json``
    (a page elsewhere cannot send that to this server without its consent, a
    CORS preflight, which it never gives), 413 when it is larger than
    MAX_BODY_BYTES (read no further than that), 400 when it is not a JSON object."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiError(
            _(
                "send the body as JSON with 'Content-Type: application/json', "
                "not {kind}"
            ).format(kind=kind or _("no content type")),
            415,
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(
                _("the Content-Length header {value} is not a number").format(
                    value=repr(declared)
                )
            )
        if int(declared) > MAX_BODY_BYTES:
            raise ApiError(_too_large(int(declared)), 413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(_too_large(len(body)), 413)
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(_("the request body is not UTF-8 text")) from None
    except (ValueError, RecursionError) as err:
        raise ApiError(
            _("the request body is not JSON: {error}").format(error=_first_line(err))
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            _("the request body must be a JSON object, e.g. {example}").format(
                example='{"sentence": "you win"}'
            )
        )
    return data


def check_fields(data: dict[str, Any], known: tuple[str, ...]) -> None:
    """400 for a field the endpoint does not read (a typo must not pass silently)."""
    for name in data:
        if name not in known:
            raise ApiError(
                _("unknown field {name}; this endpoint reads {fields}").format(
                    name=repr(name), fields=", ".join(known)
                )
            )


def text(data: dict[str, Any], name: str) -> str | None:
    """Field ``name`` as text of 1 to MAX_SENTENCE_CHARS characters, or None."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(_not_a_string(name, value))
    if not value.strip():
        raise ApiError(_("the {name} is empty; type a few words").format(name=name))
    if len(value) > MAX_SENTENCE_CHARS:
        raise ApiError(
            _(
                "the {name} has {n} characters; at most {limit} are accepted, "
                "shorten it"
            ).format(name=name, n=len(value), limit=MAX_SENTENCE_CHARS)
        )
    try:
        return check_text(value, name)
    except ValueError as err:
        raise ApiError(str(err)) from None


def model_options(data: dict[str, Any]) -> dict[str, Any]:
    """The options :func:`explainer.cli.options.build_setup` reads, from the
    ``sentence``, ``target``, ``preset`` and ``model`` fields (the config flags
    stay unset: the server runs the shipped presets and models only)."""
    raw: dict[str, Any] = dict.fromkeys(_option_keys())
    raw["sentence"] = text(data, "sentence")
    raw["target"] = text(data, "target")
    for name in ("preset", "model"):
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ApiError(_not_a_string(name, value))
        raw[name] = value
    preset = raw["preset"]
    if preset is not None and preset not in LIVE_PRESETS:
        why = (
            _("preset {preset} is too large to run live; choose one of {presets}")
            if preset in PRESETS
            else _("preset {preset} is unknown; choose one of {presets}")
        )
        raise ApiError(why.format(preset=repr(preset), presets=", ".join(LIVE_PRESETS)))
    return raw


def _not_a_string(name: str, value: Any) -> str:
    return _("{name} must be a string, not {value}").format(
        name=name, value=_json(value)
    )


def integer(data: dict[str, Any], name: str, low: int, high: int) -> int | None:
    """Field ``name`` as a whole number in [low, high], or None."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(
            _("{name} must be a whole number, not {value}").format(
                name=name, value=_json(value)
            )
        )
    if not low <= value <= high:
        raise ApiError(
            _("{name} ({value}) must be between {low} and {high}").format(
                name=name, value=value, low=low, high=high
            )
        )
    return value


def number(data: dict[str, Any], name: str) -> float | None:
    """Field ``name`` as a finite number, or None (its range is the library's)."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(
            _("{name} must be a number, not {value}").format(
                name=name, value=_json(value)
            )
        )
    if not math.isfinite(value):
        raise ApiError(
            _("{name} must be a finite number, not {value}").format(
                name=name, value=value
            )
        )
    return float(value)


def _too_large(size: int) -> str:
    return (
        f"the request body has {size} bytes or more; at most {MAX_BODY_BYTES} are "
        "read (a sentence and a few options)"
    )


def _json(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= 40 else shown[:37] + "…"


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
