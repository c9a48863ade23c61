"""Training the SMILES language model under a wall-clock budget, with checkpoints.

Teacher forcing with token cross-entropy (padding ignored), Adam, gradient-norm clipping at 5 and
length-bucketed batches (molecules of similar length batched together, batches in random order), as
MOSES's CharRNN trainer (moses/char_rnn/trainer.py: Adam, lr 1e-3, batch 64, 80 epochs) but bounded by
``minutes`` of wall-clock time instead of epochs. The learning rate warms up linearly over 100 steps and
then follows a cosine from ``lr`` down to ``lr / 10`` over the budget (elapsed time / ``minutes``; over
the epochs when only ``epochs`` bounds the run), so the run ends annealed whatever the machine's speed.
"""
from __future__ import annotations

import gzip
import json
import math
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from serendip.chem.generate.model import FILES, GeneratorConfig, SmilesGenerator
from serendip.chem.readers import _split
from serendip.chem.standardize import MAX_SMILES_CHARS
from serendip.chem.tokenize import Vocab
from serendip.errors import ConfigError, DataError, ParseError


@dataclass
class SmilesIssue:
    """A record left out: file, 1-based line, the text and why."""
    file: str
    line: int
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.reason}"


def read_smiles_file(path: Path, *, blank_lines: str = "error") -> tuple[list[str], list[int]]:
    """The SMILES of a one-SMILES-per-line file and their 1-based line numbers: a CSV/TSV (optionally
    ``.gz``) whose header has a ``SMILES`` column (any case; MOSES's files), or a headerless ``.smi``/text
    file whose first field is the SMILES. Each line is split on its own, as the screening reader does
    (:func:`serendip.chem.readers._split`: csv's 128 kB field limit lifted to the line's length), so a
    damaged, megabyte-long line is one bad line, not an error for the file. Raises DataError naming the
    file when it cannot be read, is empty or (``"keep"``) holds only blank lines.

    ``blank_lines="error"`` (reference files): ParseError naming file and line for a blank line before the
    last SMILES, a row without the SMILES field, or a SMILES longer than
    :data:`~serendip.chem.standardize.MAX_SMILES_CHARS` characters (blank lines that end the file are
    ignored). ``"keep"``: such a line gives ``""`` at its line number and a long SMILES is returned as it
    is (the caller reports them: the MOSES metrics count them as invalid samples); only the file's last
    newline ends it, so every line of a sample file is one draw. ``"keep-rows"`` (training files): as
    ``"keep"``, but blank lines that end the file are ignored (an editor's extra newlines), while a last
    row with an empty SMILES field (``6,,1``) is kept as ``""`` for the caller to report."""
    if blank_lines not in ("error", "keep", "keep-rows"):
        raise ValueError(f"blank_lines must be 'error', 'keep' or 'keep-rows', got {blank_lines!r}")
    path = Path(path)
    try:
        # utf-8-sig: a byte-order mark (spreadsheet exports) is not part of the header's first name
        raw = gzip.open(path, "rt", encoding="utf-8-sig") if path.suffix == ".gz" else path.open(encoding="utf-8-sig")
        with raw as fh:
            lines = fh.read().splitlines()
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot be read ({exc})") from None
    while lines and not lines[-1].strip() and blank_lines != "keep":  # an editor's extra newlines
        lines.pop()
    if not lines:
        raise DataError(f"{path}: empty file")
    if not any(ln.strip() for ln in lines):
        raise DataError(f"{path}: only blank lines ({len(lines):,}), no SMILES")
    first = lines[0]
    delim = "\t" if "\t" in first else ("," if "," in first or first.strip().strip('"').lower() == "smiles" else " ")
    names = [h.strip().lower() for h in _fields(first, delim)]
    col, start = (names.index("smiles"), 2) if "smiles" in names else (0, 1)
    smiles, where = [], []
    for i, line in enumerate(lines[start - 1:], start):
        row = _fields(line, delim)
        smi = row[col].strip() if col < len(row) else ""
        if blank_lines == "error" and not smi:
            raise ParseError("no SMILES on this line", file=str(path), line=i)
        if blank_lines == "error" and len(smi) > MAX_SMILES_CHARS:
            raise ParseError(f"a SMILES of {len(smi):,} characters, longer than {MAX_SMILES_CHARS:,} (a damaged "
                             "line?); fix or remove the line", file=str(path), line=i)
        smiles.append(smi)
        where.append(i)
    return smiles, where


