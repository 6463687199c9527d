"""The English → Chinese translation pairs the toy encoder-decoder learns (issue 13).

The pairs live in ``explainer/data/translation.tsv``: one pair a line, the English
words, the Chinese words (one token a word, separated by spaces) and their word
alignment in Pharaoh format (``"0-0 1-1 2-_ _-3"``: English word i is linked to
Chinese word j; ``_`` marks a word with no partner). The file is read, checked,
and turned into token ids the way the forward pass and the loss expect them:

- the encoder reads the English words ``x₁ … xₘ``;
- the decoder reads ``<bos> y₁ … yₙ`` and must predict ``y₁ … yₙ <eos>``
  (:func:`explainer.backward.loss.next_token_labels`).

The paper shares one embedding matrix between the source, the target and the
output projection (§3.4), so the ids index one *joint* vocabulary: the special
tokens, the English words, then the Chinese words, each in order of first use.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from explainer.backward.loss import next_token_labels
from explainer.i18n import N_, _, pgettext
from explainer.text_file import read_text
from explainer.tokenizer import EOS, SPECIALS, Tokenizer, check_text, split_words

HEADER = ("english", "chinese", "alignment")
NONE = "_"  # the partner of an unaligned word
NOT_AN_ENTRY = N_("alignment entry {entry} is not 'i-j', 'i-_' or '_-j'")
MAX_DATASET_BYTES = 16 << 20

Link = tuple[int | None, int | None]  # (English index, Chinese index); None: no partner


@dataclass(frozen=True)
class Pair:
    """One sentence pair and its word alignment."""

    english: tuple[str, ...]
    chinese: tuple[str, ...]
    alignment: tuple[Link, ...]

    def sources_of(self, j: int) -> tuple[int, ...]:
        """The English indices linked to Chinese word ``j`` (empty: unaligned).

        >>> parse_pair("you win", "你 赢", "0-0 1-1").sources_of(1)
        (1,)
        """
        return tuple(i for i, t in self.alignment if t == j and i is not None)

    def targets_of(self, i: int) -> tuple[int, ...]:
        """The Chinese indices linked to English word ``i`` (empty: unaligned)."""
        return tuple(t for s, t in self.alignment if s == i and t is not None)


def parse_alignment(text: str, n_source: int, n_target: int) -> tuple[Link, ...]:
    """The links of ``text``; ValueError when an index is out of range, a link
    repeats, or a word has neither a link nor an unaligned mark.

    >>> parse_alignment("0-1 1-0 2-_", 3, 2)
    ((0, 1), (1, 0), (2, None))
    >>> parse_alignment("0-0 1-2", 2, 2)
    Traceback (most recent call last):
    ...
    ValueError: alignment '1-2': Chinese index 2 is out of range 0..1
    """
    links: list[Link] = []
    for entry in text.split():
        parts = entry.split("-")
        if len(parts) != 2 or parts == [NONE, NONE]:
            raise ValueError(_(NOT_AN_ENTRY).format(entry=repr(entry)))
        pair = (
            _index(parts[0], n_source, "English", entry),
            _index(parts[1], n_target, "Chinese", entry),
        )
        if pair in links:
            raise ValueError(
                _("alignment entry {entry} is given twice").format(entry=repr(entry))
            )
        links.append(pair)
    for side, n, name in ((0, n_source, "English"), (1, n_target, "Chinese")):
        linked = [link[side] for link in links if link[1 - side] is not None]
        marked = [link[side] for link in links if link[1 - side] is None]
        for k in range(n):
            if k in linked and k in marked:
                raise ValueError(
                    _("{side} word {k} is both linked and marked unaligned").format(
                        side=_side(name), k=k
                    )
                )
            if k not in linked and k not in marked:
                raise ValueError(
                    _(
                        "{side} word {k} has no alignment entry; "
                        "link it or mark it unaligned with {mark}"
                    ).format(
                        side=_side(name),
                        k=k,
                        mark=f"'{k}-{NONE}'" if side == 0 else f"'{NONE}-{k}'",
                    )
                )
    return tuple(links)


def _index(text: str, n: int, name: str, entry: str) -> int | None:
    if text == NONE:
        return None
    if not text.isdigit():
        raise ValueError(_(NOT_AN_ENTRY).format(entry=repr(entry)))
    k = int(text)
    if k >= n:
        raise ValueError(
            _("alignment {entry}: {side} index {k} is out of range 0..{last}").format(
                entry=repr(entry), side=_side(name), k=k, last=n - 1
            )
        )
    return k


def _side(name: str) -> str:
    """``English`` or ``Chinese``, the side of a pair, in the language in use."""
    names = {
        "English": pgettext("a side of a pair", "English"),
        "Chinese": pgettext("a side of a pair", "Chinese"),
    }
    return names[name]


def parse_pair(english: str, chinese: str, alignment: str) -> Pair:
    """A checked pair: lower-case English, each side's words exactly the words the
    tokenizer splits it into, and a complete alignment."""
    check_text(english, "English sentence")
    check_text(chinese, "Chinese sentence")
    if english != english.lower():
        raise ValueError(
            _("English {english} must be lower-case").format(english=repr(english))
        )
    for text, name in ((english, "English"), (chinese, "Chinese")):
        words = text.split()
        if not words:
            raise ValueError(_("the {side} sentence is empty").format(side=_side(name)))
        if split_words(text) != words:
            raise ValueError(
                _(
                    "{side} {text} splits into {words} by the tokenizer; "
                    "separate every word (and punctuation mark) with a space"
                ).format(side=_side(name), text=repr(text), words=split_words(text))
            )
    source, target = tuple(english.split()), tuple(chinese.split())
    links = parse_alignment(alignment, len(source), len(target))
    return Pair(source, target, links)


def read_pairs(lines: Iterable[str], name: str = "dataset") -> list[Pair]:
    """The pairs of a dataset file's ``lines``; ValueError naming the line."""
    pairs: list[Pair] = []
    seen: dict[tuple[str, ...], int] = {}
    header = False
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = tuple(line.rstrip("\r\n").split("\t"))
        if not header:
            if columns != HEADER:
                raise ValueError(
                    _(
                        "{name} line {number}: the header must be {header}, not {line}"
                    ).format(
                        name=name,
                        number=number,
                        header=" <tab> ".join(HEADER),
                        line=repr(line.strip()),
                    )
                )
            header = True
            continue
        if len(columns) != len(HEADER):
            raise ValueError(
                _(
                    "{name} line {number}: {n} tab-separated columns; "
                    "give {count}: {columns}"
                ).format(
                    name=name,
                    number=number,
                    n=len(columns),
                    count=len(HEADER),
                    columns=", ".join(HEADER),
                )
            )
        try:
            pair = parse_pair(*columns)
        except ValueError as error:
            raise ValueError(
                _("{name} line {number}: {problem}").format(
                    name=name, number=number, problem=error
                )
            ) from None
        if pair.english in seen:
            raise ValueError(
                _(
                    "{name} line {number}: the English sentence of line {first} "
                    "again; each pair once"
                ).format(name=name, number=number, first=seen[pair.english])
            )
        seen[pair.english] = number
        pairs.append(pair)
    if not pairs:
        raise ValueError(_("{name} has no pairs").format(name=name))
    return pairs


