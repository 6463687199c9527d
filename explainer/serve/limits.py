"""How much one request may ask for: a live server must answer everyone, so no
request may hold it for long or fill its memory."""

from __future__ import annotations

MAX_BODY_BYTES = 16 * 1024
"""Largest request body read (16 KiB): a sentence and a few options."""

MAX_SENTENCE_CHARS = 200
"""Longest sentence (or prompt, or target) accepted, in characters."""

MAX_NEW_TOKENS = 64
"""Most tokens one generate request may ask for."""

LIVE_PRESETS = ("default", "next-word", "seed003")
"""The toy presets the server runs (``paper-base`` is too large to trace live)."""

MAX_MODEL_TOKENS = 16
"""Most tokens of a pretrained model's sentence traced per request: a trace's
size grows with the tokens (a 5-token SmolLM2 trace is about 15 MB of JSON)."""
