"""explainer/render/patching.py: a patch is undone as it was (an own attribute
put back, an inherited one uncovered); a shortcut turned on for good is entered
once however often it is asked for."""

from contextlib import contextmanager

from explainer.render import patching


class Base:
    def who(self):
        return "base"


class Child(Base):
    def own(self):
        return "own"


def test_an_own_attribute_is_put_back_and_an_inherited_one_uncovered():
    with patching.patched(Child, "own", lambda self: "patched"):
        with patching.patched(Child, "who", lambda self: "patched"):
            assert Child().own() == Child().who() == "patched"
    assert Child().own() == "own" and Child().who() == "base"
    assert "who" not in vars(Child) and vars(Child)["own"] is not None


def test_a_shortcut_for_good_is_entered_once():
    entered = []

    @contextmanager
    def shortcut():
        entered.append(1)
        yield

    patching.for_good(shortcut)
    patching.for_good(shortcut, shortcut)
    assert entered == [1]