def load_pairs(path: str | Path | None = None) -> list[Pair]:
    """The pairs of the dataset file at ``path`` (the shipped one when ``None``)."""
    if path is None:
        source = resources.files("explainer.data").joinpath("translation.tsv")
        return read_pairs(source.read_text("utf-8").splitlines(), "translation.tsv")
    text = read_text(path, "dataset file", MAX_DATASET_BYTES)
    name = f"{pgettext('a file read', 'dataset file')} {str(path)!r}"
    return read_pairs(text.splitlines(), name)


def word_translations(pairs: Iterable[Pair]) -> dict[str, Counter[str]]:
    """For every English word, how often each translation is linked to it (a
    translation is its linked Chinese words in order, joined by spaces); unaligned
    occurrences are not counted.

    >>> word_translations([parse_pair("the king wins", "国王 赢", "0-_ 1-0 2-1")])
    {'king': Counter({'国王': 1}), 'wins': Counter({'赢': 1})}
    """
    found: dict[str, Counter[str]] = {}
    for pair in pairs:
        for i, word in enumerate(pair.english):
            targets = pair.targets_of(i)
            if targets:
                translation = " ".join(pair.chinese[j] for j in sorted(targets))
                found.setdefault(word, Counter())[translation] += 1
    return found


def consistency(pairs: Iterable[Pair]) -> dict[str, float]:
    """For every aligned English word, the share of its aligned occurrences that
    use its most frequent translation (1.0: always the same)."""
    return {
        word: counts.most_common(1)[0][1] / counts.total()
        for word, counts in word_translations(pairs).items()
    }


