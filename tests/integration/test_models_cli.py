"""``serendip finetune``, ``serendip predict`` and ``serendip runs list | show`` through Typer's CliRunner,
on a tiny BERT built in the test (2 layers, hidden size 32, character vocabulary)."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serendip.cli.app import app

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models run fastest on one thread, and several OpenMP threads on shared cores spin-wait
    (a 10x slowdown when another process is busy); restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def make_backbone(folder: Path) -> Path:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("ACGTN")
    vocab = {t: i for i, t in enumerate(specials + chars + ["##" + c for c in chars])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=1000))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]",
                            mask_token="[MASK]").save_pretrained(str(folder))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=64,
                         max_position_embeddings=64)).save_pretrained(str(folder))
    return folder


def dna(rng: random.Random, positive: bool, n: int = 16) -> str:
    s = [rng.choice("ACGT") for _ in range(n)]
    if positive:
        i = rng.randrange(0, n - 4)
        s[i:i + 4] = list("GGGG")
    else:
        s = [c if c != "G" else rng.choice("ACT") for c in s]
    return "".join(s)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    make_backbone(root / "backbone")
    rng = random.Random(0)
    with open(root / "train.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "sequence", "promoter"])
        for i in range(60):
            w.writerow([f"s{i}", dna(rng, bool(i % 2)), "yes" if i % 2 else "no"])
    (root / "finetune.toml").write_text(
        'task = "binary"\nbackbone = "backbone"\n\n'
        '[data]\ntrain = "train.csv"\n'
        'columns = {text = "sequence", label = "promoter", id = "name"}\n'
        'split = {dev = 0.2, test = 0.2}\n\n'
        '[training]\nepochs = 3\nbatch_size = 8\nlr = 1e-2\n\n'
        '[output]\nplots = false\n', encoding="utf-8")
    assert runner.invoke(app, ["init", str(root / "ws")]).exit_code == 0
    return root


def test_finetune_runs_list_show_predict(project, tmp_path, monkeypatch):
    ws = str(project / "ws")
    # the backbone path in the config is relative to the working folder (not the config file)
    monkeypatch.chdir(project)
    r = runner.invoke(app, ["finetune", str(project / "finetune.toml"), "--set", "peft.method=lora",
                            "--set", "training.epochs=2", "-w", ws, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{"):])
    run_id = out["run_id"]
    assert out["selection"]["metric"] == "mcc" and out["selection"]["epochs_run"] == 2
    assert 0 < out["trainable_fraction"] < 0.2
    assert Path(out["run_dir"]).parent == (project / "ws" / "runs").resolve()

    r = runner.invoke(app, ["runs", "list", "-w", ws, "--json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert [(x["id"], x["status"], x["task"]) for x in rows] == [(run_id, "done", "binary")]
    r = runner.invoke(app, ["runs", "list", "-w", ws])
    assert r.exit_code == 0 and "done" in r.stdout

    r = runner.invoke(app, ["runs", "show", run_id[:17], "-w", ws])
    assert r.exit_code == 0, r.output
    assert run_id in r.stdout and "mcc" in r.stdout
    r = runner.invoke(app, ["runs", "show", run_id, "-w", ws, "--json"])
    assert json.loads(r.stdout)["summary"]["selection"]["metric"] == "mcc"

    query = tmp_path / "query.csv"
    query.write_text("name,sequence\nq1,ACGTGGGGACGTACGT\nq2,ACACACTTTACACACA\n", encoding="utf-8")
    r = runner.invoke(app, ["predict", "--run", run_id, str(query), "-o", str(tmp_path / "p.csv"),
                            "-w", ws])
    assert r.exit_code == 0, r.output
    with open(tmp_path / "p.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [x["id"] for x in rows] == ["q1", "q2"]
    assert set(rows[0]) == {"id", "prediction", "p_no", "p_yes"}
    assert abs(float(rows[0]["p_no"]) + float(rows[0]["p_yes"]) - 1) < 1e-9

    # unseen label at predict time: exit 2, one line naming it, no traceback
    bad = tmp_path / "bad.csv"
    bad.write_text("name,sequence,promoter\nq1,ACGT,maybe\n", encoding="utf-8")
    r = runner.invoke(app, ["predict", "--run", run_id, str(bad), "-o", str(tmp_path / "b.csv"),
                            "-w", ws])
    assert r.exit_code == 2 and "'maybe'" in r.output and "Traceback" not in r.output


def test_cli_errors_exit_2(project, tmp_path, monkeypatch):
    monkeypatch.chdir(project)
    ws = str(project / "ws")
    r = runner.invoke(app, ["finetune", str(project / "finetune.toml"), "--set", "training.lrr=1",
                            "-w", ws])
    assert r.exit_code == 2 and "training.lrr" in r.output
    r = runner.invoke(app, ["finetune", str(tmp_path / "missing.toml"), "-w", ws])
    assert r.exit_code == 2 and "missing.toml" in r.output
    r = runner.invoke(app, ["predict", "--run", "nope", str(tmp_path / "x.csv"), "-w", ws])
    assert r.exit_code == 2 and "no run 'nope'" in r.output
    r = runner.invoke(app, ["runs", "show", "nope", "-w", ws])
    assert r.exit_code == 2 and "serendip runs list" in r.output
    monkeypatch.setenv("SERENDIP_WORKSPACE", str(tmp_path / "no-ws"))
    r = runner.invoke(app, ["runs", "list"])
    assert r.exit_code == 2 and "not a Serendip workspace" in r.output
