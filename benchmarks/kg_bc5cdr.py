"""BC5CDR chemical and disease NER: the engine's ``token`` task against a dictionary baseline, same script.

Data: the ``bc5cdr`` dataset of the mirror (BioCreative V CDR corpus, Li et al., Database 2016: 500
training, 500 development, 500 test abstracts in PubTator format; read by
:func:`serendip.kg.pubtator.read_pubtator`, every mention's offsets checked).

Method ``token-ft``: the offline all-MiniLM-L6-v2 (``--backbone PATH`` for another local backbone, e.g.
one adapted by ``serendip pretrain``) fine-tuned through :func:`serendip.models.train.finetune`, task
``token`` (IOB2 tags B-/I-Chemical, B-/I-Disease, O), on the training file read by the ``pubtator-ner``
data reader (words of :func:`serendip.kg.ner_data.tokenize`, windows of ``--window`` words overlapping by
``--overlap``, nothing truncated); the development file selects the epoch (the engine's strict seqeval
entity F1 on its windows). The test abstracts are then cut into the same windows without labels,
tagged by the saved model (``--decoding``: ``viterbi``, the best IOB2-valid tag sequence of each window,
:func:`serendip.models.token_task.iob2_viterbi`, the engine's default; ``argmax``, each word's most
probable tag, as the rows of commit 415ef55 were made, now in `results/archive`), and the window tags merged back into document character spans
(:func:`serendip.kg.ner_data.merge_window_tags`: each word's tag from the window where it is most
central). Metric: strict entity-level precision, recall and F1 over (PMID, start, end, type)
(:func:`serendip.kg.ner_eval.strict_scores`), per type and micro; F1 in the rows as fractions.

Baseline ``dictionary-longest-match``: the mention texts of the training and development files per
type (the data the model sees), longest match on word boundaries
(:class:`serendip.kg.ner_eval.DictionaryTagger`: short forms of at most 3 characters matched with their
case, as the normaliser keys them, longer ones case-insensitively; stop-words and single letters left
out), scored the same way on the test abstracts. ``--dictionary-only`` reruns this baseline alone and
rewrites only its rows; the ``token-ft`` rows keep the baseline figure of the run that wrote them.

``+abbreviations`` (``dictionary-longest-match+abbreviations``, ``token-ft+abbreviations``): the same
spans, then each short form an abstract defines given the type of its tagged long form
(:func:`serendip.kg.abbreviations.propagate_short_forms`, what ``kg build``'s taggers do by default);
beside the plain method as its baseline.

Unions (``token-ft+dictionary``, ``dictionary+token-ft``, each also ``+abbreviations``): the spans of the
first named, then each span of the other that overlaps none of them
(:func:`serendip.kg.taggers.union_spans`; ``kg build --tagger model+dictionary:RUN``). Which of the six
(the model alone, plain or ``+abbreviations``, and the four unions) to use is chosen on the development
abstracts, tagged by the same run, with a lexicon of the training file alone (so dev mentions are as
unseen as test ones are with train+dev); ``dev-chosen`` is that choice scored on test with the train+dev
lexicon, beside ``token-ft`` as its baseline. Every union's test rows are written too (reading them to
choose would be choosing on test). ``--run-dir`` scores a run trained before, its recorded settings
checked against the ones given.

``--train-on train+dev``: the final-model protocol. The training and development files are written
together (``train+dev.PubTator.txt`` in the work folder) and the model is fitted on both for ``--epochs``
epochs with no dev file and none carved out, so no epoch is chosen: the last is kept (set ``--epochs``
from a train-only run's best epoch). Nothing is chosen on dev either: the rows are ``token-ft`` and
``token-ft+abbreviations`` (what the train-only runs chose on dev), their settings marked
``train_on: train+dev``. BLURB's figures below fit on the training file alone.

Anchors (test F1, entity level): BLURB (Gu et al., "Domain-Specific Language Model Pretraining for
Biomedical Natural Language Processing", ACM Trans. Comput. Healthcare 3(1), 2021, arXiv:2007.15779; its
table comparing pretrained models on BLURB, as quoted in issue 16): general-domain BERT-base BC5-chem
89.99, BC5-disease 79.92; PubMedBERT 93.33, 85.62. Not the same protocol: BLURB scores its own
sentence-split IOB files with token-level entities, these rows score whole abstracts at character
level; both are exact-match entity F1 on the same 500 test abstracts.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data HF_HUB_OFFLINE=1 python benchmarks/kg_bc5cdr.py \\
        [--backbone PATH --backbone-name NAME] [--epochs 10] [--lr 1e-4] [--threads 2] [--no-write]
    python benchmarks/kg_bc5cdr.py --smoke 6 --epochs 1     # a check on 6 documents per split; writes nothing
    python benchmarks/kg_bc5cdr.py --dictionary-only        # the dictionary baseline alone (seconds)
    python benchmarks/kg_bc5cdr.py --epochs 4 --workdir W --run-dir W/runs/ID   # rows of a run trained before
    python benchmarks/kg_bc5cdr.py --backbone DAPT --train-on train+dev     # the final model on train+dev

The training settings are conventional defaults, not tuned (no run has chosen them yet).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "kg_bc5cdr"
DATASET = "bc5cdr"
BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"
TYPES = ("Chemical", "Disease")
TRAIN_DEV_FILE = "train+dev.PubTator.txt"
STEMS = {"train": "CDR_TrainingSet", "dev": "CDR_DevelopmentSet", "test": "CDR_TestSet"}
_BLURB = "Gu et al. 2021 (BLURB, arXiv:2007.15779), pretrained-model comparison table, test F1; as quoted in issue 16"
#: type -> (name, F1 as a fraction, source); the general BERT-base figure, with PubMedBERT's in the name
ANCHORS = {"Chemical": ("BERT-base (BLURB BC5-chem; PubMedBERT 93.33)", 0.8999, _BLURB),
           "Disease": ("BERT-base (BLURB BC5-disease; PubMedBERT 85.62)", 0.7992, _BLURB)}


def load_documents(smoke: int, workdir: Path, train_dev: bool = False) -> tuple[dict[str, list], dict[str, Path]]:
    """The three splits' documents and the files the engine reads (the first ``smoke`` documents of
    each split written to ``workdir`` when ``smoke`` > 0; with ``train_dev``, the training and development
    documents written together to ``workdir / TRAIN_DEV_FILE``, key ``"train+dev"``).
    Raises DatasetNotFound / ParseError."""
    from serendip import datasets
    from serendip.kg.pubtator import read_pubtator, write_pubtator

    files = datasets.resolve(DATASET)
    paths = {split: files[f"bc5cdr/{stem}.PubTator.txt.gz"] for split, stem in STEMS.items()}
    docs = {split: read_pubtator(path) for split, path in paths.items()}
    if smoke:
        docs = {split: d[:smoke] for split, d in docs.items()}
        paths = {split: write_pubtator(docs[split], workdir / f"{split}.PubTator.txt") for split in docs}
    if train_dev:
        paths["train+dev"] = write_pubtator(docs["train"] + docs["dev"], workdir / TRAIN_DEV_FILE)
    return docs, paths


def train(args, paths: dict[str, Path], workdir: Path):
    """The fine-tuned run (:class:`serendip.models.train.RunResult`) and its training seconds."""
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    data = {"train": str(paths["train"]), "dev": str(paths["dev"]), "split": {"test": 0.0}}
    if args.train_on == "train+dev":  # no dev file and none carved out: the last epoch is kept
        data = {"train": str(paths["train+dev"]), "split": {"dev": 0.0, "test": 0.0}}
    cfg = FineTuneConfig.model_validate({
        "task": "token", "backbone": args.backbone,
        "data": {**data, "format": "pubtator-ner", "options": {"window": args.window, "overlap": args.overlap}},
        "training": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
                     "warmup_ratio": 0.1, "max_length": args.max_length, "seed": args.seed,
                     "early_stopping": {"patience": args.patience}},
        "output": {"run_dir": str(workdir / "runs"), "name": "kg-ner-bc5cdr", "plots": False}})
    t = time.perf_counter()
    result = finetune(cfg)
    return result, time.perf_counter() - t


def finished_run(run_dir: Path, args, train_file: Path | None = None):
    """A run :func:`train` finished before (``--run-dir``): its folder, ``metrics.json``, best epoch and
    history as :func:`train`'s result gives them, and its training seconds as it recorded them; with
    ``train_file``, the run must have been trained on that file's bytes (:func:`_rows.check_training_file`).

    Raises
    ------
    DataError
        The folder holds no ``metrics.json`` / ``history.json`` / ``run.json`` (not a finished run), or
        its recorded settings differ from ``args`` (:func:`_rows.finished_run_config`).
    """
    import json
    from types import SimpleNamespace

    from serendip.errors import DataError

    keys = ("backbone", "epochs", "lr", "batch_size", "max_length", "seed", "window", "overlap")
    config = _rows.finished_run_config(run_dir, {k: getattr(args, k) for k in keys})
    trained_on = "train+dev" if Path(config["data"]["train"]).name == TRAIN_DEV_FILE else "train"
    if trained_on != args.train_on or (trained_on == "train+dev") != (config["data"].get("dev") is None):
        raise DataError(f"{run_dir} was trained on {trained_on} (file {config['data']['train']}, dev "
                        f"{config['data'].get('dev')}), not --train-on {args.train_on}")
    if train_file is not None:
        _rows.check_training_file(run_dir, train_file)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    result = SimpleNamespace(run_dir=run_dir, metrics=metrics, history=history,
                             best_epoch=(metrics.get("selection") or {}).get("best_epoch"))
    return result, float(metrics["wall_s"])


def tag_documents(run_dir: Path, docs: list, args) -> tuple[dict, int]:
    """Document spans ``{pmid: [(start, end, type)]}`` predicted by the saved run on unlabelled windows,
    and the number of windows longer than ``max_length`` word pieces (their last words are tagged O):
    :func:`serendip.kg.taggers.tag_documents` with the windows as given (``fit=False``, the protocol
    of the recorded rows; ``kg build`` narrows such windows instead)."""
    from serendip.kg.taggers import tag_documents as tag
    from serendip.models.predict import load_run_model

    bundle = load_run_model(run_dir)
    bundle.task.decoding = args.decoding
    return tag(bundle, docs, window=args.window, overlap=args.overlap, batch_size=args.batch_size * 2, fit=False)


def _score_rows(method: str, scores: dict, n: int, *, settings: dict, base: dict | None, wall: float) -> list:
    rows = []
    for typ in (*TYPES, "micro"):
        for metric in ("f1", "precision", "recall"):
            rows.append(_rows.row(
                BENCH, DATASET, "test", n, method, f"{metric}_{typ.lower()}", scores[typ][metric],
                settings=settings, wall_s=wall,
                baseline=None if base is None else ("dictionary-longest-match", base[typ][metric]),
                anchor=ANCHORS.get(typ) if metric == "f1" and base is not None else None))
    return rows


def _abbreviation_rows(method: str, spans: dict, plain: dict, docs: list, gold: set, settings: dict) -> list:
    """Rows of ``method+abbreviations``: ``spans`` ({pmid: spans}) with each defined short form given its
    tagged long form's type, scored beside the plain method's ``plain`` scores (its baseline)."""
    from serendip.kg.abbreviations import propagate_short_forms
    from serendip.kg.ner_eval import spans_from_mapping, strict_scores

    t = time.perf_counter()
    texts = {d.pmid: d.text for d in docs}
    grown = {pmid: propagate_short_forms(texts[pmid], s) for pmid, s in spans.items()}
    scores = strict_scores(gold, spans_from_mapping(grown))
    wall = time.perf_counter() - t
    name = f"{method}+abbreviations"
    _print(name, scores)
    rows = []
    for typ in (*TYPES, "micro"):
        for metric in ("f1", "precision", "recall"):
            rows.append(_rows.row(BENCH, DATASET, "test", len(docs), name, f"{metric}_{typ.lower()}",
                                  scores[typ][metric], settings=settings, wall_s=wall,
                                  baseline=(method, plain[typ][metric]),
                                  anchor=ANCHORS.get(typ) if metric == "f1" else None))
    return rows


#: The spans each candidate keeps: the model alone, or a union led by its first part (model or lexicon)
UNIONS = ("token-ft", "token-ft+dictionary", "dictionary+token-ft")


def _combined(rule: str, model: dict, lexicon: dict, texts: dict) -> dict:
    """``{pmid: spans}`` of candidate ``rule`` (one of :data:`UNIONS`, ``+abbreviations`` optional) from
    the model's and the lexicon's spans of the same documents
    (:func:`serendip.kg.taggers.union_spans`; what ``kg build --tagger model+dictionary:RUN`` tags)."""
    from serendip.kg.abbreviations import propagate_short_forms
    from serendip.kg.taggers import union_spans

    base, _, abbreviations = rule.partition("+abbreviations")
    first, second = {"token-ft": (model, None), "token-ft+dictionary": (model, lexicon),
                     "dictionary+token-ft": (lexicon, model)}[base]
    out = {}
    for pmid in model:
        spans = first[pmid] if second is None else union_spans(first[pmid], second[pmid])
        out[pmid] = propagate_short_forms(texts[pmid], spans) if rule.endswith("+abbreviations") else spans
    return out


def _union_rows(run_dir: Path, docs: dict, test_spans: dict, lexicon_spans: dict, plain: dict, args,
                settings: dict) -> list:
    """Rows of the model-and-lexicon unions: each candidate of :data:`UNIONS` (plain and
    ``+abbreviations``) scored on the development abstracts with the lexicon of the training file alone
    (dev mentions unseen, as test mentions are), the best micro F1 there chosen (``dev-chosen``), then
    every union scored on test with the train+dev lexicon (what ``kg build`` fits by default), beside
    ``token-ft`` (``plain``: its test scores) as the baseline."""
    from serendip.kg.ner_eval import (
        DictionaryTagger,
        gold_spans,
        spans_from_mapping,
        strict_scores,
    )

    t = time.perf_counter()
    dev = docs["dev"]
    dev_model, _ = tag_documents(run_dir, dev, args)
    dev_lexicon = DictionaryTagger(docs["train"])
    dev_dict = {d.pmid: dev_lexicon.tag(d.text) for d in dev}
    dev_gold, dev_texts = gold_spans(dev), {d.pmid: d.text for d in dev}
    candidates = [r + a for r in UNIONS for a in ("", "+abbreviations")]
    rows, dev_f1 = [], {}
    for rule in candidates:
        scores = strict_scores(dev_gold, spans_from_mapping(_combined(rule, dev_model, dev_dict, dev_texts)))
        dev_f1[rule] = scores["micro"]["f1"]
        _print(f"dev {rule} (lexicon: train)", scores)
        rows.append(_rows.row(BENCH, DATASET, "dev", len(dev), rule, "f1_micro", scores["micro"]["f1"],
                              settings={**settings, "lexicon": "train"}))
    chosen = max(candidates, key=lambda r: (dev_f1[r], -candidates.index(r)))
    print(f"chosen on dev: {chosen} (micro F1 {dev_f1[chosen]:.4f})", flush=True)
    test, gold = docs["test"], gold_spans(docs["test"])
    texts = {d.pmid: d.text for d in test}
    for name in [r + a for r in UNIONS[1:] for a in ("", "+abbreviations")] + ["dev-chosen"]:
        rule = chosen if name == "dev-chosen" else name
        scores = strict_scores(gold, spans_from_mapping(_combined(rule, test_spans, lexicon_spans, texts)))
        _print(f"{name} (lexicon: train+dev)", scores)
        extra = {"lexicon": "train+dev", **({"choice": chosen} if name == "dev-chosen" else {})}
        for typ in (*TYPES, "micro"):
            for metric in ("f1", "precision", "recall"):
                rows.append(_rows.row(BENCH, DATASET, "test", len(test), name, f"{metric}_{typ.lower()}",
                                      scores[typ][metric], settings={**settings, **extra},
                                      wall_s=time.perf_counter() - t, baseline=("token-ft", plain[typ][metric]),
                                      anchor=ANCHORS.get(typ) if metric == "f1" else None))
    return rows


def _print(name: str, scores: dict) -> None:
    print(f"{name}: " + "; ".join(
        f"{t} F1 {scores[t]['f1']:.4f} (P {scores[t]['precision']:.4f} R {scores[t]['recall']:.4f}, "
        f"{scores[t]['tp']}/{scores[t]['n_pred']} pred, {scores[t]['n_gold']} gold)" for t in (*TYPES, "micro")),
        flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default=BACKBONE, help="a local folder or the bundled MiniLM id")
    ap.add_argument("--backbone-name", help="the name the rows give the backbone (default: its folder's)")
    ap.add_argument("--epochs", type=_rows.positive_int, default=10)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=_rows.positive_int, default=16)
    ap.add_argument("--max-length", type=_rows.positive_int, default=256, help="word pieces per window")
    ap.add_argument("--window", type=_rows.positive_int, default=128, help="words per window")
    ap.add_argument("--overlap", type=int, default=32, help="words shared by neighbouring windows")
    ap.add_argument("--patience", type=_rows.positive_int, default=3, help="early stopping on dev F1")
    ap.add_argument("--seed", type=_rows.seed, default=0)
    ap.add_argument("--train-on", choices=("train", "train+dev"), default="train",
                    help="train+dev: fit on both files for --epochs, the last epoch kept (no dev choice)")
    ap.add_argument("--threads", type=_rows.positive_int, default=None, help="torch CPU threads")
    ap.add_argument("--workdir", type=Path, default=None, help="runs and smoke files (default: a new temp folder)")
    ap.add_argument("--smoke", type=_rows.positive_int, default=0,
                    help="use only the first N documents of each split (a check that the script runs; writes nothing)")
    ap.add_argument("--dictionary-only", action="store_true",
                    help="run the dictionary baseline alone and rewrite only its rows (no training)")
    ap.add_argument("--decoding", choices=("viterbi", "argmax"), default="viterbi",
                    help="tags from the model's word scores: the best IOB2-valid sequence, or each word's argmax "
                         "(the rows of commit 415ef55 and before)")
    ap.add_argument("--run-dir", type=Path, default=None,
                    help="score a run this script trained before (its folder under WORKDIR/runs) instead of "
                         "training one; its recorded settings must be the ones given")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from serendip.kg.ner_eval import (
        DictionaryTagger,
        gold_spans,
        spans_from_mapping,
        strict_scores,
    )

    t_all = time.perf_counter()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kg_bc5cdr-"))
    workdir.mkdir(parents=True, exist_ok=True)
    docs, paths = load_documents(args.smoke, workdir, train_dev=args.train_on == "train+dev")
    test = docs["test"]
    gold = gold_spans(test)
    print(f"work folder {workdir}; documents " + ", ".join(f"{s} {len(d)}" for s, d in docs.items())
          + f"; test mentions {len(gold)}", flush=True)

    t = time.perf_counter()
    tagger = DictionaryTagger(docs["train"] + docs["dev"])
    base_spans = {d.pmid: tagger.tag(d.text) for d in test}
    base = strict_scores(gold, spans_from_mapping(base_spans))
    base_wall = time.perf_counter() - t
    _print(f"dictionary-longest-match ({tagger.n_entries} surface forms from train+dev, "
           f"{tagger.n_dropped} left out)", base)
    n = len(test)
    dict_rows = _score_rows("dictionary-longest-match", base, n, settings={"lexicon": "train+dev"}, base=None,
                            wall=base_wall)
    dict_rows += _abbreviation_rows("dictionary-longest-match", base_spans, base, test, gold,
                                    {"lexicon": "train+dev"})
    if args.dictionary_only:
        _rows.finish(BENCH, dict_rows, time.perf_counter() - t_all, no_write=args.no_write or bool(args.smoke))
        return

    train_file = paths["train+dev" if args.train_on == "train+dev" else "train"]
    result, train_s = finished_run(args.run_dir, args, train_file) if args.run_dir else train(args, paths, workdir)
    best = result.metrics.get("best") or {}
    print(f"run {result.run_dir}: best dev epoch {result.best_epoch} of {len(result.history)}, dev window F1 "
          f"{best.get('f1')}; {train_s:.0f} s", flush=True)
    t = time.perf_counter()
    spans, truncated = tag_documents(result.run_dir, test, args)
    scores = strict_scores(gold, spans_from_mapping(spans))
    test_wall = time.perf_counter() - t
    _print("token-ft", scores)
    model_abbrev = (spans, scores)
    print(f"test windows over {args.max_length} word pieces: {truncated}", flush=True)

    name = args.backbone_name or (Path(args.backbone).name if Path(args.backbone).is_dir() else "all-MiniLM-L6-v2")
    settings = {"backbone": name, "epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size,
                "max_length": args.max_length, "window": args.window, "overlap": args.overlap,
                "seed": args.seed, "decoding": args.decoding,
                **({"best_epoch": result.best_epoch} if args.train_on == "train" else {"train_on": "train+dev"}),
                "train_s": round(train_s, 1),
                "test_windows_truncated": truncated}
    rows = _score_rows("token-ft", scores, n, settings=settings, base=base, wall=test_wall) + dict_rows
    rows += _abbreviation_rows("token-ft", *model_abbrev, test, gold, settings)
    if args.train_on == "train":
        rows += _union_rows(result.run_dir, docs, spans, base_spans, scores, args, settings)
    else:  # dev is training data here: no choice on it; +abbreviations is what the train-only runs chose
        print("train+dev: no union chosen on dev (dev was trained on); token-ft+abbreviations is the "
              "rule the train-only runs chose there", flush=True)
    dev_f1 = best.get("f1")
    # a finite figure only (NaN: no dev entity); not for --run-dir (its training decoded dev as it did then)
    if isinstance(dev_f1, (int, float)) and dev_f1 == dev_f1 and not args.run_dir:
        rows.append(_rows.row(BENCH, DATASET, "dev", len(docs["dev"]), "token-ft", "f1_windows_seqeval",
                              dev_f1, settings=settings))
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write or bool(args.smoke))


if __name__ == "__main__":
    _rows.run_main(main)
