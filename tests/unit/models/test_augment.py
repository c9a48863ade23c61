"""apply_augmentations: training data only, counts, leakage filter, seeding."""
from __future__ import annotations

import dataclasses

import pytest

from serendip.errors import ConfigError
from serendip.models.augment import apply_augmentations
from serendip.models.example import Example
from serendip.models.registries import AUGMENTATIONS


class Upper:
    """Test augmentation: an upper-cased copy of every example."""

    name = "upper"

    def __init__(self, suffix: str = ""):
        self.suffix = suffix

    def apply(self, examples, rng):
        return [dataclasses.replace(e, text=e.text.upper() + self.suffix,
                                    meta={"augmented_from": e.id}) for e in examples]


class Shuffle:
    """Test augmentation: a random permutation of each text's characters (uses the rng)."""

    name = "shuffle"

    def apply(self, examples, rng):
        return [dataclasses.replace(e, text="".join(rng.permutation(list(e.text))), meta={})
                for e in examples]


class Bad:
    name = "bad"

    def __init__(self, mode="original"):
        self.mode = mode

    def apply(self, examples, rng):
        if self.mode == "original":
            return [examples[0]]
        if self.mode == "empty":
            return [Example(text="  ", label="a")]
        return "not a list"


@pytest.fixture(autouse=True)
def _registered(monkeypatch):
    for cls in (Upper, Shuffle, Bad):
        monkeypatch.setitem(AUGMENTATIONS._items, cls.name, cls)


def _train():
    return [Example(text=t, label="a", id=f"t{i}") for i, t in enumerate(["abc", "hello", "xyz"])]


def test_training_only_counts_and_eval_filter():
    train = _train()
    dev = [Example(text="HELLO", label="a", id="d1")]
    test = [Example(text="other", label="a", id="e1")]
    out, rep = apply_augmentations(train, [{"name": "upper"}], [dev, test], seed=0)
    assert [e.text for e in out] == ["abc", "hello", "xyz", "ABC", "XYZ"]
    assert [e.text for e in train] == ["abc", "hello", "xyz"]  # inputs untouched
    assert [e.text for e in dev] == ["HELLO"] and len(test) == 1
    count = rep.augmentations[0]
    assert (count.generated, count.kept, count.dropped_eval_duplicate) == (3, 2, 1)
    assert rep.n_original == 3 and rep.n_after == 5 and rep.added == 2
    assert out[3].meta == {"augmented_from": "t0", "augmentation": "upper"}
    assert rep.to_dict()["augmentations"][0]["dropped_eval_duplicate"] == 1


def test_params_and_bare_names():
    out, rep = apply_augmentations(_train(), ["upper", {"name": "upper", "params": {"suffix": "!"}}])
    assert [c.params for c in rep.augmentations] == [{}, {"suffix": "!"}]
    assert "ABC!" in [e.text for e in out] and len(out) == 9  # each applied to the originals


def test_seeded_and_independent_of_later_entries():
    a, _ = apply_augmentations(_train(), [{"name": "shuffle"}], seed=7)
    b, _ = apply_augmentations(_train(), [{"name": "shuffle"}, {"name": "upper"}], seed=7)
    c, _ = apply_augmentations(_train(), [{"name": "shuffle"}], seed=8)
    assert [e.text for e in a] == [e.text for e in b[:6]]
    assert [e.text for e in a] != [e.text for e in c]  # fixed seeds: checked to differ
    assert sorted(a[3].text) == sorted("abc")


def test_errors():
    with pytest.raises(ConfigError, match="unknown augmentation 'nope'"):
        apply_augmentations(_train(), [{"name": "nope"}])
    with pytest.raises(ConfigError, match="augmentation 'upper'.*unexpected keyword"):
        apply_augmentations(_train(), [{"name": "upper", "params": {"p": 1}}])
    with pytest.raises(ConfigError, match=r"augmentations\[0\]: unknown key 'p'"):
        apply_augmentations(_train(), [{"name": "upper", "p": 1}])
    with pytest.raises(ConfigError, match="new examples only"):
        apply_augmentations(_train(), ["bad"])
    with pytest.raises(ConfigError, match="not a list"):
        apply_augmentations(_train(), [{"name": "bad", "params": {"mode": "str"}}])


def test_empty_text_dropped_and_counted():
    out, rep = apply_augmentations(_train(), [{"name": "bad", "params": {"mode": "empty"}}])
    assert len(out) == 3 and rep.augmentations[0].dropped_empty == 1


def test_config_models_accepted():
    from serendip.models.config import AugmentationConfig

    out, _ = apply_augmentations(_train(), [AugmentationConfig(name="upper")])
    assert len(out) == 6


def test_an_augmentations_own_counts_are_reported(monkeypatch):
    class Counting(Upper):
        name = "counting"

        def apply(self, examples, rng):
            self.last_counts = {"rejected": 2}
            return super().apply(examples, rng)

    monkeypatch.setitem(AUGMENTATIONS._items, "counting", Counting)
    _out, rep = apply_augmentations(_train(), ["counting", "upper"])
    assert [a.details for a in rep.augmentations] == [{"rejected": 2}, {}]
    assert rep.to_dict()["augmentations"][0]["details"] == {"rejected": 2}
