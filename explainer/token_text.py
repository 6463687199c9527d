"""Tokens as a reader should see them, in the report and in the videos.

A byte-level BPE vocabulary (GPT-2, Llama 3, SmolLM2) stores each byte of the text
as a printable stand-in character: the space is ``Ġ``, the newline ``Ċ``, and every
byte that Latin-1 does not print moves up to U+0100 and beyond (Radford et al.
2019; ``bytes_to_unicode`` in GPT-2's ``encoder.py``). The trace keeps the pieces as
the tokenizer wrote them; :func:`readable` undoes the mapping and decodes the bytes
as UTF-8, so that ``ĠParis`` reads `` Paris``; a byte that is only part of a
character (a piece of 我 or 🍕) reads ``<0xE6>``. Word-level and WordPiece tokens
(``##ing``) and added tokens (``<|im_start|>``) are shown as they are.

>>> readable("ĠParis"), readable("Ċ"), readable("ĠæĪĳ"), readable("Ġæ")
(' Paris', '\\n', ' 我', ' <0xE6>')
>>> visible(" Paris"), visible(" Paris", spaces=True), visible("\\n")
(' Paris', '␣Paris', '↵')
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

SPACE = "Ġ"  # the byte-level BPE stand-in of b" "
_MARKS = str.maketrans({"\n": "↵", "\r": "␍", "\t": "⇥"})


@functools.cache
def byte_of() -> dict[str, int]:
    """The inverse of GPT-2's ``bytes_to_unicode``: stand-in character → byte.

    Bytes that Latin-1 prints (``!`` … ``~``, ``¡`` … ``¬``, ``®`` … ``ÿ``) stand
    for themselves; the 68 others are numbered from U+0100 on, in byte order.

    >>> table = byte_of()
    >>> len(table), table["Ġ"], table["Ċ"], table["A"]
    (256, 32, 10, 65)
    """
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def readable(token: str) -> str:
    """The text of one byte-level BPE token (see the module's docstring); a token
    not made of the byte alphabet comes back unchanged."""
    table = byte_of()
    if any(ch not in table for ch in token):
        return token
    text = bytes(table[ch] for ch in token).decode("utf-8", "surrogateescape")
    return "".join(
        f"<0x{ord(ch) - 0xDC00:02X}>" if 0xDC80 <= ord(ch) <= 0xDCFF else ch
        for ch in text
    )


def is_byte_level(vocab: Sequence[str]) -> bool:
    """Whether ``vocab`` is a byte-level BPE vocabulary: it writes the space as ``Ġ``.

    >>> is_byte_level(["<pad>", "when", "you"]), is_byte_level(["a", "Ġa"])
    (False, True)
    """
    return any(tok.startswith(SPACE) for tok in vocab)


def visible(text: str, *, spaces: bool = False) -> str:
    """Text for a one-line label: line breaks and tabs as arrows; spaces as ␣ when
    ``spaces`` is set, else only in a text of nothing but spaces.

    >>> visible("  "), visible("a b", spaces=True)
    ('␣␣', 'a␣b')
    """
    text = text.translate(_MARKS)
    if spaces or (text and not text.strip(" ")):
        return text.replace(" ", "␣")
    return text


def display(tokens: Sequence[str], byte_level: bool) -> list[str]:
    """``tokens`` as the reader sees them: decoded if ``byte_level``, else as is."""
    return [readable(t) for t in tokens] if byte_level else list(tokens)


class Vocabulary(Sequence[str]):
    """A vocabulary whose entries read as text (see :func:`readable`), decoded one
    at a time when asked for: a table of 49,152 logits shows only a few.

    >>> Vocabulary(("a", "Ġa"))[1], len(Vocabulary(("a", "b")))
    (' a', 2)
    """

    def __init__(self, vocab: Sequence[str]) -> None:
        self.vocab = vocab
        self.byte_level = is_byte_level(vocab)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        token = self.vocab[index]
        return readable(token) if self.byte_level else token

    def __len__(self) -> int:
        return len(self.vocab)
