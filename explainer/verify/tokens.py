"""The words behind the numbers: the recorded text, tokens, ids and vocabulary
checked against the tokenizer that made them.

A report labels every row of a matrix with a token and every logit with a
vocabulary entry, so a trace whose text, tokens or vocabulary were edited would
put the wrong words on correct numbers. Three checks per sentence part:

- **text → tokens**: the text, tokenized again (the toy's word tokenizer on the
  trace's own vocabulary, or the pretrained model's own tokenizer), gives the
  recorded tokens and ids;
- **ids ↔ vocabulary**: entry ``id`` of the vocabulary is the recorded token;
- **vocabulary**: for a pretrained model, the vocabulary is its tokenizer's; for
  the toy, one built from the shipped corpus must keep that corpus's order.

A failing row names the first token that differs.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterator, Sequence

from explainer.i18n import N_
from explainer.trace import Tokens, Trace
from explainer.verify.result import CheckResult
from explainer.wording import Words, words

Encode = Callable[[str, bool], Tokens]  # (text, starts with <bos>) → tokens

VOCABULARY = words(N_("vocabulary"))
IDS = words(N_("ids ↔ vocabulary"))
TEXT = words(N_("text → tokens"))
"""The names of the three checks."""


def position(at: int, token: str) -> Words:
    """``position 3 'win'``: where a token is, for a failing row's worst cell."""
    return words(N_("position {at} {token}"), at=at, token=repr(token))


def check_tokens(trace: Trace) -> Iterator[CheckResult]:
    """The token rows of ``trace``: vocabulary, then each part's ids and text."""
    recorded = not _placeholder(trace.vocab)
    yield _check_vocabulary(trace) if recorded else _skip(VOCABULARY, "vocab")
    encode, why = _encoder(trace) if recorded or trace.config.model else (None, "")
    parts = (("source", trace.source), ("target", trace.target))
    for part, tokens in parts:
        if tokens is None:
            continue
        where = f"tokens.{part}"
        if recorded:
            yield _against_vocabulary(trace.vocab, part, tokens)
        else:
            yield _skip(IDS, where)
        if not tokens.text:
            yield _skip(TEXT, where, words(N_("no text recorded")))
        elif encode is None and not why:
            yield _skip(TEXT, where)
        else:
            yield _retokenized(encode, why, part, tokens)


def _placeholder(vocab: Sequence[str]) -> bool:
    """True for the ``#0, #1, …`` a trace JSON without a vocabulary is read with."""
    return all(token == f"#{n}" for n, token in enumerate(vocab))


def _skip(formula: str, where: str, why: str = "") -> CheckResult:
    """A check the trace gives nothing to run on (the trace format makes the
    vocabulary and the text optional)."""
    row = CheckResult("tokens", formula, where, 0.0, 0.0, True, skipped=True)
    why = why or words(N_("no vocabulary recorded"))
    detail = words(N_("{why} (optional in the trace format)"), why=why)
    return dataclasses.replace(row, detail=detail)


def _encoder(trace: Trace) -> tuple[Encode | None, str]:
    """How the trace's model tokenizes, or (None, why it cannot be rebuilt)."""
    if trace.config.model:
        from explainer.models import load_model

        tokenizer = load_model(trace.config.model).tokenizer
        return (lambda text, bos: tokenizer.encode(text)), ""
    from explainer.tokenizer import Tokenizer

    try:
        tokenizer = Tokenizer(trace.vocab)
    except ValueError as err:
        why = N_("the vocabulary is not a word tokenizer's: {error}")
        return None, words(why, error=str(err))

    def encode(text: str, bos: bool) -> Tokens:
        enc = tokenizer.encode(text, bos=bos)
        return Tokens(enc.text, enc.tokens, enc.ids, enc.unknown)

    return encode, ""


