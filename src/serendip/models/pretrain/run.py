""":func:`pretrain`: one pre-training run from config to a saved Hugging Face model folder."""
from __future__ import annotations

import json
import os
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from serendip.errors import ConfigError, DataError
from serendip.models.pretrain.checkpoint import (
    CHECKPOINT_FILE,
    Checkpoint,
    run_fingerprint,
)
from serendip.models.pretrain.config import PretrainConfig, corpus_kind
from serendip.models.pretrain.corpus import (
    CorpusKind,
    CorpusSplit,
    check_inputs,
    load_corpus,
)
from serendip.models.pretrain.evaluation import autocast_for, unigram_baseline
from serendip.models.pretrain.loop import (
    build_model,
    load_init_model,
    plan_training,
    train_mlm,
)
from serendip.models.pretrain.masking import make_batch, make_collator
from serendip.models.pretrain.report import PretrainResult, build_report

__all__ = ["pretrain"]


def pretrain(cfg: PretrainConfig, progress: Callable[[int, int, float], None] | None = None,
             log: Callable[[str], None] | None = None) -> PretrainResult:
    """Pre-train a BERT masked language model and save it as a Hugging Face model folder.

    Parameters
    ----------
    cfg : PretrainConfig
    progress : callable, optional
        Called after every optimisation step as ``progress(step, total_steps, loss)`` (loss in nats).
    log : callable, optional
        Receives one-line messages about the stages (data, tokenizer, model, evaluations).

    Returns
    -------
    PretrainResult
        Losses, held-out metrics beside the unigram baseline, throughput; the folder is
        ``result.output_dir`` (= ``cfg.output.dir``), written whole or not at all.

    Raises
    ------
    ConfigError
        No input, a missing file, an unknown tokenizer, corpus kind or dataset, an existing output
        folder without ``overwrite``, windows longer than the model's positions, bad model dims; an
        interrupted run's checkpoint in ``<output.dir>.partial`` without ``output.resume`` or
        ``overwrite``, or a checkpoint of other settings or data with ``resume``.
    DataError, ParseError
        Unreadable or empty inputs, or a training loss that is not finite.
    """
    import numpy as np
    import torch

    say = log or (lambda _msg: None)
    t_start = time.perf_counter()
    seed = cfg.training.seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)

    files = check_inputs(cfg)
    out_dir, partial = _prepare_output(cfg, say)
    checkpoint: Checkpoint | None = None
    try:
        kind = corpus_kind(cfg.kind)
        corpus, issues = load_corpus(kind, cfg, files, rng)
        say(kind.describe(cfg, corpus.stats))
        tokenizer = _tokenizer_for(cfg, corpus)
        say(f"tokenizer: {type(tokenizer).__name__}, {len(tokenizer)} tokens")
        init_model, max_tokens, new_params = load_init_model(cfg)
        train_ids, held_ids = _encode(kind, tokenizer, corpus, cfg, max_tokens, init_model is not None, say)
        checkpoint = Checkpoint(partial, run_fingerprint(cfg, train_ids), cfg.training.checkpoint_every)
        if cfg.output.resume and not checkpoint.load():
            say(f"no checkpoint in {partial}: starting at step 1")

        model = build_model(cfg, tokenizer, init_model)
        device = torch.device(cfg.training.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model.to(device)
        n_params = sum(p.numel() for p in model.parameters())
        say(f"model: {n_params:,} parameters on {device}")

        span = cfg.training.mask_span or int(getattr(tokenizer, "mask_span", 1))
        collator = make_collator(tokenizer, cfg.training.mlm_probability, span, seed)
        held_batches, baseline = _heldout(cfg, tokenizer, span, train_ids, held_ids, max_tokens)
        bs = cfg.training.batch_size

        plan = plan_training(cfg, len(train_ids), new_params)
        body = plan.total - plan.head_steps
        say(f"training: {body} steps of {bs} (≈{body / plan.steps_per_epoch:.2f} epochs), "
            f"peak lr {plan.lr:g}, warm-up {plan.warmup}, mask span {span}")
        _say_head(cfg, plan, new_params, say)
        loop, final = train_mlm(cfg, model, train_ids, held_batches, collator, plan, device,
                                autocast_for(device, cfg.training.bf16), max_tokens,
                                progress=progress, say=say, checkpoint=checkpoint)
        (partial / CHECKPOINT_FILE).unlink(missing_ok=True)
        _save_model(model, tokenizer, partial)
        train_time = loop.train_time
        result = PretrainResult(
            output_dir=out_dir, steps=plan.total, final_loss=loop.losses[-1], losses=loop.losses,
            evals=loop.evals, heldout=final, baseline=baseline, n_parameters=n_params,
            tokens_seen=loop.tokens_seen, steps_per_s=plan.total / train_time if train_time else 0.0,
            tokens_per_s=loop.tokens_seen / train_time if train_time else 0.0,
            wall_s=time.perf_counter() - t_start)
        result.report = build_report(cfg, files, corpus, issues, tokenizer, model, span, result, device)
        result.report["optimisation"] = {"lr": plan.lr, "warmup_steps": plan.warmup, "batch_size": bs,
                                         "epochs": (plan.total - plan.head_steps) / plan.steps_per_epoch,
                                         "head_warmup_steps": plan.head_steps, "head_lr": plan.head_lr,
                                         "new_parameters": plan.new_params}
        (partial / "pretrain_report.json").write_text(json.dumps(result.report, indent=1), encoding="utf-8")
        _publish(partial, out_dir)
        say(f"saved {out_dir}")
        return result
    except BaseException:
        if not (partial / CHECKPOINT_FILE).is_file():
            shutil.rmtree(partial, ignore_errors=True)
        elif checkpoint is not None and checkpoint.saved_step:
            say(f"stopped; the checkpoint after step {checkpoint.saved_step} is kept in {partial}: rerun "
                f"with --resume (output.resume=true) to go on from it")
        raise


def _say_head(cfg: PretrainConfig, plan: Any, new_params: list[str], say: Callable[[str], None]) -> None:
    """What the run does about masked-LM head weights the continued model lacks (or a head warm-up asked
    for that has nothing to warm up)."""
    asked = cfg.training.head_warmup_steps
    names = f"{', '.join(new_params[:4])}{', ...' if len(new_params) > 4 else ''}"
    if plan.head_steps:
        say(f"head warm-up first: {plan.head_steps} step{'s' * (plan.head_steps != 1)} training only the "
            f"{len(new_params)} new tensors {cfg.model.init_from} lacks ({names}) at lr {plan.head_lr:g}, the rest "
            "frozen")
    elif new_params:
        say(f"note: {cfg.model.init_from} lacks {len(new_params)} masked-LM head tensors ({names}); they start "
            f"untrained{' (training.head_warmup_steps=0)' if asked == 0 else ''}")
    elif asked:
        say(f"note: training.head_warmup_steps={asked} ignored: "
            f"{'the model is new' if cfg.model.init_from is None else f'{cfg.model.init_from} has its head'}")


def _heldout(cfg: PretrainConfig, tokenizer: Any, span: int, train_ids: list[Any], held_ids: list[Any],
             max_tokens: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The held-out batches, masked once with their own seed (``training.seed + 1``), and the
    unigram baseline on those masks."""
    import torch

    special = sorted(set(tokenizer.all_special_ids))
    special_ids = torch.tensor(special, dtype=torch.long)
    collator = make_collator(tokenizer, cfg.training.mlm_probability, span, cfg.training.seed + 1)
    bs = cfg.training.batch_size
    batches = [make_batch(held_ids[i:i + bs], tokenizer.pad_token_id, special_ids, collator, max_tokens)
               for i in range(0, len(held_ids), bs)]
    return batches, unigram_baseline(train_ids, len(tokenizer), special, batches)


def _encode(kind: CorpusKind, tokenizer: Any, corpus: CorpusSplit, cfg: PretrainConfig, max_tokens: int,
            continued: bool, say: Callable[[str], None]) -> tuple[list[Any], list[Any]]:
    """Training and held-out token arrays; the held-out ones thinned evenly to
    ``data.max_heldout_windows``; counts added to ``corpus.stats``."""
    train_ids, held_ids = kind.encode(tokenizer, corpus, cfg, max_tokens, continued=continued, say=say)
    if not train_ids:
        raise DataError("no training sequence is long enough to give a token")
    if len(held_ids) > cfg.data.max_heldout_windows:
        step = len(held_ids) / cfg.data.max_heldout_windows
        held_ids = [held_ids[int(i * step)] for i in range(cfg.data.max_heldout_windows)]
    corpus.stats.update(train_sequences=len(train_ids), heldout_sequences=len(held_ids),
                        train_tokens=int(sum(len(a) for a in train_ids)))
    return train_ids, held_ids


def _tokenizer_for(cfg: PretrainConfig, corpus: CorpusSplit) -> Any:
    """The saved tokenizer (``tokenizer.path``, else that of ``model.init_from``), else a new one
    from the TOKENIZERS factory trained on the training strings."""
    from serendip.models.registries import TOKENIZERS
    from serendip.models.tokenizers import load_tokenizer

    if cfg.tokenizer.path is not None:
        return load_tokenizer(cfg.tokenizer.path)
    if cfg.model.init_from is not None:
        return load_tokenizer(cfg.model.init_from)
    factory = TOKENIZERS.get(cfg.tokenizer_kind())
    return factory(corpus.train, kind=cfg.kind, alphabet=corpus_kind(cfg.kind).bpe_alphabet,
                   k=cfg.tokenizer.k, vocab_size=cfg.tokenizer.vocab_size,
                   min_frequency=cfg.tokenizer.min_frequency)


def _prepare_output(cfg: PretrainConfig, say: Callable[[str], None]) -> tuple[Path, Path]:
    """The output folder and its ``.partial`` working folder: kept with ``output.resume`` (its
    checkpoint is read later), else emptied.

    Raises
    ------
    ConfigError
        The ``.partial`` folder holds an interrupted run's checkpoint and neither ``output.resume`` nor
        ``output.overwrite`` is set (it is not thrown away unasked).
    """
    out = Path(cfg.output.dir)
    partial = out.with_name(out.name + ".partial")
    saved = partial / CHECKPOINT_FILE
    if cfg.output.resume and saved.is_file():
        return out, partial
    if saved.is_file() and not cfg.output.overwrite:
        raise ConfigError(f"{saved}: an interrupted run's checkpoint; pass --resume to go on from it or "
                          f"--overwrite to start again")
    if partial.exists():
        if saved.is_file():
            say(f"discarding the checkpoint in {partial} (--overwrite)")
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return out, partial


def _save_model(model: Any, tokenizer: Any, folder: Path) -> None:
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        model.save_pretrained(str(folder))
        tokenizer.save_pretrained(str(folder))
    finally:
        if bars:
            hf_logging.enable_progress_bar()


def _publish(partial: Path, out_dir: Path) -> None:
    """Move the finished ``partial`` folder to ``out_dir``, replacing what was there."""
    if out_dir.exists():
        shutil.rmtree(out_dir) if out_dir.is_dir() else out_dir.unlink()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, out_dir)
