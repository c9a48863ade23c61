"""DNA augmentations registered in AUGMENTATIONS: new examples only, seeded, metadata."""
from __future__ import annotations

import numpy as np
import pytest

import serendip.genomics  # noqa: F401  (registers the augmentations)
from serendip.errors import ConfigError, DataError
from serendip.models.example import Example
from serendip.models.registries import AUGMENTATIONS


@pytest.fixture()
def examples():
    return [Example("ACGTacgtNN", label="1", id="a", source="f.fa line 1", meta={"k": 1}),
            Example("GGGGCCCCAAAATTTT" * 4, label="0", id="b")]


def test_registered_with_names():
    for name in ("reverse_complement", "random_substitution"):
        assert AUGMENTATIONS.get(name).name == name


def test_reverse_complement_new_examples_only(examples):
    aug = AUGMENTATIONS.get("reverse_complement")()
    out = aug.apply(examples, np.random.default_rng(0))
    assert len(out) == len(examples) and all(o is not e for o, e in zip(out, examples))
    assert out[0].text == "NNacgtACGT" and out[0].label == "1" and out[0].id == "a:rc"
    assert out[0].meta == {"k": 1, "augmented_from": "a", "augmentation": "reverse_complement"}
    assert out[0].source == "f.fa line 1"
    assert examples[0].text == "ACGTacgtNN" and examples[0].meta == {"k": 1}  # originals untouched


def test_reverse_complement_bad_text_names_example():
    with pytest.raises(DataError, match="example x"):
        AUGMENTATIONS.get("reverse_complement")().apply([Example("AC#", id="x")], None)


def test_random_substitution_rate_seed_and_case(examples):
    aug = AUGMENTATIONS.get("random_substitution")(rate=0.3, copies=3)
    out = aug.apply(examples, np.random.default_rng(7))
    assert len(out) == 6 and [o.id for o in out[:3]] == ["a:sub0", "a:sub1", "a:sub2"]
    again = aug.apply(examples, np.random.default_rng(7))
    assert [o.text for o in out] == [o.text for o in again]
    for o in out:
        src = examples[0] if o.meta["augmented_from"] == "a" else examples[1]
        assert len(o.text) == len(src.text) and o.label == src.label
        diff = [(x, y) for x, y in zip(src.text, o.text) if x != y]
        assert len(diff) == o.meta["n_substitutions"]
        for x, y in diff:
            assert x in "ACGTacgt" and y in "ACGTacgt" and x.isupper() == y.isupper()
        assert o.text[-2:] == src.text[-2:] or src is examples[1]  # N never changed


def test_random_substitution_rate_is_per_base():
    ex = [Example("ACGT" * 2500, id="long")]
    out = AUGMENTATIONS.get("random_substitution")(rate=0.1).apply(ex, 0)
    assert 850 < out[0].meta["n_substitutions"] < 1150
    none = AUGMENTATIONS.get("random_substitution")(rate=0.0).apply(ex, 0)
    assert none[0].text == ex[0].text and none[0].meta["n_substitutions"] == 0


def test_random_substitution_bad_parameters():
    cls = AUGMENTATIONS.get("random_substitution")
    for kw in ({"rate": -0.1}, {"rate": 1.5}, {"copies": 0}):
        with pytest.raises(ConfigError):
            cls(**kw)
    with pytest.raises(ConfigError):
        cls().apply([Example("ACGT")], rng="seed")