def _retokenized(
    encode: Encode | None, why: str, part: str, tokens: Tokens
) -> CheckResult:
    name, where = TEXT, f"tokens.{part}"
    if encode is None:
        return _row(name, where, False, why)
    try:
        again = encode(tokens.text, part == "target")
    except ValueError as err:
        why = words(N_("the text cannot be tokenized: {error}"), error=str(err))
        return _row(name, where, False, why)
    pairs = list(zip(again.tokens, again.ids, strict=True))
    recorded = list(zip(tokens.tokens, tokens.ids, strict=False))
    differ = _count_differences(pairs, recorded)
    if not differ:
        return _row(name, where, True, differ=0, entries=len(recorded))
    at = _first_difference(pairs, recorded)
    counts = words(
        N_("the text gives {n} tokens, the trace records {recorded}"),
        n=len(pairs),
        recorded=len(recorded),
    )
    if at >= len(recorded):
        token, index = pairs[at]
        detail = counts
        cell = words(
            N_("position {at}: {token} (id {id}) is not recorded"),
            at=at, token=repr(token), id=index,
        )  # fmt: skip
        want, got = float(index), None
    elif at >= len(pairs):
        token, index = recorded[at]
        detail = counts
        cell = words(
            N_("position {at}: {token} (id {id}) is not in the text"),
            at=at, token=repr(token), id=index,
        )  # fmt: skip
        want, got = None, float(index)
    else:
        (token, index), (seen, seen_id) = pairs[at], recorded[at]
        detail = words(
            N_(
                "position {at}: the text gives {token} (id {id}), the trace records "
                "{seen} (id {seen_id})"
            ),
            at=at, token=repr(token), id=index, seen=repr(seen), seen_id=seen_id,
        )  # fmt: skip
        cell = position(at, seen)
        want, got = float(index), float(seen_id)
    return _row(
        name, where, False, detail, cell=cell, expected=want, actual=got,
        differ=differ, entries=max(len(pairs), len(recorded)),
    )  # fmt: skip


def _against_vocabulary(vocab: Sequence[str], part: str, tokens: Tokens) -> CheckResult:
    name, where = IDS, f"tokens.{part}"
    if len(tokens.tokens) != len(tokens.ids):
        return _row(
            name, where, False,
            words(
                N_("{tokens} tokens but {ids} ids"),
                tokens=len(tokens.tokens), ids=len(tokens.ids),
            ),
        )  # fmt: skip
    wrong = [
        (at, token, index)
        for at, (token, index) in enumerate(zip(tokens.tokens, tokens.ids, strict=True))
        if vocab[index] != token
    ]
    if not wrong:
        return _row(name, where, True, differ=0, entries=len(tokens.ids))
    at, token, index = wrong[0]
    return _row(
        name, where, False,
        words(
            N_(
                "position {at}: id {id} is {entry} in the vocabulary, the trace's "
                "token is {token}"
            ),
            at=at, id=index, entry=repr(vocab[index]), token=repr(token),
        ),
        cell=position(at, token), differ=len(wrong), entries=len(tokens.ids),
    )  # fmt: skip


def _check_vocabulary(trace: Trace) -> CheckResult:
    """The vocabulary against the one its tokenizer has."""
    model = trace.config.model
    if model:
        reference = _model_vocab(model)
        whose = words(N_("{model}'s tokenizer"), model=model)
    else:
        reference = _corpus_vocab()
        whose = words(N_("the shipped corpus's tokenizer"))
        if sorted(reference) != sorted(trace.vocab):
            return _row(
                VOCABULARY, "vocab", True,
                words(N_("built from another corpus: its order cannot be compared")),
                entries=len(trace.vocab),
            )  # fmt: skip
    name = words(N_("vocabulary = {whose}"), whose=whose)
    vocab = tuple(trace.vocab)
    if vocab == reference:
        return _row(name, "vocab", True, differ=0, entries=len(vocab))
    if len(vocab) != len(reference):
        return _row(
            name, "vocab", False,
            words(
                N_("{n} entries, {whose} has {reference}"),
                n=f"{len(vocab):,}", whose=whose, reference=f"{len(reference):,}",
            ),
        )  # fmt: skip
    wrong = [n for n, (a, b) in enumerate(zip(vocab, reference, strict=True)) if a != b]
    first = wrong[0]
    return _row(
        name, "vocab", False,
        words(
            N_("entry {n} is {entry}; {whose} has {reference}"),
            n=first, entry=repr(vocab[first]), whose=whose,
            reference=repr(reference[first]),
        ),
        cell=words(N_("entry {n} {entry}"), n=first, entry=repr(vocab[first])),
        differ=len(wrong), entries=len(vocab),
    )  # fmt: skip


@functools.cache
def _model_vocab(model: str) -> tuple[str, ...]:
    """Every token of ``model``'s tokenizer, in id order (0.1–0.3 s to build)."""
    from explainer.models import load_model

    return load_model(model).tokenizer.vocab


@functools.cache
def _corpus_vocab() -> tuple[str, ...]:
    from explainer.tokenizer import Tokenizer, default_corpus

    return Tokenizer.from_corpus(default_corpus()).vocab


def _count_differences(a: Sequence[object], b: Sequence[object]) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def _first_difference(a: Sequence[object], b: Sequence[object]) -> int:
    return next(
        (n for n, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
        min(len(a), len(b)),
    )


def _row(
    formula: str, where: str, ok: bool, detail: str = "", **found: object
) -> CheckResult:
    row = CheckResult("tokens", formula, where, 0.0, 0.0, ok, detail=detail)
    return dataclasses.replace(row, **found)
