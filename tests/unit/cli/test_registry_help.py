"""CLI choices come from the registries at the moment help is shown: an entry registered after import
(a plugin, this test) appears in ``--help`` with no CLI edit."""
from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from serendip.cli.app import app
from serendip.models.registries import PRETRAIN_CORPORA


@pytest.fixture
def toy_corpus_kind():
    from serendip.models.plugins import load_domains

    load_domains()
    PRETRAIN_CORPORA.add("toy_kind", object())
    yield "toy_kind"
    PRETRAIN_CORPORA._items.pop("toy_kind")


def test_pretrain_kind_help_lists_registered_kinds(toy_corpus_kind):
    out = CliRunner().invoke(app, ["pretrain", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    line = " ".join(out.output.replace("│", " ").split())
    # smiles is registered by serendip.chem when RDKit is installed (before or after dna: import order)
    listed = re.search(r"Registered: ([a-z_, ]+)\.", line)
    assert listed and listed.group(1).split(", ")[-1] == "toy_kind", line
    assert set(listed.group(1).split(", ")) - {"smiles"} == {"text", "dna", "toy_kind"}


def test_unknown_kind_is_a_one_line_error_listing_the_kinds(tmp_path):
    fa = tmp_path / "g.fa"
    fa.write_text(">s\nACGT\n")
    out = CliRunner().invoke(app, ["pretrain", "--fasta", str(fa), "--kind", "protein",
                                   "--out", str(tmp_path / "m")])
    assert out.exit_code == 2
    assert re.search(r"unknown pre-training corpus kind 'protein'; expected one of: dna, (smiles, )?text",
                     " ".join(out.output.split())), out.output
