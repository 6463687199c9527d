"""Captions in the videos: where they break into lines (English at spaces, Chinese
between characters but never inside a Latin word or a number, never before a
closing mark), and that a Chinese render shows Chinese captions drawn with glyphs
the CJK font has (no missing-glyph boxes)."""

import doctest
import shutil
import subprocess

import numpy as np
import pytest
from explainer.scenes import caption_lines
from explainer.scenes.caption_lines import break_points, is_wide, split_lines

FONT = "WenQuanYi Micro Hei"  # scenes/common.py's TEXT_FONT (fonts-wqy-microhei)
SCENES_SHOWN = ("tokens", "scaling")  # default preset: its words, and a demo


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


# --- a Chinese render -------------------------------------------------------------


def font_charset(family: str) -> set[int]:
    """The code points the installed font ``family`` has glyphs for, from
    fontconfig (``fc-match`` finds the file and face, ``fc-query`` lists its
    charset as hex ranges such as ``20-7e a0-17f``)."""
    if shutil.which("fc-match") is None or shutil.which("fc-query") is None:
        pytest.skip("fontconfig's fc-match/fc-query missing (scripts/setup.sh)")
    found = subprocess.run(
        ["fc-match", "--format=%{file}|%{index}", family],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path, index = found.split("|")
    charset = subprocess.run(
        ["fc-query", "--index", index, "--format=%{charset}", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    points: set[int] = set()
    for part in charset.split():
        low, _, high = part.partition("-")
        points.update(range(int(low, 16), int(high or low, 16) + 1))
    return points


def test_font_charset_reads_ranges():
    points = font_charset(FONT)
    assert ord("A") in points and ord("注") in points and ord("，") in points
    assert ord("\U0001f600") not in points  # no emoji in WenQuanYi


@pytest.fixture(scope="module")
def said(tmp_path_factory) -> dict[str, dict[str, list[str]]]:
    """The captions of SCENES_SHOWN, in English and in Chinese, as the scene
    linter saw them on screen (the default preset; nothing is drawn)."""
    pytest.importorskip("manim")
    from explainer import config as config_mod
    from explainer import i18n
    from explainer.presets import get_preset
    from explainer.render import SCENES
    from explainer.render.lint import lint_specs
    from explainer.run import trace_sentence

    preset = get_preset("default")
    trace = trace_sentence(config_mod.from_dict(preset.config), preset.sentence)
    media = tmp_path_factory.mktemp("media")
    found: dict[str, dict[str, list[str]]] = {}
    for lang in ("en", "zh"):
        with i18n.language(lang):
            results = lint_specs(
                trace,
                [SCENES[name] for name in SCENES_SHOWN],
                quality="low",
                media_dir=media,
            )
        found[lang] = {r.name: [c.text for c in r.captions] for r in results}
    return found


@pytest.mark.slow
def test_a_chinese_render_says_its_captions_in_chinese(said):
    for scene in SCENES_SHOWN:
        english, chinese = said["en"][scene], said["zh"][scene]
        assert len(chinese) == len(english) >= 3, scene
        for en, zh in zip(english, chinese, strict=True):
            assert zh != en, f"{scene}: {en!r} is not translated"
            assert any(is_wide(char) for char in zh), f"{scene}: {zh!r}"


@pytest.mark.slow
def test_every_character_of_the_chinese_captions_is_in_the_cjk_font(said):
    points = font_charset(FONT)
    chars = {char for texts in said["zh"].values() for t in texts for char in t}
    missing = sorted(c for c in chars if not c.isspace() and ord(c) not in points)
    assert not missing, f"no glyph in {FONT} for {missing}"


def test_a_long_chinese_caption_wraps_onto_two_lines_at_full_size():
    pytest.importorskip("manim")
    from explainer.scenes.common import CAPTION_WIDTH, caption_text

    one = caption_text("每个位置得到一个固定的向量")
    content = (
        "每个 token 变成一个向量：嵌入表中它的那一行，再乘以 √d_model，"
        "这样它和随后加上的位置编码一样重，模型就能同时知道它是什么、在哪里"
    )
    two = caption_text(content)
    assert two.text == content  # what the reading pace and the linter read
    assert two.width <= CAPTION_WIDTH + 1e-6
    assert 1.8 * one.height < two.height < 2.6 * one.height  # two lines
    assert two.width > 0.7 * CAPTION_WIDTH  # lines of about half each: not shrunk


@pytest.mark.parametrize(
    "content",
    [
        "每个词的查询与所有的键相比较：分数说明它对每个词的关注程度，"
        "然后再按照这些权重把值加起来。",
        "Divide by √d_k so that the softmax does not saturate when d_k is large, "
        "as the paper says in its footnote 4.",
    ],
)
def test_a_two_line_caption_is_its_lines_set_one_by_one(content):
    """The caption's lines are cut from one Pango layout of the whole caption (it
    is laid out once); they must be what setting each line on its own gives."""
    pytest.importorskip("manim")
    from explainer.scenes.caption_lines import split_lines
    from explainer.scenes.common import (
        CAPTION_SIZE,
        CAPTION_WIDTH,
        TEXT_FONT,
        caption_text,
        fit,
        stacked,
    )
    from manim import Text

    caption = caption_text(content)
    whole = Text(content, font=TEXT_FONT, font_size=CAPTION_SIZE)
    lefts = [g.get_left()[0] for g in whole.submobjects]  # advances, by hand
    inked = [i for i, c in enumerate(content) if not c.isspace()]
    widths = [0.0] * len(content)
    for k, i in enumerate(inked):
        last = whole.submobjects[k].width
        widths[i] = lefts[k + 1] - lefts[k] if k + 1 < len(lefts) else last
    lines = split_lines(content, CAPTION_WIDTH, widths)
    assert len(lines) == 2
    alone = stacked(tuple(lines), TEXT_FONT, CAPTION_SIZE, centred=True)
    alone = fit(alone.copy(), CAPTION_WIDTH)
    ours, theirs = caption.copy().center(), alone.copy().center()
    assert ours.points.shape == theirs.points.shape
    assert np.abs(ours.points - theirs.points).max() < 1e-4
