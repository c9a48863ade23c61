"""serendip.genomics.imbalanced: derived splits with every negative kept and 5 % positives."""
from __future__ import annotations

import pytest

from serendip.errors import DataError
from serendip.genomics.imbalanced import imbalanced_splits, positives_to_keep
from serendip.models.example import Example


def _toy(n_neg: int, n_pos: int, prefix: str) -> list[Example]:
    exs = [Example(f"{prefix}N{i}", label="0", id=f"{prefix}:n{i}") for i in range(n_neg)]
    exs += [Example(f"{prefix}P{i}", label="1", id=f"{prefix}:p{i}") for i in range(n_pos)]
    return exs[::2] + exs[1::2]  # interleaved, so that "original order" means something


def test_positives_to_keep():
    assert positives_to_keep(95, 0.05) == 5
    assert positives_to_keep(23705, 0.05) == 1248  # 1248 / 24953 = 5.001 %
    with pytest.raises(DataError):
        positives_to_keep(10, 1.0)


def test_toy_split_keeps_negatives_order_and_is_seeded():
    splits = {"train": _toy(190, 150, "tr"), "test": _toy(95, 60, "te")}
    out, rep = imbalanced_splits(splits, 0.05, seed=3)
    assert rep.positives == {"train": 10, "test": 5} and rep.negatives == {"train": 190, "test": 95}
    for s, exs in out.items():
        assert [e for e in splits[s] if e.label == "0"] == [e for e in exs if e.label == "0"]
        pos = [splits[s].index(e) for e in exs]
        assert pos == sorted(pos)  # original order kept
    again, _ = imbalanced_splits(splits, 0.05, seed=3)
    assert {s: [e.id for e in v] for s, v in again.items()} == {s: [e.id for e in v] for s, v in out.items()}
    other, _ = imbalanced_splits(splits, 0.05, seed=4)
    assert [e.id for e in other["train"]] != [e.id for e in out["train"]]


def test_errors():
    with pytest.raises(DataError, match="neither"):
        imbalanced_splits({"train": [Example("A", label="2")]})
    with pytest.raises(DataError, match="only 1 available"):
        imbalanced_splits({"train": _toy(100, 1, "x")}, 0.05)


@pytest.mark.data
def test_prom_core_all_5pct(mirror):
    from serendip.genomics.gue import load_gue

    official = load_gue("prom_core_all")
    out, rep = imbalanced_splits(official, 0.05, seed=0)
    # the counts stated in benchmarks/imbalance_dna.py
    assert rep.rows == {"train": 24953, "dev": 3096, "test": 3107}
    assert rep.positives == {"train": 1248, "dev": 155, "test": 155}
    for s, exs in out.items():
        n_pos = sum(e.label == "1" for e in exs)
        assert abs(n_pos / len(exs) - 0.05) < 0.0005
        assert sum(e.label == "0" for e in exs) == sum(e.label == "0" for e in official[s])  # all kept
        assert {id(e) for e in exs} <= {id(e) for e in official[s]}  # rows of that split only
    again, _ = imbalanced_splits(load_gue("prom_core_all"), 0.05, seed=0)
    assert {s: [e.id for e in v] for s, v in again.items()} == {s: [e.id for e in v] for s, v in out.items()}
    official_shared = {e.text for e in official["train"]} & {e.text for e in official["test"]}
    derived_shared = {e.text for e in out["train"]} & {e.text for e in out["test"]}
    assert derived_shared <= official_shared and len(derived_shared) == 8
