"""Training recipes for the SciFact verifier, chosen on held-out TRAIN claims only.

Used by ``benchmarks/evidence_scifact.py``. A *recipe* is a backbone (the offline all-MiniLM-L6-v2,
optionally first adapted by continued masked-LM pre-training on the mirror's biomedical abstracts), a
learning rate per model and the rationale model's negatives (the sentences of the abstracts a claim
cites, optionally plus those of its best-ranked BM25 abstract that it does not cite: the hardest of the
abstracts the open setting shows the model), and whether the label model also reads rule-negated claims
(:mod:`serendip.evidence.verify_train` holds those data builders and the decision-rule tuning, shared
with ``serendip verify --train``). Each model's epoch is chosen by the engine on the held-out claims;
the rationale threshold, label offsets and the backbone by the held-out pipeline score. The dev claims
are never read here.

Domain adaptation follows Gururangan et al. 2020 ("Don't Stop Pretraining", ACL: DAPT) with the
engine's ``pretrain`` (``model.init_from``); the corpus is the mirror's abstracts named in issue 16:
SciFact's corpus, the Cohen 2006 records and BC5CDR's training set (never its dev or test).
"""
from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Recipe:
    """One model's training options (the backbone folder, learning rate, epochs, data variant)."""

    backbone: str
    lr: float
    epochs: int
    negatives: str = "cited"  # rationale model: "cited" | "cited+bm25"
    augment: str = "none"  # label model: "none" | "negation" (scifact_data.negation_examples)


def adaptation_texts(mirror: Path) -> list[str]:
    """Title + abstract of each abstract in the mirror's SciFact corpus, Cohen 2006 records and BC5CDR
    training set (PubTator ``|t|``/``|a|`` lines), one string per document, empty ones dropped."""
    docs = []
    with gzip.open(mirror / "scifact" / "claims" / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            docs.append(f"{d.get('title') or ''} {' '.join(d['abstract'])}")
    cohen = mirror / "cohen" / "records.jsonl.gz"
    if cohen.is_file():
        with gzip.open(cohen, "rt", encoding="utf-8") as fh:
            for line in fh:
                r = json.loads(line)
                docs.append(f"{r.get('title') or ''} {r.get('abstract') or ''}")
    cdr = mirror / "bc5cdr" / "CDR_TrainingSet.PubTator.txt.gz"
    if cdr.is_file():
        parts: dict[str, list[str]] = {}
        with gzip.open(cdr, "rt", encoding="utf-8") as fh:
            for line in fh:
                bits = line.rstrip("\n").split("|", 2)
                if len(bits) == 3 and bits[1] in ("t", "a"):
                    parts.setdefault(bits[0], []).append(bits[2])
        docs.extend(" ".join(v) for v in parts.values())
    return [" ".join(d.split()) for d in docs if d.strip()]


def adapt_backbone(backbone: str, texts: Sequence[str], out: Path, epochs: float, batch_size: int,
                   log: Callable[[str], None] = print, checkpoint_every: int = 50) -> tuple[Path, dict]:
    """Continued masked-LM pre-training of ``backbone`` on ``texts`` (256-token blocks, 5 % of the
    documents held out); returns the adapted model folder and its held-out report. ``log`` gets a progress
    line every 50 optimisation steps (step, loss, seconds so far and left) and the engine's messages.
    A checkpoint is saved every ``checkpoint_every`` steps and an interrupted run resumes from it when
    called again with the same arguments (``output.resume``; ``wall_s`` then counts this call only)."""
    from serendip.models.pretrain.config import pretrain_config_from_options
    from serendip.models.pretrain.run import pretrain

    out.mkdir(parents=True, exist_ok=True)
    corpus = out / "adaptation.txt"
    corpus.write_text("\n".join(texts) + "\n", encoding="utf-8")
    cfg = pretrain_config_from_options(
        inputs=[corpus], kind="text", out=out / "model", overwrite=True, seed=0,
        checkpoint_every=checkpoint_every, resume=True,
        overrides=[f'model.init_from="{backbone}"', "data.block_tokens=256", f"training.epochs={epochs}",
                   f"training.batch_size={batch_size}", "training.eval_every=500"])
    t = time.perf_counter()
    first: list[int] = []  # the first step of this call (after a resumed checkpoint: not 1)

    def progress(step: int, total: int, loss: float) -> None:  # a line every 50 steps: ~1,500 in an epoch
        first[:] = first or [step]
        if step % 50 == 0 or step == total:
            done, steps = time.perf_counter() - t, step - first[0] + 1
            log(f"  adaptation step {step}/{total}, loss {loss:.3f} nats, {done:.0f} s, "
                f"about {done / steps * (total - step):.0f} s left")

    result = pretrain(cfg, progress=progress, log=log)
    report = {"documents": len(texts), "steps": result.steps, "heldout": result.heldout,
              "baseline": result.baseline, "wall_s": round(time.perf_counter() - t, 1)}
    log(f"adaptation: {len(texts)} documents, {result.steps} steps in {report['wall_s']} s; held-out "
        f"{result.heldout}")
    return out / "model", report
