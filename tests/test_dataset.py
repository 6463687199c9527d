"""The shipped English → Chinese translation pairs (explainer/data/translation.tsv):
checked here from the raw file with plain string handling, independently of the
loader, and the loader's ids checked against the tokenizer."""

from collections import Counter
from importlib import resources

import numpy as np
import pytest

from explainer.dataset import (
    consistency,
    load_dataset,
    load_pairs,
    read_pairs,
    word_translations,
)
from explainer.tokenizer import BOS, EOS, PAD, SPECIALS, UNK


def raw_rows() -> list[tuple[str, str, str]]:
    """The file's pairs as three strings each, read without the loader."""
    text = resources.files("explainer.data").joinpath("translation.tsv").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "english\tchinese\talignment"
    return [tuple(line.split("\t")) for line in lines[1:]]


def raw_links(alignment: str) -> list[tuple[str, str]]:
    return [tuple(entry.split("-")) for entry in alignment.split()]


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


def test_the_file_ships_as_package_data_with_150_to_250_pairs():
    rows = raw_rows()
    assert 150 <= len(rows) <= 250
    assert all(len(row) == 3 for row in rows)
    assert len(load_pairs()) == len(rows)


def test_the_two_required_pairs_with_their_exact_tokens_and_alignment():
    rows = {english: (chinese, links) for english, chinese, links in raw_rows()}
    chinese, links = rows["when you play game of thrones"]
    assert chinese == "当 你 玩 权力 的 游戏"
    # when-当 you-你 play-玩; "game of thrones" → "权力 的 游戏" reverses the order
    assert sorted(raw_links(links)) == sorted(
        [("0", "0"), ("1", "1"), ("2", "2"), ("3", "5"), ("4", "4"), ("5", "3")]
    )
    chinese, links = rows["you win or you die"]
    assert chinese == "你 赢 或者 你 死"
    assert sorted(raw_links(links)) == [(str(k), str(k)) for k in range(5)]


@pytest.mark.parametrize(
    "english",
    [
        "when you play game of thrones you win or you die",
        "the night is dark and full of terrors",
        "winter is coming",
        "winter is coming and the king in the north remembers",
        "a mind needs books as a sword needs a whetstone",
    ],
)
def test_the_tutorial_sentences_are_in_it(english):
    assert english in {row[0] for row in raw_rows()}


def test_every_alignment_index_is_in_range_and_every_word_is_covered():
    for english, chinese, alignment in raw_rows():
        n_en, n_zh = len(english.split()), len(chinese.split())
        covered_en, covered_zh = set(), set()
        for i, j in raw_links(alignment):
            assert (i, j) != ("_", "_"), english
            if i != "_":
                assert 0 <= int(i) < n_en, (english, alignment)
                covered_en.add(int(i))
            if j != "_":
                assert 0 <= int(j) < n_zh, (english, alignment)
                covered_zh.add(int(j))
        assert covered_en == set(range(n_en)), english
        assert covered_zh == set(range(n_zh)), english


def test_unaligned_chinese_words_are_function_words_only():
    """A Chinese word marked '_-j' must be a particle or measure word, not a
    content word the model would have to invent."""
    unaligned = Counter()
    for _, chinese, alignment in raw_rows():
        words = chinese.split()
        unaligned.update(words[int(j)] for i, j in raw_links(alignment) if i == "_")
    assert set(unaligned) <= {"的", "了", "很"}


def test_pairs_are_unique_and_lower_case():
    rows = raw_rows()
    assert len({row[0] for row in rows}) == len(rows)
    assert len({row[:2] for row in rows}) == len(rows)
    assert all(row[0] == row[0].lower() for row in rows)


def test_vocabulary_sizes_are_the_distinct_words_plus_the_special_tokens(dataset):
    rows = raw_rows()
    english = {w for row in rows for w in row[0].split()}
    chinese = {w for row in rows for w in row[1].split()}
    assert len(dataset.source.vocab) == len(SPECIALS) + len(english)
    assert len(dataset.target.vocab) == len(SPECIALS) + len(chinese)
    assert len(dataset.tokenizer.vocab) == len(SPECIALS) + len(english | chinese)
    # small enough for a toy model to learn: measured 71 English, 57 Chinese words
    assert len(english) <= 80 and len(chinese) <= 70
    print(f"{len(rows)} pairs, {len(english)} English words, {len(chinese)} Chinese")


def test_every_english_word_is_translated_the_same_way_at_least_90_percent():
    """From the raw alignments: each English word's linked Chinese words."""
    seen: dict[str, Counter] = {}
    for english, chinese, alignment in raw_rows():
        en, zh = english.split(), chinese.split()
        linked: dict[int, list[int]] = {}
        for i, j in raw_links(alignment):
            if i != "_" and j != "_":
                linked.setdefault(int(i), []).append(int(j))
        for i, js in linked.items():
            seen.setdefault(en[i], Counter())[" ".join(zh[j] for j in sorted(js))] += 1
    shares = {w: c.most_common(1)[0][1] / sum(c.values()) for w, c in seen.items()}
    worst = min(shares, key=shares.get)
    assert shares[worst] >= 0.9, (worst, seen[worst])
    assert shares == pytest.approx(consistency(load_pairs()))
    thrones = sum(row[0].split().count("thrones") for row in raw_rows())
    assert word_translations(load_pairs())["thrones"] == Counter({"权力": thrones})


