"""How a token is written on screen: the text it stands for (byte-level BPE pieces
decoded by :mod:`explainer.token_text`, as in the report), with its whitespace made
visible (``␣`` for a space) because a video frame has no table borders to show it.

>>> shown("Ġcapital", byte_level=True), shown("ĠæĪĳ", byte_level=True)
('␣capital', '␣我')
>>> shown("Ġæ", byte_level=True), shown("Ġcapital", byte_level=False)
('␣<0xE6>', 'Ġcapital')
"""

from __future__ import annotations

from explainer import token_text
from explainer.i18n import _
from explainer.tokenizer import is_cjk
from explainer.trace import Trace


def shown(token: str, *, byte_level: bool) -> str:
    """``token`` as shown on screen (see the module's docstring)."""
    if not byte_level:
        return token
    return token_text.visible(token_text.readable(token), spaces=True)


def is_byte_level(trace: Trace) -> bool:
    """Whether the trace's tokens are byte-level BPE pieces."""
    return token_text.is_byte_level(trace.vocab)


def shown_tokens(trace: Trace, tokens: tuple[str, ...]) -> tuple[str, ...]:
    """``tokens`` of ``trace`` as shown on screen."""
    byte_level = is_byte_level(trace)
    return tuple(shown(tok, byte_level=byte_level) for tok in tokens)


def vocab_word(trace: Trace, index: int) -> str:
    """Vocabulary entry ``index`` as shown on screen."""
    return shown(trace.vocab[index], byte_level=is_byte_level(trace))


def split_caption(trace: Trace) -> str:
    """One line on how this model's tokenizer cut the sentence."""
    if is_byte_level(trace):
        return _(
            "Byte-level BPE: frequent pieces of text, case kept; "
            "␣ is a space, <0x..> one byte of a longer character"
        )
    if trace.config.model == "minilm":
        return _(
            "WordPiece: lower-cased words and pieces (## continues a word), "
            "between [CLS] and [SEP]"
        )
    return word_split_caption(trace.source.text)


def word_split_caption(sentence: str) -> str:
    """What the toy word tokenizer did to ``sentence``: say "lower-cased" only of
    text that has case, and how Chinese, Japanese or Korean text was split.

    >>> word_split_caption("When you play game of thrones")
    'Lower-cased and split into words and punctuation: the tokens'
    >>> word_split_caption("我爱自然语言")
    'No spaces: each Chinese, Japanese or Korean character is a token'
    >>> word_split_caption("当 你 玩 权力 的 游戏")
    'Split at the spaces: each word is a token'
    """
    has_case = any(char.lower() != char.upper() for char in sentence)
    has_cjk = any(is_cjk(char) for char in sentence)
    if has_cjk and not has_case:
        if len(sentence.split()) > 1:
            return _("Split at the spaces: each word is a token")
        return _("No spaces: each Chinese, Japanese or Korean character is a token")
    return _("Lower-cased and split into words and punctuation: the tokens")
