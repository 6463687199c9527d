"""Output for a terminal that cannot show Unicode (``PYTHONIOENCODING=ascii`` or
``latin-1``, an old console): formulas drawn with ASCII characters, and every other
character the terminal cannot encode spelled in ASCII (γ → gamma, − → -)."""

from __future__ import annotations

import codecs
import io
import sys
import unicodedata
from typing import TextIO

SAMPLE = "─√Σγ→"  # characters every formula and table uses
ERRORS = "explainer-spell"  # the codec error handler registered below

SPELLED = {
    "─": "-",
    "→": "->",
    "−": "-",
    "·": "*",
    "×": "x",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "≈": "~",
    "…": "...",
    "§": "S",
    "√": "sqrt",
    "∞": "oo",
    "±": "+/-",
    "∂": "d",
    "Σ": "Sum",
    "′": "'",
    "ᵀ": "^T",
    "⊗": "(x)",
    "⌊": "floor(",
    "⌋": ")",
    "⌈": "ceil(",
    "⌉": ")",
    "‖": "||",
    "∈": " in ",
}


def can_show(text: str, stream: TextIO | None = None) -> bool:
    """True if ``stream`` (default: stdout) can encode every character of ``text``."""
    encoding = getattr(stream or sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def fit_streams() -> bool:
    """If stdout or stderr cannot show Unicode, draw formulas in ASCII and spell
    what the streams cannot encode; True if it had to."""
    if all(can_show(SAMPLE, stream) for stream in (sys.stdout, sys.stderr)):
        return False
    from explainer.symbolic.render import use_ascii

    use_ascii()
    codecs.register_error(ERRORS, _spell_error)
    if not can_show(SAMPLE, sys.stdout):
        sys.stdout = Spelled(sys.stdout)
    if not can_show(SAMPLE, sys.stderr):
        sys.stderr = Spelled(sys.stderr)
    return True


class Spelled(io.TextIOBase):
    """A text stream that spells what ``raw`` cannot encode, then writes to it.

    It takes any text, so it says it is UTF-8: Click writes to it as it is instead
    of wrapping the terminal in a UTF-8 writer of its own.
    """

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw
        self._codec = getattr(raw, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        self.raw.write(text.encode(self._codec, ERRORS).decode(self._codec))
        return len(text)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def fileno(self) -> int:
        return self.raw.fileno()

    def writable(self) -> bool:
        return True


def _spell_error(err: UnicodeError) -> tuple[str, int]:
    if not isinstance(err, UnicodeEncodeError):
        raise err
    return to_ascii(err.object[err.start : err.end]), err.end


def to_ascii(text: str) -> str:
    """``text`` with every non-ASCII character spelled out.

    >>> to_ascii("γ(x − μ)/√(σ² + ε) §3.2 → p₃ ½")
    'gamma(x - mu)/sqrt(sigma^2 + epsilon) S3.2 -> p_3 1/2'
    """
    return "".join(_spell(char) for char in text)


def _spell(char: str) -> str:
    if char.isascii():
        return char
    if char in SPELLED:
        return SPELLED[char]
    name = unicodedata.name(char, "")
    if name.startswith("GREEK"):
        letter = name.split()[-1].lower()
        return letter.capitalize() if "CAPITAL" in name else letter
    if "SUPERSCRIPT" in name or "SUBSCRIPT" in name:
        base = unicodedata.normalize("NFKC", char)
        return ("^" if "SUPERSCRIPT" in name else "_") + base
    if name.startswith("VULGAR FRACTION"):
        return unicodedata.normalize("NFKC", char).replace("\u2044", "/")
    folded = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    return folded or "?"