def _fields(line: str, delim: str) -> list[str]:
    """The fields of one line: whitespace-split for a space-delimited file, else as csv reads it."""
    return line.split() if delim == " " else _split(line, delim)


@dataclass
class TrainResult:
    """What a training run did. ``wall_s`` / ``cpu_s``: the whole call (reading, tokenising, training,
    validation, saving); ``prep_s``: the reading and tokenising part of it. ``mol_per_s`` is molecules per
    wall-clock second of training after the preparation; ``mol_per_cpu_s`` per second of this process's
    CPU time after it (the speed a machine to itself would see). ``train_loss`` (mean of the last 100
    batches) is None when no step ran, ``val_loss`` when no molecule was held out (fewer than 10)."""
    folder: str
    steps: int
    molecules_seen: int
    tokens_seen: int
    epochs: float
    wall_s: float
    cpu_s: float
    mol_per_s: float
    mol_per_cpu_s: float
    train_loss: float | None
    val_loss: float | None
    n_train: int
    n_val: int
    n_parameters: int
    stopped: str
    prep_s: float = 0.0
    issues: list[SmilesIssue] = field(default_factory=list)


def check_smiles(smiles: list[str], *, max_tokens: int, file: str = "", lines: list[int] | None = None,
                 kekule: bool = False) -> tuple[list[str], list[int], list[SmilesIssue]]:
    """``(kept SMILES, their lines, issues)``: the molecules fit to train on, in order. A SMILES is left
    out, as a :class:`SmilesIssue` naming ``file``, its line (``lines[k]``; default ``k + 1``) and why, when
    it cannot be tokenised (:func:`~serendip.chem.tokenize.tokenize_smiles`), has more than ``max_tokens``
    tokens (the model's ``max_length``: it could never be sampled whole, and is refused rather than cut),
    or RDKit cannot parse and sanitise it (:func:`~serendip.chem.standardize.parse_smiles`: a pentavalent
    carbon, an unclosed ring...; one of more than ``MAX_SMILES_CHARS`` characters is refused unparsed, before
    tokenising, its issue keeping 50 of them), or it is empty (a blank line). Nothing is repaired.

    ``kekule``: each kept SMILES is returned as RDKit's canonical Kekulé SMILES (:func:`kekule_smiles`;
    the token limit applies to that form), and one RDKit cannot kekulise is left out with RDKit's reason."""
    from serendip.chem.standardize import parse_smiles
    from serendip.chem.tokenize import tokenize_smiles

    kept, kept_lines, issues = [], [], []
    for k, smi in enumerate(smiles):
        line = lines[k] if lines else k + 1
        if not smi.strip():
            issues.append(SmilesIssue(file, line, smi, "no SMILES on this line"))
            continue
        if len(smi) > MAX_SMILES_CHARS:  # refused before tokenising, and named without its text
            issues.append(SmilesIssue(file, line, smi[:50] + "...", parse_smiles(smi)[1]))
            continue
        given, mol, reason = smi, None, None
        if kekule:
            mol, reason = parse_smiles(smi)
            if mol is None:
                issues.append(SmilesIssue(file, line, smi, f"RDKit rejects the SMILES {smi}: {reason}"))
                continue
            smi, reason = kekule_smiles(mol)
            if smi is None:
                issues.append(SmilesIssue(file, line, given, reason))
                continue
        try:
            n_tok = len(tokenize_smiles(smi))
        except ParseError as exc:
            issues.append(SmilesIssue(file, line, given, exc.reason))
            continue
        if n_tok > max_tokens:
            form = " (Kekulé form)" if kekule else ""
            issues.append(SmilesIssue(file, line, given, f"SMILES of {n_tok} tokens{form}, longer than the model's "
                                                         f"max_length of {max_tokens}: not trained on"))
            continue
        if mol is None:
            mol, reason = parse_smiles(smi)
        if mol is None:
            issues.append(SmilesIssue(file, line, given, f"RDKit rejects the SMILES {smi}: {reason}"))
            continue
        kept.append(smi)
        kept_lines.append(line)
    return kept, kept_lines, issues


