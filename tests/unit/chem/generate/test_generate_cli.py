"""``serendip chem generate train | sample | evaluate``: thin wrappers, end to end on a tiny file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serendip.cli.app import app

runner = CliRunner()
SMILES = ["CCO", "c1ccccc1", "CC(=O)Oc1ccccc1C(=O)O", "ClCCBr", "CCN(CC)CC", "O=C(O)c1ccncc1"] * 4


def test_train_sample_evaluate(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("SMILES\n" + "".join(s + "\n" for s in SMILES) + "C!C\n")
    model = tmp_path / "m"
    r = runner.invoke(app, ["chem", "generate", "train", str(data), "--out", str(model), "--epochs", "1",
                            "--hidden", "8", "--layers", "1", "--embedding", "4", "--batch-size", "8", "--json"])
    assert r.exit_code == 1, r.output                                 # one record skipped
    assert "train.csv, line 26" in r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["stopped"] == "epochs" and got["n_train"] + got["n_val"] == len(SMILES)
    out = tmp_path / "gen.csv"
    r = runner.invoke(app, ["chem", "generate", "sample", str(model), "-n", "20", "--out", str(out), "--seed", "1"])
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == "SMILES" and len(lines) == 21
    r = runner.invoke(app, ["chem", "generate", "sample", str(model), "-n", "20", "--out", str(out), "--seed", "1",
                            "--mask", "none"])  # the model's raw distribution: other strings, same count
    assert r.exit_code == 0, r.output
    raw = out.read_text().splitlines()
    assert len(raw) == 21 and raw != lines
    out.write_text("SMILES\nCCO\nc1ccccc1\nc1ccc2ccccc2c1\nC1CC\n")  # novel: naphthalene, its scaffold
    r = runner.invoke(app, ["chem", "generate", "evaluate", str(out), "--train", str(data), "--json"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout.strip().splitlines()[-1])["metrics"]
    assert m["valid"] == 0.75 and m["novelty"] == 1 / 3 and m["scaffold_novelty"] == 1 / 2


def test_missing_model_folder_is_one_line(tmp_path: Path) -> None:
    r = runner.invoke(app, ["chem", "generate", "sample", str(tmp_path), "-n", "2"])
    assert r.exit_code == 2 and "not a SMILES generator folder" in r.output


def test_train_names_and_counts_what_it_skips(tmp_path: Path) -> None:
    data = tmp_path / "train.smi"
    data.write_text("".join(s + "\n" for s in SMILES) + "C(C)(C)(C)(C)C\n")
    r = runner.invoke(app, ["chem", "generate", "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1",
                            "--hidden", "8", "--layers", "1", "--embedding", "4", "--batch-size", "8"])
    text = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert "skipped: " + str(data) + ", line 25: RDKit rejects the SMILES C(C)(C)(C)(C)C: Explicit valence" in text
    assert "24 molecules used, 1 skipped" in text


def test_train_skips_a_blank_line_mid_file_and_goes_on(tmp_path: Path) -> None:
    data = tmp_path / "train.smi"
    data.write_text("".join(s + "\n" for s in SMILES[:12]) + "\n" + "".join(s + "\n" for s in SMILES[12:]) + "\n\n")
    r = runner.invoke(app, ["chem", "generate", "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1",
                            "--hidden", "8", "--layers", "1", "--embedding", "4", "--batch-size", "8"])
    text = " ".join(r.output.split())
    assert r.exit_code == 1, r.output  # the blank line 13 is named; the blank lines that end the file are not
    assert "skipped: " + str(data) + ", line 13: no SMILES on this line" in text
    assert "24 molecules used, 1 skipped" in text


def test_train_skips_a_200k_character_line_with_its_number(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("SMILES\n" + "".join(s + "\n" for s in SMILES[:12]) + "C" * 200_000 + "\n"
                    + "".join(s + "\n" for s in SMILES[12:]))
    r = runner.invoke(app, ["chem", "generate", "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1",
                            "--hidden", "8", "--layers", "1", "--embedding", "4", "--batch-size", "8"])
    text = " ".join(r.output.split())
    assert r.exit_code == 1, r.output
    assert ("skipped: " + str(data) + ", line 14: a SMILES of 200,000 characters, longer than 10,000: not parsed"
            in text)
    assert "24 molecules used, 1 skipped" in text and (tmp_path / "m" / "config.json").is_file()


def test_evaluate_counts_empty_and_huge_lines_as_invalid_and_says_so(tmp_path: Path) -> None:
    gen = tmp_path / "gen.csv"
    gen.write_text("SMILES\nCCO\n\nc1ccccc1\n" + "C" * 200_000 + "\n\n\nCCN\n")
    r = runner.invoke(app, ["chem", "generate", "evaluate", str(gen), "--json"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["counts"]["n"] == 7 and got["counts"]["n_valid"] == 3 and got["counts"]["n_empty"] == 3
    assert got["metrics"]["valid"] == pytest.approx(3 / 7)
    assert "3 empty lines counted as invalid samples (empty draws)" in " ".join(r.output.split())


def test_evaluate_refuses_a_file_of_only_blank_lines_and_names_a_huge_reference_line(tmp_path: Path) -> None:
    gen = tmp_path / "gen.smi"
    gen.write_text("\n\n\n")
    r = runner.invoke(app, ["chem", "generate", "evaluate", str(gen)])
    assert r.exit_code == 2 and "gen.smi: only blank lines (3), no SMILES" in " ".join(r.output.split())
    gen.write_text("CCO\nCCN\n")
    ref = tmp_path / "test.smi"
    ref.write_text("CCO\n" + "C" * 200_000 + "\n")
    r = runner.invoke(app, ["chem", "generate", "evaluate", str(gen), "--test", str(ref)])
    text = " ".join(r.output.split())
    assert r.exit_code == 2 and "test.smi, line 2: a SMILES of 200,000 characters, longer than 10,000" in text
    assert "Traceback" not in r.output


def test_sample_refuses_a_folder_out_before_loading_or_sampling(tmp_path: Path) -> None:
    out = tmp_path / "dir"
    out.mkdir()
    # the model folder does not even exist: the --out check comes first, before loading and sampling
    r = runner.invoke(app, ["chem", "generate", "sample", str(tmp_path / "nomodel"), "-n", "30000", "--out", str(out)])
    assert r.exit_code == 2 and f"cannot write {out}: it is a folder" in " ".join(r.output.split())
    r = runner.invoke(app, ["chem", "generate", "sample", str(tmp_path / "nomodel"), "-n", "3", "--out",
                            str(tmp_path / "no" / "gen.csv")])
    assert r.exit_code == 2 and "does not exist" in r.output and list(out.iterdir()) == []


def test_train_kekule_writes_a_kekule_model(tmp_path: Path) -> None:
    data = tmp_path / "train.smi"
    data.write_text("".join(s + "\n" for s in SMILES))
    model = tmp_path / "m"
    r = runner.invoke(app, ["chem", "generate", "train", str(data), "--out", str(model), "--epochs", "1",
                            "--hidden", "8", "--layers", "1", "--embedding", "4", "--kekule"])
    assert r.exit_code == 0, r.output
    meta = json.loads((model / "config.json").read_text())
    assert meta["config"]["smiles_form"] == "kekule"
    assert "c" not in json.loads((model / "vocab.json").read_text())["tokens"]


def test_train_reports_an_empty_last_row_and_ignores_trailing_blank_lines(tmp_path: Path) -> None:
    data = tmp_path / "t.csv"
    data.write_text("id,SMILES,y\n" + "".join(f"{k},{s},1\n" for k, s in enumerate(SMILES)) + "99,,1\n\n\n")
    r = runner.invoke(app, ["chem", "generate", "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1",
                            "--hidden", "8", "--layers", "1", "--embedding", "4", "--batch-size", "8"])
    assert r.exit_code == 1, r.output                         # the empty SMILES field of the last row: reported
    assert f"t.csv, line {len(SMILES) + 2}: no SMILES on this line" in r.output
    assert "1 skipped" in r.output


@pytest.mark.parametrize("extra, message", [
    (["--resume", "--kekule"], "trained on as-given SMILES and keeps that form"),
    (["--resume", "--force"], "--resume continues the model in --out and --force replaces it"),
])
def test_contradicting_resume_options_are_refused_before_training(tmp_path: Path, extra: list, message: str) -> None:
    """``--resume --kekule`` on an as-given model, and ``--resume --force``: refused, the model untouched."""
    data = tmp_path / "t.smi"
    data.write_text("".join(s + "\n" for s in SMILES))
    args = ["chem", "generate", "train", str(data), "--out", str(tmp_path / "m"), "--epochs", "1", "--hidden", "8",
            "--layers", "1", "--embedding", "4", "--batch-size", "8"]
    assert runner.invoke(app, args).exit_code == 0
    before = (tmp_path / "m" / "weights.safetensors").read_bytes()
    r = runner.invoke(app, args + extra)
    assert r.exit_code == 2 and message in " ".join(r.output.split())
    assert (tmp_path / "m" / "weights.safetensors").read_bytes() == before


def _evaluate_with_train(tmp_path: Path, train_name: str, train_text: str) -> tuple[str, dict]:
    """`evaluate --json` of two generated SMILES (CCO, CCN) against a training file: (output, counts+metrics)."""
    train = tmp_path / train_name
    train.write_text(train_text)
    gen = tmp_path / "gen.csv"
    gen.write_text("SMILES\nCCO\nCCN\n")
    r = runner.invoke(app, ["chem", "generate", "evaluate", str(gen), "--train", str(train), "--json"])
    assert r.exit_code == 0, r.output
    return r.output, json.loads(r.stdout.strip().splitlines()[-1])


def test_evaluate_counts_training_smiles_rdkit_rejects(tmp_path: Path) -> None:
    # two RDKit rejects: pentavalent, not kekulisable
    output, got = _evaluate_with_train(tmp_path, "train.smi", "CCO\nC(C)(C)(C)(C)C\nc1ccccc1\nc1cccc1C\n")
    assert "2 SMILES of" in output and "RDKit rejects: left out of the novelty reference" in output
    assert got["counts"]["n_train_rejected"] == 2 and got["metrics"]["novelty"] == 0.5
    assert got["counts"]["n_train_too_long"] == 0
    output, got = _evaluate_with_train(tmp_path, "long.smi", "CCO\n" + "C" * 2_000_000 + "\n")
    assert got["counts"]["n_train_too_long"] == 1 and got["counts"]["n_train_rejected"] == 0
    assert "1 SMILES of" in output and "(damaged lines?): not parsed" in " ".join(output.split())
    r = runner.invoke(app, ["chem", "generate", "evaluate", str(tmp_path / "gen.csv"), "--json"])  # no --train: no count
    assert "n_train_rejected" not in json.loads(r.stdout.strip().splitlines()[-1])["counts"]


def test_evaluate_reads_the_training_file_as_train_does(tmp_path: Path) -> None:
    """A training file with a blank row in it (that `train` accepts, naming the row) is accepted by
    `evaluate --train`: the blank rows are counted and left out of the novelty reference."""
    # line 3 blank, line 5 an empty field; an extra newline at the end
    output, got = _evaluate_with_train(tmp_path, "train.csv", "SMILES\nCCO\n\nc1ccccc1\n,\n\n")
    assert "2 rows of" in output and "with no SMILES: left out of the novelty reference" in output
    assert got["counts"]["n_train_blank"] == 2 and got["counts"]["n_train_rejected"] == 0
    assert got["metrics"]["novelty"] == 0.5



@pytest.mark.parametrize("text, what", [("SMILES\n", "a header and no rows"),
                                        ("smiles,x\n,1\n,2\n", "2 rows, none with a SMILES")])
def test_evaluate_refuses_a_training_file_without_smiles(tmp_path: Path, text: str, what: str) -> None:
    """Novelty against an empty reference would read 1.0: refused, naming the file."""
    (tmp_path / "train.csv").write_text(text)
    (tmp_path / "gen.csv").write_text("SMILES\nCCO\n")
    r = runner.invoke(app, ["chem", "generate", "evaluate", str(tmp_path / "gen.csv"), "--train",
                            str(tmp_path / "train.csv")])
    assert r.exit_code == 2 and f"no training SMILES to measure novelty against ({what})" in " ".join(r.output.split())


def test_a_byte_order_mark_or_a_quoted_header_is_read_as_the_header(tmp_path: Path) -> None:
    from serendip.chem.generate import read_smiles_file

    (tmp_path / "bom.csv").write_text("\ufeffsmiles,x\nCCO,1\nc1ccccc1,2\n", encoding="utf-8")
    assert read_smiles_file(tmp_path / "bom.csv") == (["CCO", "c1ccccc1"], [2, 3])
    (tmp_path / "quoted.csv").write_text('"smiles"\n"CCO"\n""\n')
    assert read_smiles_file(tmp_path / "quoted.csv", blank_lines="keep-rows") == (["CCO", ""], [2, 3])