@dataclass(frozen=True)
class Example:
    """One pair as ids: the encoder's input, the decoder's input and the labels."""

    source_ids: np.ndarray  # (m,)      x₁ … xₘ
    decoder_ids: np.ndarray  # (n + 1,)  <bos> y₁ … yₙ
    labels: np.ndarray  # (n + 1,)  y₁ … yₙ <eos>


@dataclass(frozen=True)
class Dataset:
    """The checked pairs and their vocabularies."""

    pairs: tuple[Pair, ...]
    source: Tokenizer  # the English words
    target: Tokenizer  # the Chinese words
    tokenizer: Tokenizer  # both, for the shared embedding: the ids index this one

    def find(self, english: str) -> int:
        """The index of the pair whose English side is ``english``.

        >>> load_dataset().find("You win or you die")
        1
        """
        words = tuple(split_words(english))
        for k, pair in enumerate(self.pairs):
            if pair.english == words:
                return k
        raise ValueError(
            f"{english!r} is not an English sentence of the dataset; "
            "pick one of its pairs"
        )

    def example(self, k: int) -> Example:
        pair = self.pairs[k]
        source = self.tokenizer.encode(" ".join(pair.english), what="sentence")
        target = self.tokenizer.encode(" ".join(pair.chinese), bos=True, what="target")
        decoder_ids = np.array(target.ids, dtype=np.int64)
        eos_id = self.tokenizer.index[EOS]
        return Example(
            np.array(source.ids, dtype=np.int64),
            decoder_ids,
            next_token_labels(decoder_ids, eos_id, shift=True),
        )

    def examples(self) -> list[Example]:
        return [self.example(k) for k in range(len(self.pairs))]

    def batch(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every example padded on the right with ``<pad>``: source ids (N, M),
        decoder ids (N, T) and labels (N, T)."""
        examples = self.examples()
        pad = self.tokenizer.pad_id
        return (
            _padded([e.source_ids for e in examples], pad),
            _padded([e.decoder_ids for e in examples], pad),
            _padded([e.labels for e in examples], pad),
        )


def _padded(rows: Sequence[np.ndarray], pad: int) -> np.ndarray:
    out = np.full((len(rows), max(len(r) for r in rows)), pad, dtype=np.int64)
    for k, row in enumerate(rows):
        out[k, : len(row)] = row
    return out


def build_dataset(pairs: Sequence[Pair]) -> Dataset:
    """The vocabularies of ``pairs``: special tokens, then words by first use.

    The target vocabulary holds whole Chinese words only (the corpus tokenizer
    also adds single characters, which a translation never outputs here).
    """
    source = Tokenizer.from_corpus(" ".join(p.english) for p in pairs)
    target_words = dict.fromkeys(w for p in pairs for w in p.chinese)
    target = Tokenizer(SPECIALS + tuple(target_words))
    words = dict.fromkeys((*source.vocab[len(SPECIALS) :], *target_words))
    joint = Tokenizer(SPECIALS + tuple(words))  # a word on both sides: one id
    return Dataset(tuple(pairs), source, target, joint)


def load_dataset(path: str | Path | None = None) -> Dataset:
    """The dataset file at ``path`` (the shipped one when ``None``), checked."""
    return build_dataset(load_pairs(path))