def kekule_smiles(mol) -> tuple[str | None, str | None]:
    """``(SMILES, None)``: the sanitised RDKit ``mol`` written as canonical Kekulé SMILES (a copy is
    kekulised with ``clearAromaticFlags``, then ``MolToSmiles(kekuleSmiles=True)``: every aromatic bond
    written as ``-``/``=`` in one Kekulé structure, atoms upper case); ``(None, reason)`` when RDKit cannot
    kekulise it. The string parses back to the same molecule (same canonical SMILES)."""
    from rdkit import Chem, rdBase

    mol = Chem.Mol(mol)
    try:
        with rdBase.BlockLogs():
            Chem.Kekulize(mol, clearAromaticFlags=True)
    except Exception as exc:  # KekulizeException and its kin
        return None, f"RDKit cannot kekulise {Chem.MolToSmiles(mol)}: {exc}"
    return Chem.MolToSmiles(mol, kekuleSmiles=True), None


def encode_all(smiles: list[str], vocab: Vocab, *, file: str = "", lines: list[int] | None = None
               ) -> tuple[np.ndarray, np.ndarray, list[SmilesIssue]]:
    """``(ids, lengths, issues)``: ids uint8 of shape (n_ok, max_len) padded with ``<pad>`` (0), each row
    ``<bos> tokens <eos>``; lengths int64 (n_ok,); a SMILES that cannot be encoded is left out and
    reported as a :class:`SmilesIssue`."""
    encoded, issues = [], []
    for k, smi in enumerate(smiles):
        line = lines[k] if lines else k + 1
        try:
            encoded.append(vocab.encode(smi))
        except ParseError as exc:
            issues.append(SmilesIssue(file, line, smi, exc.reason))
    if len(vocab) > 255:
        raise DataError(f"vocabulary of {len(vocab)} tokens does not fit uint8 ids")
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    ids = np.zeros((len(encoded), int(lengths.max()) if len(encoded) else 0), dtype=np.uint8)
    for k, e in enumerate(encoded):
        ids[k, :len(e)] = e
    return ids, lengths, issues


def bucketed_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator, pool: int = 50) -> list:
    """Index arrays of one epoch: shuffle, sort each pool of ``pool * batch_size`` molecules by length,
    cut into batches, shuffle the batches."""
    order = rng.permutation(len(lengths))
    batches = []
    for s in range(0, len(order), pool * batch_size):
        chunk = order[s:s + pool * batch_size]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _lr_at(step: int, progress: float, lr: float, warmup: int = 100) -> float:
    if step < warmup:
        return lr * (step + 1) / warmup
    return lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def _batch_loss(net, ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    x, y = ids[:, :-1], ids[:, 1:]
    logits, _ = net(x)
    n_tok = int((y != Vocab.pad_id).sum())
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                             ignore_index=Vocab.pad_id)
    return loss, n_tok


@torch.no_grad()
def token_nll(model: SmilesGenerator, ids: np.ndarray, lengths: np.ndarray, batch_size: int = 256) -> float:
    """Mean cross-entropy (nats per token, ``<eos>`` included) of the encoded molecules."""
    was = model.net.training
    model.net.eval()
    total, count = 0.0, 0
    for s in range(0, len(ids), batch_size):
        m = int(lengths[s:s + batch_size].max())
        loss, n_tok = _batch_loss(model.net, torch.from_numpy(ids[s:s + batch_size, :m].astype(np.int64)))
        total += float(loss) * n_tok
        count += n_tok
    model.net.train(was)
    return total / max(count, 1)


