"""Word-level tokenizer of the toy model (seed 003: the vocabulary is the set of
distinct words of a small corpus).

Text is lower-cased and split into words and punctuation marks. Chinese, Japanese
and Korean text is split one character a token unless the text has spaces, in which
case the spaces delimit the words (``"我 爱 自然 语言"`` gives four tokens).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from explainer.i18n import _, pgettext
from explainer.text_file import read_text

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)
MAX_CORPUS_BYTES = 64 << 20  # a corpus for a toy vocabulary: far less than this

_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)


def is_cjk(char: str) -> bool:
    """True for a Han, Kana or Hangul character.

    >>> is_cjk("爱"), is_cjk("a")
    (True, False)
    """
    name = unicodedata.name(char, "")
    return name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def split_words(text: str) -> list[str]:
    """Split ``text`` into lower-cased word tokens.

    >>> split_words("When you play game of thrones!")
    ['when', 'you', 'play', 'game', 'of', 'thrones', '!']
    >>> split_words("我爱自然语言")
    ['我', '爱', '自', '然', '语', '言']
    >>> split_words("我 爱 自然 语言")
    ['我', '爱', '自然', '语言']
    """
    text = unicodedata.normalize("NFC", text).lower()
    has_spaces = len(text.split()) > 1
    tokens: list[str] = []
    for match in _WORD.findall(text):
        if not has_spaces and any(is_cjk(c) for c in match):
            tokens.extend(_split_cjk(match))
        else:
            tokens.append(match)
    return tokens


def _split_cjk(word: str) -> list[str]:
    """Each CJK character alone; runs of other characters stay together."""
    parts: list[str] = []
    run = ""
    for char in word:
        if is_cjk(char):
            if run:
                parts.append(run)
                run = ""
            parts.append(char)
        else:
            run += char
    if run:
        parts.append(run)
    return parts


@dataclass(frozen=True)
class Encoding:
    """A sentence as tokens and ids; ``unknown`` lists the words mapped to <unk>."""

    text: str
    tokens: tuple[str, ...]
    ids: tuple[int, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class Tokenizer:
    """A fixed vocabulary: the special tokens, then corpus words by first use."""

    vocab: tuple[str, ...]

    def __post_init__(self) -> None:
        if tuple(self.vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(
                _("a vocabulary must start with {specials}").format(
                    specials=", ".join(SPECIALS)
                )
            )
        if len(set(self.vocab)) != len(self.vocab):
            raise ValueError(_("a vocabulary must not repeat a token"))

    @classmethod
    def from_corpus(cls, lines: Iterable[str]) -> Tokenizer:
        """Build the vocabulary from corpus lines ('#' lines are comments).

        A CJK word also adds its single characters, so that unspaced text maps.

        >>> Tokenizer.from_corpus(["the cat", "the dog"]).vocab[4:]
        ('the', 'cat', 'dog')
        """
        words: dict[str, None] = {}
        for line in lines:
            if line.lstrip().startswith("#"):
                continue
            for word in split_words(line):
                words.setdefault(word, None)
                if len(word) > 1 and any(is_cjk(c) for c in word):
                    for part in _split_cjk(word):
                        words.setdefault(part, None)
        return cls(SPECIALS + tuple(w for w in words if w not in SPECIALS))

    @property
    def index(self) -> dict[str, int]:
        return {token: i for i, token in enumerate(self.vocab)}

    @property
    def pad_id(self) -> int:
        return self.vocab.index(PAD)

    @property
    def bos_id(self) -> int:
        return self.vocab.index(BOS)

    def encode(
        self, text: str, *, bos: bool = False, what: str = "sentence"
    ) -> Encoding:
        """Tokens and ids of ``text``; unknown words become <unk>. ``what`` names
        the text (and its option) in errors.

        >>> t = Tokenizer.from_corpus(["when you play"])
        >>> e = t.encode("When you dance")
        >>> e.tokens, e.ids, e.unknown
        (('when', 'you', '<unk>'), (4, 5, 1), ('dance',))
        >>> t.encode(" ", what="target")
        Traceback (most recent call last):
        ...
        ValueError: the target is empty; give some words, e.g. --target 'hello'
        """
        check_text(text, what)
        if not text.strip():
            raise ValueError(
                _(
                    "the {what} is empty; give some words, e.g. --{option} 'hello'"
                ).format(what=_text_name(what), option=what)
            )
        index = self.index
        words = split_words(text)
        if not words:
            raise ValueError(
                _("the {what} {text} has no words").format(
                    what=_text_name(what), text=repr(text)
                )
            )
        unknown = tuple(dict.fromkeys(w for w in words if w not in index))
        tokens = tuple(w if w in index else UNK for w in words)
        if bos:
            tokens = (BOS, *tokens)
        return Encoding(text, tokens, tuple(index[t] for t in tokens), unknown)

    def decode(self, ids: Sequence[int]) -> list[str]:
        return [self.vocab[i] for i in ids]


def check_text(text: str, what: str = "sentence") -> str:
    """``text`` if it is valid Unicode; else ValueError naming the first bad byte.

    Bytes that are not UTF-8 reach Python's ``sys.argv`` as lone surrogates
    (PEP 383); they cannot be tokenized, printed or written.

    >>> check_text("caf\\udcc3", "prompt")
    Traceback (most recent call last):
    ...
    ValueError: the prompt is not valid UTF-8 (byte 0xc3 at character 4); \
give it as UTF-8 text
    """
    for position, char in enumerate(text, start=1):
        if "\ud800" <= char <= "\udfff":
            code = ord(char)
            bad = (
                f"byte 0x{code - 0xDC00:02x}"
                if 0xDC80 <= code <= 0xDCFF
                else f"lone surrogate U+{code:04X}"
            )
            raise ValueError(
                _(
                    "the {what} is not valid UTF-8 ({bad} at character {position}); "
                    "give it as UTF-8 text"
                ).format(what=_text_name(what), bad=bad, position=position)
            )
    return text


def _text_name(what: str) -> str:
    """``sentence``, ``target``, ``prompt``… in the language in use."""
    names = {
        "sentence": pgettext("the text given", "sentence"),
        "target": pgettext("the text given", "target"),
        "prompt": pgettext("the text given", "prompt"),
        "English sentence": pgettext("the text given", "English sentence"),
        "Chinese sentence": pgettext("the text given", "Chinese sentence"),
    }
    return names.get(what, what)


def default_corpus() -> list[str]:
    """Lines of the corpus shipped with the package."""
    text = resources.files("explainer.data").joinpath("corpus.txt").read_text("utf-8")
    return text.splitlines()


def load_corpus(path: str | Path | None) -> list[str]:
    """Lines of the corpus at ``path`` (the shipped corpus when ``None``)."""
    if path is None:
        return default_corpus()
    path = Path(path)
    lines = read_text(path, "corpus file", MAX_CORPUS_BYTES).splitlines()
    if not any(split_words(line) for line in lines if not line.startswith("#")):
        raise ValueError(
            _("corpus file {path} has no words").format(path=repr(str(path)))
        )
    return lines
