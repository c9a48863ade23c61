"""benchmarks/kg_cid.py: the ``--embedding`` argument (the normaliser's cosines for predicted entities)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _rows
import kg_cid


def test_type_cosines_reads_each_type_once():
    assert kg_cid.type_cosines("Chemical=0.84,Disease=0.76") == {"Chemical": 0.84, "Disease": 0.76}
    assert kg_cid.type_cosines("Disease=-0.5") == {"Disease": -0.5}


@pytest.mark.parametrize("text", ["Disease", "Disease=abc", "Disease=1.5", "Gene=0.8", "Disease=0.7,Disease=0.8",
                                  "Disease=nan", ""])
def test_type_cosines_refuses_bad_pairs(text):
    with pytest.raises(argparse.ArgumentTypeError, match="TYPE=COS"):
        kg_cid.type_cosines(text)


def test_entity_sources_are_plain_row_settings():
    args = argparse.Namespace(tagger="model:RUN", tagger_name=None, embedding=kg_cid.type_cosines("Disease=0.76"))
    sources = kg_cid.entity_sources(args)
    assert sources == {"gold": {"entities": "gold"},
                       "predicted": {"entities": "predicted", "ner": "model:RUN", "embedding": "Disease=0.76"}}
    row = _rows.row(kg_cid.BENCH, kg_cid.DATASET, "test", 500, "cid-ft", "f1", 0.5, settings=sources["predicted"])
    assert _rows._row_problem(row) is None
    plain = kg_cid.entity_sources(argparse.Namespace(tagger=None, tagger_name=None, embedding=None))
    assert plain["predicted"] == {"entities": "predicted"}
