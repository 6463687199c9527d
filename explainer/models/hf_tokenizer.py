"""A pretrained model's own tokenizer (the Hugging Face ``tokenizers`` library),
giving the :class:`~explainer.trace.Tokens` a trace records."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from tokenizers import Tokenizer

from explainer.trace import Tokens


@dataclass(frozen=True)
class PretrainedTokenizer:
    """Encodes text exactly as the reference does: no padding, no truncation (a
    text longer than the model's context is an error, not silently cut)."""

    tokenizer: Tokenizer
    unk_token: str | None = None

    @classmethod
    def from_file(cls, path: str, unk_token: str | None = None) -> PretrainedTokenizer:
        tok = Tokenizer.from_file(str(path))
        tok.no_padding()
        tok.no_truncation()
        return cls(tok, unk_token)

    @functools.cached_property  # 0.1 s for SmolLM2's 49,152; trace and verify ask
    def vocab(self) -> tuple[str, ...]:
        """Every token, in id order."""
        by_id = self.tokenizer.get_vocab(with_added_tokens=True)
        table = [""] * (max(by_id.values()) + 1)
        for token, index in by_id.items():
            table[index] = token
        return tuple(table)

    def encode(self, text: str) -> Tokens:
        """The tokens and ids of ``text``, special tokens included; pieces of the
        text read as the unknown token are listed in ``unknown``."""
        enc = self.tokenizer.encode(text)
        unknown = tuple(
            dict.fromkeys(
                text[start:end]
                for token, (start, end) in zip(enc.tokens, enc.offsets, strict=True)
                if self.unk_token is not None and token == self.unk_token
            )
        )
        return Tokens(text, tuple(enc.tokens), tuple(enc.ids), unknown)
