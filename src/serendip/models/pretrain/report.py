"""What a pre-training run did: :class:`PretrainResult`, its summary, and ``pretrain_report.json``."""
from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serendip.core.files import sha256_file

if TYPE_CHECKING:
    from serendip.models.pretrain.config import PretrainConfig
    from serendip.models.pretrain.corpus import CorpusSplit

__all__ = ["PretrainResult", "build_report"]


@dataclass
class PretrainResult:
    """What :func:`~serendip.models.pretrain.pretrain` did.

    ``losses``: training MLM loss (mean cross-entropy over masked tokens, nats) at every step;
    ``evals``: ``{"step", "loss", "accuracy", "perplexity"}`` on the held-out windows;
    ``final_loss``: the last step's training loss; ``heldout``: the last evaluation (empty without
    held-out data); ``baseline``: the unigram baseline on the same held-out masks.
    """

    output_dir: Path
    steps: int
    final_loss: float
    losses: list[float]
    evals: list[dict[str, float]]
    heldout: dict[str, float]
    baseline: dict[str, Any]
    n_parameters: int
    tokens_seen: int
    steps_per_s: float
    tokens_per_s: float
    wall_s: float
    report: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the output folder as a string)."""
        out = asdict(self)
        out["output_dir"] = str(self.output_dir)
        return out

    def title(self) -> str:
        """One line: steps and the final training loss."""
        return f"Pre-training: {self.steps} steps, final training loss {self.final_loss:.4f}"

    def summary_rows(self) -> list[tuple[str, str, str]]:
        """(what, model, unigram baseline) rows: held-out masked-token accuracy, perplexity and
        count beside the baseline, then throughput and parameters (figures as printed)."""
        rows: list[tuple[str, str, str]] = []
        if self.heldout:
            base = self.baseline or {}
            rows += [("accuracy", f"{self.heldout['accuracy']:.4f}", f"{base['accuracy']:.4f}" if base else "-"),
                     ("perplexity", f"{self.heldout['perplexity']:.2f}",
                      f"{base['perplexity']:.2f}" if base else "-"),
                     ("masked tokens", str(self.heldout["masked_tokens"]), "")]
        else:
            rows.append(("(no held-out data)", "-", "-"))
        rows.append(("steps/s | tokens/s", f"{self.steps_per_s:.2f} | {self.tokens_per_s:,.0f}", ""))
        rows.append(("parameters", f"{self.n_parameters:,}", ""))
        return rows


def build_report(cfg: PretrainConfig, files: list[Path], corpus: CorpusSplit, issues: list[str],
                 tokenizer: Any, model: Any, span: int, result: PretrainResult, device: Any
                 ) -> dict[str, Any]:
    """The content of ``pretrain_report.json``: config, input sha256s, data counts, skipped records,
    tokenizer, model, masking, loss and held-out curves, baseline, throughput, hardware, versions."""
    import torch
    import transformers

    return {
        "kind": cfg.kind,
        "config": cfg.to_dict(),
        "inputs": [{"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size} for p in files],
        "data": corpus.stats,
        "skipped": {"count": len(issues), "first": issues[:20]},
        "tokenizer": {"class": type(tokenizer).__name__, "kind": cfg.tokenizer_kind(), "size": len(tokenizer),
                      "k": getattr(tokenizer, "k", None)},
        "model": {"architecture": type(model).__name__, "parameters": result.n_parameters,
                  **{k: getattr(model.config, k, None) for k in
                     ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                      "max_position_embeddings", "vocab_size")},
                  "init_from": str(cfg.model.init_from) if cfg.model.init_from else None},
        "masking": {"mlm_probability": cfg.training.mlm_probability, "span": span,
                    "replace": "80% [MASK], 10% random, 10% kept"},
        "steps": result.steps,
        "final_loss": result.final_loss,
        "loss_curve": result.losses,
        "heldout_curve": result.evals,
        "heldout": result.heldout,
        "baseline": result.baseline,
        "throughput": {"steps_per_s": result.steps_per_s, "tokens_per_s": result.tokens_per_s,
                       "tokens_seen": result.tokens_seen},
        "wall_s": result.wall_s,
        "seed": cfg.training.seed,
        "device": str(device),
        "hardware": f"{os.cpu_count()} CPU cores" if device.type == "cpu" else torch.cuda.get_device_name(device),
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "python": platform.python_version()},
        "date": time.strftime("%Y-%m-%d"),
    }
