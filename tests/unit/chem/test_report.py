"""The HTML design report: well-formed (lxml, strict), self-contained (images inline, no URL), every
text escaped (a name holding <script>), one table row per candidate; and `serendip chem report`."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from chem_helpers import tiny_model_folder
from lxml import etree, html
from typer.testing import CliRunner

from serendip.chem.design.property import PropertyOracle
from serendip.chem.report import make_report, read_test_predictions
from serendip.cli.app import app

EVIL = "<script>alert('x')</script> & co"
CANDIDATES = ["Cc1ccc(O)cc1", "c1ccncc1C(=O)O", "O=C1NC(=S)SC1=Cc1ccccc1", "CCCCCCCCCCCCCCCC"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_model_folder(tmp_path_factory.mktemp("report") / "model")


@pytest.fixture(scope="module")
def report(folder):
    oracle = PropertyOracle(folder, qed_min=0.3, constraints=["no_pains"], ad_min=0.4)
    names = [EVIL, "b", "c", "d"]
    return make_report(oracle, CANDIDATES, names=names, neighbours=2, run={"method": "surrogate_ga", "note": EVIL})


def test_report_is_well_formed_and_self_contained(report):
    strict = etree.HTMLParser(recover=False)
    doc = etree.fromstring(report.encode("utf-8"), strict)                 # raises on malformed HTML
    assert doc.tag == "html"
    tree = html.fromstring(report)
    srcs = [img.get("src") for img in tree.iter("img")]
    assert len(srcs) == 4 + 1 + 4 * 2                                        # grid, parity, 2 neighbours each
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert not re.search(r"(?:src|href)\s*=\s*['\"]?(?:https?:)?//", report)   # nothing fetched
    assert not tree.xpath("//script") and not tree.xpath("//link")


def test_every_text_is_escaped(report):
    assert EVIL not in report and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; co" in report
    tree = html.fromstring(report)
    assert EVIL in tree.xpath("string(//table[@id='scores']/tbody/tr[td[2]][1])") or any(
        EVIL == td.text_content() for td in tree.xpath("//table[@id='scores']//td"))


def test_tables_have_a_row_per_candidate_ranked_by_score(report, folder):
    tree = html.fromstring(report)
    rows = tree.xpath("//table[@id='scores']/tbody/tr")
    assert len(rows) == 4 and len(tree.xpath("//table[@id='neighbours']/tbody/tr")) == 4
    scores = [float(r.xpath("td")[3].text_content()) for r in rows]
    assert scores == sorted(scores, reverse=True)
    by_smiles = {r.xpath("td")[2].text_content(): r.xpath("td")[11].text_content() for r in rows}
    assert by_smiles["O=C1NC(=S)SC1=Cc1ccccc1"].startswith("PAINS: ene_rhod_A(235)")
    assert by_smiles["CCCCCCCCCCCCCCCC"].startswith("outside the domain: AD 0.")
    assert by_smiles["CCCCCCCCCCCCCCCC"].endswith(" < 0.4")
    assert "of 4 candidates beat it" in tree.xpath("string(//p[@id='beat'])")
    parity, meta = read_test_predictions(folder), json.loads((folder / "model.json").read_text())
    assert len(parity["smiles"]) == meta["split"]["n_test"]                  # the test split, as trained
    rmse = float(np.sqrt(np.mean((parity["measured"] - parity["prediction"]) ** 2)))
    assert rmse == pytest.approx(meta["metrics"]["test"]["rmse"], rel=1e-9)
    assert (parity["lower"] < parity["prediction"]).all() and (parity["prediction"] < parity["upper"]).all()


def test_chem_report_cli(folder, tmp_path):
    runner = CliRunner()
    cands = tmp_path / "scored.csv"
    cands.write_text("call,smiles,score\n" + "".join(f"{i},{s},{1 - i / 10}\n" for i, s in enumerate(CANDIDATES, 1))
                     + "9,C1CC,0.1\n")
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["chem", "report", str(cands), "--model", str(folder), "--out", str(out), "--top", "3",
                            "--qed-min", "0.3", "--no-pains", "--neighbours", "1"])
    assert r.exit_code == 1, r.output                                        # the broken line is listed
    assert "line 6" in r.output and "report on 3 of 4 candidates" in r.output
    tree = html.fromstring(out.read_text())
    assert len(tree.xpath("//table[@id='scores']/tbody/tr")) == 3
    r = runner.invoke(app, ["chem", "report", str(cands), "--model", str(tmp_path), "--out", str(out)])
    assert r.exit_code == 2 and "no model.json" in r.output
    r = runner.invoke(app, ["chem", "optimize", "qed", "--model", str(folder), "--budget", "5"])
    assert r.exit_code == 2 and "either an ORACLE name or --model" in r.output
