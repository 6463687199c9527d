"""explainer/render/recent.py: the dict keeps its most recently used entries."""

from explainer.render.recent import Recent


def test_the_least_recently_used_entry_goes_first():
    recent = Recent(2)
    recent["a"], recent["b"] = 1, 2
    assert recent["a"] == 1  # a used: b is now the oldest
    recent["c"] = 3
    assert list(recent) == ["a", "c"]
    recent["a"] = 4  # set again: the newest
    recent["d"] = 5
    assert dict(recent) == {"a": 4, "d": 5}