def train_generator(smiles: list[str], out: Path, *, config: GeneratorConfig | None = None,
                    minutes: float | None = 55.0, epochs: float | None = None, batch_size: int = 128,
                    lr: float = 1e-3, seed: int = 0, n_val: int = 2000, checkpoint_minutes: float = 5.0,
                    file: str = "", lines: list[int] | None = None, max_steps: int | None = None,
                    init_from: Path | None = None, force: bool = False,
                    on_step: Callable[[int], None] | None = None) -> TrainResult:
    """Train a :class:`SmilesGenerator` on ``smiles`` and save it to the folder ``out``.

    The vocabulary is built from the molecules (or, with ``init_from``, training continues from the
    model folder there, with its vocabulary and config: ``config`` must then be None; Adam's moments
    start afresh); ``n_val`` of them (a seeded draw) are held out for the
    validation loss. Training stops at the first of ``minutes`` of wall-clock time (counted from the
    first step: reading and tokenising come before and are reported as ``prep_s``), ``epochs`` passes
    over the training molecules and ``max_steps`` batches; the folder is rewritten every
    ``checkpoint_minutes`` and at the end, with the training record in ``config.json``. ``on_step(k)``
    gets the molecules of each batch. A SMILES that cannot be tokenised, that RDKit rejects, or that is
    longer than the model's ``max_length`` tokens is left out and listed in ``issues`` (``file`` and
    ``lines`` name it; :func:`check_smiles`), and counted as ``n_skipped`` in the training record. With
    ``config.smiles_form == "kekule"`` the molecules are trained on as canonical Kekulé SMILES.
    Raises ConfigError when no stopping rule is given or a setting is out of range, DataError when fewer
    than two molecules remain or, before any work, when ``out`` is a file, a folder holding other files,
    or a generator folder that is neither ``init_from`` nor to be replaced (``force``)."""
    if minutes is None and epochs is None and max_steps is None:
        raise ConfigError("train_generator: give minutes, epochs or max_steps (else training never stops)")
    if batch_size < 1 or lr <= 0 or n_val < 0 or (minutes is not None and minutes <= 0):
        raise ConfigError(f"train_generator: batch_size >= 1, lr > 0, n_val >= 0, minutes > 0 needed; got "
                          f"batch_size={batch_size}, lr={lr}, n_val={n_val}, minutes={minutes}")
    _check_out(Path(out), init_from, force)
    t0, c0 = time.monotonic(), time.process_time()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if init_from is not None and config is not None:
        raise ConfigError("train_generator: init_from continues a saved model with its own config; give no config")
    start_model = SmilesGenerator.load(init_from) if init_from is not None else None
    model_config = start_model.config if start_model else (config or GeneratorConfig())
    kekule = model_config.smiles_form == "kekule"
    given = dict(zip(lines or range(1, len(smiles) + 1), smiles)) if kekule else {}
    smiles, lines, issues = check_smiles(smiles, max_tokens=model_config.max_length, file=file, lines=lines,
                                         kekule=kekule)
    vocab = start_model.vocab if start_model else Vocab.build(smiles)
    ids, lengths, not_encoded = encode_all(smiles, vocab, file=file, lines=lines)
    if kekule:  # name the line as the file has it, and say the token is of the Kekulé form
        not_encoded = [SmilesIssue(i.file, i.line, given[i.line], f"{i.reason} (Kekulé form)") for i in not_encoded]
    issues = sorted(issues + not_encoded, key=lambda i: i.line)
    if len(ids) < 2:
        shown = "; ".join(str(i) for i in issues[:3]) + ("; ..." if len(issues) > 3 else "")
        raise DataError(f"{file or 'training set'}: {len(ids)} usable SMILES; at least 2 are needed"
                        + (f" ({len(issues):,} left out: {shown})" if issues else ""))
    perm = rng.permutation(len(ids))
    n_val = min(n_val, len(ids) // 10)
    val, tr = perm[:n_val], perm[n_val:]
    model = start_model or SmilesGenerator(vocab, config)
    opt = torch.optim.Adam(model.net.parameters(), lr=lr)
    model.net.train()
    budget_s = None if minutes is None else minutes * 60.0
    step = seen = tokens = 0
    last_ckpt, stopped, recent = time.monotonic(), "", []
    tr_ids, tr_len = ids[tr], lengths[tr]
    prep_s, prep_cpu = time.monotonic() - t0, time.process_time() - c0
    t1 = time.monotonic()  # the budget counts training steps; reading and tokenising are prep_s
    epoch = 0
    while not stopped:
        for b in bucketed_batches(tr_len, batch_size, rng):
            elapsed = time.monotonic() - t1
            progress = elapsed / budget_s if budget_s else (seen / len(tr)) / (epochs or 1.0)
            stopped = _stop_reason(elapsed, budget_s, seen / len(tr), epochs, step, max_steps)
            if stopped:
                break
            for g in opt.param_groups:
                g["lr"] = _lr_at(step, progress, lr)
            m = int(tr_len[b].max())
            loss, n_tok = _batch_loss(model.net, torch.from_numpy(tr_ids[b, :m].astype(np.int64)))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.net.parameters(), 5.0)
            opt.step()
            step, seen, tokens = step + 1, seen + len(b), tokens + n_tok
            recent = (recent + [loss.item()])[-100:]
            if on_step is not None:
                on_step(len(b))
            if time.monotonic() - last_ckpt > checkpoint_minutes * 60:
                _record(model, step, seen, tokens, len(tr), recent, None, t0, c0, "checkpoint")
                model.save(out)
                last_ckpt = time.monotonic()
        epoch += 1
    val_loss = token_nll(model, ids[val], lengths[val]) if len(val) else None
    info = _record(model, step, seen, tokens, len(tr), recent, val_loss, t0, c0, stopped)
    info.update(n_train=len(tr), n_val=len(val), n_skipped=len(issues), batch_size=batch_size, lr=lr, seed=seed,
                minutes=minutes, continued_from=None if init_from is None else str(init_from), prep_s=round(prep_s, 2))
    model.info.update(info)
    model.save(out)
    wall, cpu = info["train_wall_s"], info["train_cpu_s"]
    return TrainResult(folder=str(out), steps=step, molecules_seen=seen, tokens_seen=tokens,
                       epochs=seen / len(tr), wall_s=wall, cpu_s=cpu, mol_per_s=seen / max(wall - prep_s, 1e-9),
                       mol_per_cpu_s=seen / max(cpu - prep_cpu, 1e-9), prep_s=prep_s, train_loss=info["train_loss"],
                       val_loss=val_loss,
                       n_train=len(tr), n_val=len(val), n_parameters=model.n_parameters(), stopped=stopped,
                       issues=issues)


