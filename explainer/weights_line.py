"""The trained weights' one line (:meth:`explainer.train.weights_file.Weights.describe`)
in the language in use.

A trace records that line in English (``Trace.weights``), so that its JSON is the
same in every language; the page reads its parts back and says them again.
A line in another shape (a trace written by another program) is shown as it is.
"""

from __future__ import annotations

import re

from explainer.i18n import N_, _

DESCRIBED = re.compile(
    r"trained (?P<goal>.+) for (?P<steps>\d+) Adam steps on (?P<dataset>.+); "
    r"loss (?P<first>\S+) at the start, (?P<last>\S+) at the end"
)
"""The shape of :meth:`~explainer.train.weights_file.Weights.describe`'s line."""

GOALS = {
    "to translate English into Chinese": N_("to translate English into Chinese"),
    "to predict the next English word": N_("to predict the next English word"),
}
"""The goals of the shipped tasks (``explainer.train.weights_file._GOALS``)."""


def weights_line(described: str) -> str:
    """``described`` in the language in use.

    >>> from explainer.i18n import language
    >>> line = ("trained to translate English into Chinese for 500 Adam steps on "
    ...         "translation.tsv; loss 3.91 at the start, 0.052 at the end")
    >>> weights_line(line) == line
    True
    >>> with language("zh"):
    ...     for part in weights_line(line).split("；"):
    ...         print(part)
    训练目标：把英语翻译成中文
    在 translation.tsv 上做了 500 步 Adam
    损失开始时为 3.91，结束时为 0.052
    """
    found = DESCRIBED.fullmatch(described)
    if not found:
        return described
    goal = found["goal"]
    goal = _(GOALS[goal]) if goal in GOALS else goal.removeprefix("for ")
    return _(
        "trained {goal} for {steps} Adam steps on {dataset}; "
        "loss {first} at the start, {last} at the end"
    ).format(
        goal=goal,
        steps=found["steps"],
        dataset=found["dataset"],
        first=found["first"],
        last=found["last"],
    )
