import pytest

from explainer.tokenizer import (
    SPECIALS,
    UNK,
    Tokenizer,
    default_corpus,
    load_corpus,
    split_words,
)


def test_vocabulary_is_specials_then_unique_words_in_order():
    tok = Tokenizer.from_corpus(["the cat sat", "# a comment", "The dog sat"])
    assert tok.vocab == (*SPECIALS, "the", "cat", "sat", "dog")


def test_default_corpus_contains_the_seed_sentence():
    tok = Tokenizer.from_corpus(default_corpus())
    enc = tok.encode("When you play game of thrones")
    assert enc.unknown == ()
    assert enc.tokens == ("when", "you", "play", "game", "of", "thrones")
    assert tok.decode(enc.ids) == list(enc.tokens)


def test_unknown_words_map_to_unk_and_are_listed_once():
    tok = Tokenizer.from_corpus(["a b"])
    enc = tok.encode("a zebra b zebra yak")
    assert enc.tokens == ("a", UNK, "b", UNK, UNK)
    assert enc.unknown == ("zebra", "yak")
    assert enc.ids[1] == tok.vocab.index(UNK) == 1


def test_cjk_split_per_character_unless_spaced():
    assert split_words("我爱自然语言") == ["我", "爱", "自", "然", "语", "言"]
    assert split_words("我 爱 自然 语言") == ["我", "爱", "自然", "语言"]


def test_cjk_words_and_their_characters_are_in_the_vocabulary():
    tok = Tokenizer.from_corpus(default_corpus())
    assert tok.encode("我 爱 自然 语言").unknown == ()
    assert tok.encode("我爱自然语言").unknown == ()


def test_punctuation_is_split_off():
    assert split_words("Winter, is coming.") == ["winter", ",", "is", "coming", "."]
    assert split_words("won't") == ["won't"]


def test_bos_is_prepended_on_request():
    tok = Tokenizer.from_corpus(["a"])
    assert tok.encode("a", bos=True).tokens == ("<bos>", "a")


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_sentence_is_refused(text):
    with pytest.raises(ValueError, match="empty"):
        Tokenizer.from_corpus(["a"]).encode(text)


def test_corpus_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.txt"):
        load_corpus(tmp_path / "nope.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n")
    with pytest.raises(ValueError, match="has no words"):
        load_corpus(empty)


def test_vocabulary_must_start_with_specials():
    with pytest.raises(ValueError, match="must start with"):
        Tokenizer(("a", "b"))