def _check_out(out: Path, init_from: Path | None, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"cannot write the model folder {out}: it is a file")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not all((out / f).is_file() for f in FILES):
        raise DataError(f"{out} holds other files, not a SMILES generator; give a new or empty folder")
    if not force and (init_from is None or Path(init_from).resolve() != out.resolve()):
        raise DataError(f"{out} already holds a SMILES generator; pass --force to replace it or --resume to "
                        "continue training it")


def _stop_reason(elapsed, budget_s, epochs_done, epochs, step, max_steps) -> str:
    if budget_s is not None and elapsed >= budget_s:
        return "time budget"
    if epochs is not None and epochs_done >= epochs:
        return "epochs"
    if max_steps is not None and step >= max_steps:
        return "max_steps"
    return ""


def _record(model, step, seen, tokens, n_train, recent, val_loss, t0, c0, state) -> dict:
    info = {"steps": step, "molecules_seen": seen, "tokens_seen": tokens, "epochs": round(seen / n_train, 4),
            "train_loss": float(np.mean(recent)) if recent else None,
            "val_loss": val_loss, "train_wall_s": round(time.monotonic() - t0, 2),
            "train_cpu_s": round(time.process_time() - c0, 2), "state": state}
    model.info.update(info)
    return info


def result_json(res: TrainResult) -> str:
    """The result as one JSON line (issues as strings)."""
    d = asdict(res)
    d["issues"] = [str(i) for i in res.issues]
    return json.dumps(d)