def test_the_consistency_check_catches_a_word_translated_two_ways():
    lines = ["english\tchinese\talignment"] + [
        f"you win {k}\t你 赢 {k}\t0-0 1-1 2-2" for k in range(8)
    ]
    lines += ["you lose\t你 输\t0-0 1-1", "you lose it\t你 失去 它\t0-0 1-1 2-2"]
    shares = consistency(read_pairs(lines))
    assert shares["win"] == 1.0
    assert shares["lose"] == 0.5


def test_the_tokenizer_round_trips_every_sentence_without_unk(dataset):
    for pair in dataset.pairs:
        for tokenizer, words in (
            (dataset.source, pair.english),
            (dataset.target, pair.chinese),
            (dataset.tokenizer, pair.english),
            (dataset.tokenizer, pair.chinese),
        ):
            enc = tokenizer.encode(" ".join(words))
            assert enc.unknown == () and UNK not in enc.tokens
            assert tuple(tokenizer.decode(enc.ids)) == words


def test_ids_are_what_the_encoder_decoder_and_the_loss_expect(dataset):
    vocab = dataset.tokenizer.vocab
    example = dataset.example(0)
    assert [
        vocab[i] for i in example.source_ids
    ] == "when you play game of thrones".split()
    assert [vocab[i] for i in example.decoder_ids] == [
        BOS,
        *"当 你 玩 权力 的 游戏".split(),
    ]
    assert [vocab[i] for i in example.labels] == [*"当 你 玩 权力 的 游戏".split(), EOS]


def test_the_padded_batch_holds_every_example(dataset):
    source, decoder, labels = dataset.batch()
    n = len(dataset.pairs)
    assert source.shape[0] == decoder.shape[0] == labels.shape[0] == n
    pad = dataset.tokenizer.vocab.index(PAD)
    for k, example in enumerate(dataset.examples()):
        m, t = len(example.source_ids), len(example.decoder_ids)
        np.testing.assert_array_equal(source[k, :m], example.source_ids)
        assert (source[k, m:] == pad).all()
        np.testing.assert_array_equal(decoder[k, :t], example.decoder_ids)
        np.testing.assert_array_equal(labels[k, :t], example.labels)
        assert (labels[k, t:] == pad).all()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("you win\t你 赢\t0-0 1-2", "line 2: alignment '1-2': Chinese index 2"),
        ("you win\t你 赢\t0-0", "line 2: English word 1 has no alignment entry"),
        ("you win\t你 赢\t0-0 1-1 1-_", "line 2: English word 1 is both linked"),
        ("you win\t你 赢 了\t0-0 1-1", "line 2: Chinese word 2 has no alignment"),
        ("You win\t你 赢\t0-0 1-1", "line 2: English 'You win' must be lower-case"),
        ("you win\t你 赢", "line 2: 2 tab-separated columns"),
        ("you win\t你赢\t0-0 1-0", "line 2: Chinese '你赢' splits into"),
    ],
)
def test_a_bad_row_is_named_with_its_line(row, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        read_pairs(["english\tchinese\talignment", row], "dataset")


def test_a_repeated_pair_and_a_missing_header_are_refused():
    with pytest.raises(ValueError, match="line 3: the English sentence of line 2"):
        read_pairs(["english\tchinese\talignment"] + ["a b\t甲 乙\t0-0 1-1"] * 2)
    with pytest.raises(ValueError, match="line 1: the header must be"):
        read_pairs(["a b\t甲 乙\t0-0 1-1"])


def test_the_readme_states_the_dataset_numbers(dataset):
    from pathlib import Path

    readme = " ".join(
        (Path(__file__).resolve().parents[1] / "README.md").read_text().split()
    )
    english = len(dataset.source.vocab) - len(SPECIALS)
    chinese = len(dataset.target.vocab) - len(SPECIALS)
    pairs = len(dataset.pairs)
    assert f"{pairs} pairs, {english} English words, {chinese} Chinese words" in readme
    assert f"vocabulary of {len(dataset.tokenizer.vocab)} tokens" in readme


def test_the_demo_pair_is_found_with_its_alignment(dataset):
    pair = dataset.pairs[dataset.find("When you play game of thrones")]
    # 游戏 (game) comes from English word 3, 权力 (thrones) from word 5
    assert [pair.sources_of(j) for j in range(6)] == [
        (0,),
        (1,),
        (2,),
        (5,),
        (4,),
        (3,),
    ]
    with pytest.raises(ValueError, match="'hold the sword' is not an English sentence"):
        dataset.find("hold the sword")
