"""Masked-language-model pre-training (serendip.models.pretrain) and `serendip pretrain`."""
from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serendip.errors import ConfigError
from serendip.models.pretrain import (
    PretrainConfig,
    apply_pretrain_overrides,
    load_pretrain_config,
    pretrain,
)

MOTIFS = ["ACGTTGCA", "TTTAAACC", "GGGCCCAT"]


def _synthetic_fasta(path: Path, n: int = 60, seed: int = 1) -> Path:
    """Two records of ~n*7 bp built mostly from three motifs (learnable in a few steps)."""
    rng = random.Random(seed)
    seq = "".join(rng.choice(MOTIFS) if rng.random() < 0.7 else rng.choice("ACGT") for _ in range(n))
    path.write_text(f">s1 synthetic\n{seq}\n>s2\n{seq[::-1].lower()}\n")
    return path


def _tiny(fasta: Path, out: Path, **training) -> PretrainConfig:
    return PretrainConfig.model_validate({
        "kind": "dna",
        "data": {"inputs": [str(fasta)], "heldout": 0.1},
        "windows": {"length": 48, "stride": 24},
        "tokenizer": {"kind": "kmer", "k": 3},
        "model": {"size": "tiny", "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                  "max_position_embeddings": 64},
        "training": {"max_steps": 20, "batch_size": 8, "lr": 3e-3, "eval_every": 10, **training},
        "output": {"dir": str(out)},
    })


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pretrain")
    fasta = _synthetic_fasta(tmp / "syn.fa")
    cfg = _tiny(fasta, tmp / "model")
    return cfg, pretrain(cfg), fasta


def test_loss_decreases_and_metrics_reported(tiny_run):
    result = tiny_run[1]
    assert result.steps == 20 and len(result.losses) == 20
    first, last = sum(result.losses[:5]) / 5, sum(result.losses[-5:]) / 5
    assert last < first - 0.1, result.losses
    assert result.final_loss == result.losses[-1]
    assert [e["step"] for e in result.evals] == [10, 20]
    assert 0.0 <= result.heldout["accuracy"] <= 1.0 and result.heldout["perplexity"] > 1.0
    assert result.heldout["masked_tokens"] > 0
    assert set(result.baseline) >= {"method", "accuracy", "perplexity"}
    assert result.steps_per_s > 0 and result.tokens_per_s > 0 and result.tokens_seen > 0


def test_output_folder_and_report(tiny_run):
    cfg, result, fasta = tiny_run
    out = result.output_dir
    assert out == cfg.output.dir
    for name in ("config.json", "model.safetensors", "tokenizer_config.json", "kmer_tokenizer.json",
                 "pretrain_report.json"):
        assert (out / name).is_file(), name
    assert not out.with_name(out.name + ".partial").exists()
    report = json.loads((out / "pretrain_report.json").read_text())
    import hashlib

    assert report["inputs"][0]["sha256"] == hashlib.sha256(fasta.read_bytes()).hexdigest()
    assert report["steps"] == 20 and report["loss_curve"] == result.losses
    assert report["masking"]["span"] == 3  # k-mer tokenizer: DNABERT span masking of k tokens
    assert report["data"]["records"] == 2 and report["data"]["windows_heldout"] > 0
    assert report["tokenizer"] == {"class": "KmerTokenizer", "kind": "kmer", "size": 69, "k": 3}
    assert report["config"]["training"]["seed"] == 0


def test_folder_loads_as_sequence_classifier(tiny_run):
    import torch
    from transformers import AutoModelForSequenceClassification

    from serendip.models.tokenizers import load_tokenizer

    out = tiny_run[1].output_dir
    tok = load_tokenizer(out)
    from transformers import AutoTokenizer

    assert type(AutoTokenizer.from_pretrained(out)) is type(tok)  # registered by load_tokenizer
    model = AutoModelForSequenceClassification.from_pretrained(out, num_labels=2)
    batch = tok(["ACGTTGCAACGT", "TTTAAACC"], padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (2, 2)
    # the encoder weights are the pre-trained ones
    from safetensors.torch import load_file

    saved = load_file(str(out / "model.safetensors"))
    key = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(model.state_dict()[key], saved[key])


def test_same_seed_same_final_loss(tiny_run, tmp_path):
    cfg, first, _ = tiny_run
    again = pretrain(cfg.model_copy(update={"output": cfg.output.model_copy(update={"dir": tmp_path / "m2"})}))
    assert again.losses == first.losses
    assert again.final_loss == first.final_loss


def test_existing_output_needs_overwrite(tiny_run):
    cfg = tiny_run[0]
    with pytest.raises(ConfigError, match="overwrite"):
        pretrain(cfg)


def test_continued_pretraining_from_folder(tiny_run, tmp_path):
    cfg, first, _ = tiny_run
    data = cfg.model_dump(mode="python")
    data["model"]["init_from"] = first.output_dir
    data["training"].update(max_steps=3, eval_every=100)
    data["output"]["dir"] = tmp_path / "cont"
    result = pretrain(PretrainConfig.model_validate(data))
    report = json.loads((result.output_dir / "pretrain_report.json").read_text())
    assert report["model"]["init_from"] == str(first.output_dir)
    assert report["model"]["parameters"] == first.n_parameters
    assert result.losses[0] < first.losses[0]  # starts from the trained weights


def _encoder_only(model_dir: Path, out: Path) -> Path:
    """The encoder of a masked LM saved without its head (as a sentence-transformers folder holds it)."""
    import shutil

    from transformers import BertModel

    BertModel.from_pretrained(str(model_dir)).save_pretrained(str(out))
    for f in model_dir.iterdir():
        if f.name.startswith(("tokenizer", "special_tokens", "vocab", "serendip")) and not (out / f.name).exists():
            shutil.copy(f, out / f.name)
    return out


def test_continuing_a_model_without_its_head_warms_the_new_head_up_first(tiny_run, tmp_path):
    """An ``init_from`` folder without the masked-LM head: the new head weights are named, trained alone
    for ``head_warmup_steps`` steps (counted in the run's steps), and reported."""
    cfg, first, _ = tiny_run
    data = cfg.model_dump(mode="python")
    data["model"]["init_from"] = _encoder_only(first.output_dir, tmp_path / "enc")
    data["training"].update(max_steps=3, eval_every=100, head_warmup_steps=2)
    data["output"]["dir"] = tmp_path / "cont"
    said: list[str] = []
    result = pretrain(PretrainConfig.model_validate(data), log=said.append)
    report = json.loads((result.output_dir / "pretrain_report.json").read_text())["optimisation"]
    assert result.steps == 5 and len(result.losses) == 5
    assert any(line.startswith("head warm-up first: 2 steps training only the 5 new tensors") for line in said), said
    assert report["head_warmup_steps"] == 2 and report["head_lr"] == 1e-3
    assert "cls.predictions.transform.dense.weight" in report["new_parameters"]
    assert not any(n.startswith("bert.") for n in report["new_parameters"])
    data["training"].update(head_warmup_steps=None)  # default: min(200, a quarter of the 3 steps) = 0
    data["output"].update(dir=tmp_path / "cont2")
    said.clear()
    assert pretrain(PretrainConfig.model_validate(data), log=said.append).steps == 3
    assert any("lacks 5 masked-LM head tensors" in line and "start untrained" in line for line in said), said
    data["model"]["init_from"] = first.output_dir  # a masked LM with its head: a warm-up asked for is said to be ignored
    data["training"].update(head_warmup_steps=2)
    data["output"].update(dir=tmp_path / "cont3")
    said.clear()
    assert pretrain(PretrainConfig.model_validate(data), log=said.append).steps == 3
    assert any("training.head_warmup_steps=2 ignored" in line for line in said), said


def test_head_phase_moves_only_the_new_weights():
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from serendip.models.pretrain.loop import (
        TrainingPlan,
        make_plan_optimizer,
        set_head_phase,
    )

    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(vocab_size=20, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                       intermediate_size=32, max_position_embeddings=16))
    new = [n for n, _ in model.named_parameters() if n.startswith("cls.")]
    plan = TrainingPlan(total=4, warmup=0, lr=1e-3, batch_size=2, steps_per_epoch=2, head_steps=2, head_lr=1e-2,
                        new_params=new)
    optim, sched = make_plan_optimizer(model, plan, 0.01)
    ids = torch.randint(0, 20, (2, 8))

    def snapshot():
        return {n: p.detach().clone() for n, p in model.named_parameters()}

    start = snapshot()
    for step in range(1, 5):
        set_head_phase(model, plan, step)
        loss = model(input_ids=ids, labels=ids).loss
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        if step == 2:
            after_head = snapshot()
    assert all(torch.equal(after_head[n], start[n]) for n in start if n not in new)
    assert any(not torch.equal(after_head[n], start[n]) for n in new)
    final = snapshot()
    assert not torch.equal(final["bert.encoder.layer.0.output.dense.weight"],
                           start["bert.encoder.layer.0.output.dense.weight"])


def test_dna_bpe_pretraining_uses_the_corpus_kinds_alphabet(tmp_path):
    """``kind = "dna"`` with ``tokenizer.kind = "bpe"``: the DNA corpus declares the BPE alphabet
    (ACGTN, no pre-tokenization), so the tokenizer holds no byte-level symbols and reads lower case."""
    cfg = _tiny(_synthetic_fasta(tmp_path / "syn.fa"), tmp_path / "m", max_steps=2)
    cfg = apply_pretrain_overrides(cfg, ['tokenizer.kind="bpe"', "tokenizer.vocab_size=40"])
    result = pretrain(cfg)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(result.output_dir)
    assert result.report["tokenizer"]["kind"] == "bpe" and len(tok) <= 40
    assert set("ACGTN") <= set(tok.get_vocab()) and "Ġ" not in tok.get_vocab()
    assert tok("acgtacgt")["input_ids"] == tok("ACGTACGT")["input_ids"]


def test_text_bpe_pretraining(tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    docs = tmp_path / "docs.jsonl"
    sentences = ["aspirin lowers the risk of colorectal adenoma", "statins cause muscle pain in some patients",
                 "vitamin d does not prevent fractures", "metformin lowers blood glucose"]
    docs.write_text("\n".join(json.dumps({"id": i, "abstract": s}) for i, s in enumerate(sentences * 4)) + "\n")
    cfg = PretrainConfig.model_validate({
        "kind": "text", "data": {"inputs": [str(docs)], "text_column": "abstract", "block_tokens": 16,
                                 "heldout": 0.2},
        "tokenizer": {"vocab_size": 300},
        "model": {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "max_position_embeddings": 32},
        "training": {"max_steps": 4, "batch_size": 4},
        "output": {"dir": str(tmp_path / "text-model")}})
    result = pretrain(cfg)
    assert result.report["tokenizer"]["kind"] == "bpe" and result.report["masking"]["span"] == 1
    assert result.report["data"]["documents_heldout"] == 3
    tok = AutoTokenizer.from_pretrained(result.output_dir)
    model = AutoModelForSequenceClassification.from_pretrained(result.output_dir, num_labels=3)
    assert model(**tok(["aspirin and statins"], return_tensors="pt")).logits.shape == (1, 3)


def test_config_errors_and_overrides(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "dna"\n[training]\nlrr = 1e-3\n')
    with pytest.raises(ConfigError, match=r"unknown key 'training.lrr'.*allowed here: .*lr"):
        load_pretrain_config(bad)
    good = tmp_path / "sub" / "p.toml"
    good.parent.mkdir()
    good.write_text('kind = "dna"\n[data]\ninputs = ["g.fa"]\n[output]\ndir = "out"\n')
    cfg = load_pretrain_config(good)
    assert cfg.data.inputs == [good.parent.resolve() / "g.fa"]
    assert cfg.output.dir == good.parent.resolve() / "out"
    cfg2 = apply_pretrain_overrides(cfg, ["training.max_steps=7", "model.size=small", "windows.reverse_complement=false"])
    assert (cfg2.training.max_steps, cfg2.model.size, cfg2.windows.reverse_complement) == (7, "small", False)
    assert cfg.training.max_steps is None  # not modified
    with pytest.raises(ConfigError, match="model.size"):
        apply_pretrain_overrides(cfg, ["model.size=huge"])
    with pytest.raises(ConfigError, match="kmer tokenizer is for kind='dna'"):
        apply_pretrain_overrides(cfg, ["kind=text", "tokenizer.kind=kmer"])
    with pytest.raises(ConfigError, match="no input"):
        pretrain(PretrainConfig(output={"dir": tmp_path / "x"}))
    with pytest.raises(ConfigError, match="max_position_embeddings"):
        pretrain(PretrainConfig.model_validate({
            "data": {"inputs": [str(_synthetic_fasta(tmp_path / "s.fa"))]}, "windows": {"length": 200},
            "model": {"max_position_embeddings": 64}, "output": {"dir": str(tmp_path / "y")}}))
    assert not (tmp_path / "y").exists() and not (tmp_path / "y.partial").exists()


def test_cli_pretrain(tmp_path):
    from serendip.cli.app import app

    fasta = _synthetic_fasta(tmp_path / "syn.fa", n=30)
    out = tmp_path / "cli-model"
    args = ["pretrain", "--fasta", str(fasta), "--max-steps", "3", "--out", str(out), "--json",
            "--set", "windows.length=40", "--set", "tokenizer.k=3", "--set", "model.hidden_size=32",
            "--set", "model.intermediate_size=64", "--set", "model.max_position_embeddings=64"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout.strip().splitlines()[-1])
    assert data["steps"] == 3 and Path(data["output_dir"]) == out
    assert (out / "model.safetensors").is_file()
    again = CliRunner().invoke(app, args)  # exists, no --overwrite: one-line error, exit 2
    assert again.exit_code == 2
    assert "overwrite" in again.output and "Traceback" not in again.output


@pytest.mark.data
def test_pretrain_ecoli_slice(mirror, tmp_path, monkeypatch):
    """~10 steps on the first 20 kb of the E. coli K-12 genome from the mirror."""
    monkeypatch.setenv("SERENDIP_DATA_MIRROR", str(mirror))
    cfg = PretrainConfig.model_validate({
        "kind": "dna", "data": {"dataset": "genomes", "dataset_files": "*ecoli*", "max_bp": 20_000},
        "windows": {"length": 128}, "tokenizer": {"k": 6},
        "model": {"size": "tiny", "max_position_embeddings": 128},
        "training": {"max_steps": 10, "batch_size": 8, "eval_every": 100},
        "output": {"dir": str(tmp_path / "ecoli")}})
    result = pretrain(cfg)
    report = result.report
    assert report["data"]["bp"] == 20_000 and report["data"]["bp_available"] == 4_641_652
    assert report["inputs"][0]["sha256"] == "1cecb103582e2453c74578ba94388d3a0c7c387db53666caca4509fe055de2a8"
    # 19,000 bp of training sequence in 128-bp windows (148 + 1 flush with the end), both strands
    assert report["data"]["windows_train"] == 2 * 149
    assert report["tokenizer"]["size"] == 4 ** 6 + 5 and report["masking"]["span"] == 6
    assert len(result.losses) == 10 and all(math.isfinite(x) for x in result.losses)
    assert result.heldout["masked_tokens"] > 0


def test_config_from_options(tmp_path):
    from serendip.models.pretrain import pretrain_config_from_options

    fasta = _synthetic_fasta(tmp_path / "g.fa")
    cfg = pretrain_config_from_options(fasta=[fasta], size="small", max_steps=5, out=tmp_path / "o",
                                       overwrite=True, seed=3, overrides=["windows.length=64"])
    assert (cfg.kind, cfg.data.inputs, cfg.model.size, cfg.training.max_steps) == ("dna", [fasta], "small", 5)
    assert (cfg.output.dir, cfg.output.overwrite, cfg.training.seed) == (tmp_path / "o", True, 3)
    assert type(cfg.windows).__name__ == "WindowsSection" and cfg.windows.length == 64
    assert cfg.tokenizer_kind() == "kmer"
    text = pretrain_config_from_options(kind="text", dataset="genomes", dataset_files="*ecoli*")
    assert (text.kind, text.data.dataset, text.tokenizer_kind()) == ("text", "genomes", "bpe")
    with pytest.raises(ConfigError, match=r"^options: kind: unknown pre-training corpus kind 'protein'; "
                                          r"expected one of: dna, (smiles, )?text"):
        pretrain_config_from_options(kind="protein")
    with pytest.raises(ConfigError, match=r"windows: length: .*greater than or equal to 8.*; unknown key "
                                          r"'lenght'; allowed here: length, max_ambiguous"):
        pretrain_config_from_options(overrides=["windows.lenght=3", "windows.length=2"])
    with pytest.raises(ConfigError, match="kind 'text' takes no windows options"):
        pretrain_config_from_options(kind="text", overrides=["windows.lenght=3"])


def test_summary_rows():
    from serendip.models.pretrain import PretrainResult

    result = PretrainResult(output_dir=Path("m"), steps=3, final_loss=1.23456, losses=[2.0, 1.5, 1.23456],
                            evals=[], heldout={"accuracy": 0.5, "perplexity": 12.345, "masked_tokens": 40},
                            baseline={"accuracy": 0.25, "perplexity": 20.0}, n_parameters=12345,
                            tokens_seen=900, steps_per_s=1.5, tokens_per_s=450.0, wall_s=2.0)
    assert result.title() == "Pre-training: 3 steps, final training loss 1.2346"
    assert result.summary_rows() == [("accuracy", "0.5000", "0.2500"), ("perplexity", "12.35", "20.00"),
                                     ("masked tokens", "40", ""), ("steps/s | tokens/s", "1.50 | 450", ""),
                                     ("parameters", "12,345", "")]
    result.heldout = {}
    assert result.summary_rows()[0] == ("(no held-out data)", "-", "-")


def test_unknown_tokenizer_and_data_format_are_refused_when_the_config_is_read(tmp_path):
    """Every error of the file at once, before any data is read (not after a progress bar)."""
    path = tmp_path / "pt.toml"
    path.write_text('kind = "dna"\n[data]\ninputs = ["g.fa"]\nformat = "nonsense"\n'
                    '[tokenizer]\nkind = "nonsense"\n[windows]\nlenght = 3\n')
    with pytest.raises(ConfigError) as err:
        load_pretrain_config(path)
    message = str(err.value)
    assert "tokenizer.kind: unknown tokenizer 'nonsense'; expected one of: bpe, kmer" in message
    assert "data.format: unknown data format 'nonsense'; expected one of:" in message
    assert "fasta" in message and "unknown key 'lenght'" in message
