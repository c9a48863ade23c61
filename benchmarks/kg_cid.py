"""BC5CDR chemical-induced disease (CID) relations: a classifier fine-tuned through the engine, beside
co-occurrence baselines, with gold and with predicted entities, the BioCreative V way.

Data: the ``bc5cdr`` dataset of the mirror (BioCreative V CDR corpus, Li et al., Database 2016: 500
training, 500 development, 500 test abstracts, PubTator format, mentions with MeSH ids, ``CID`` relation
lines).

Candidates (:func:`serendip.kg.relations.document_candidates`): every (chemical id, disease id) pair of
an abstract's normalised mentions (composite ids split, ``-1`` skipped); gold pairs with no candidate
bound recall (``recall_ceiling`` rows).

Method ``cid-ft``: the offline all-MiniLM-L6-v2 fine-tuned through :func:`serendip.models.train.finetune`,
task ``binary`` (positive class ``CID``), on the training file read by the ``pubtator-cid`` data reader
(:mod:`serendip.kg.relation_data`: the pair's mentions marked ``@ chemical @`` and ``# disease #``; text
over ``--max-length`` word pieces reduced to the sentences of the pair and their neighbours, then to
the pair's sentences, then cut, every stage counted, nothing truncated unannounced). ``--negatives``
keeps that fraction of the negative training pairs, every positive kept. The epoch is chosen by dev
PR-AUC on the first ``--select-docs`` development abstracts (same reader and options); the decision
threshold (grid 0.05, 0.10, ..., 0.95) by the BioCreative F1 of every development candidate (all
negatives). The defaults fit the budget of 2 shared CPU cores (training about 1.2 examples/s at 128
word pieces while other jobs ran; 256 pieces and two epochs would have taken over an hour): 128 word
pieces, a quarter of the negative training pairs, one epoch. The rows here are of the model trained on
train alone; ``benchmarks/kg_cid_final.py`` refits it on train+dev (the final model, this run's threshold
and stacker copied) and writes its rows to the same file, marked ``train_on: train+dev``. Test: (a) gold entities: the test abstracts' own mentions and ids; (b) predicted entities: the
train+dev dictionary tagger (:class:`serendip.kg.ner_eval.DictionaryTagger`), or with ``--tagger SPEC``
any kg tagger (e.g. ``model+dictionary:RUN``: the NER run ``kg_bc5cdr`` trained, then the lexicon's
spans it overlaps none of; its rows name it as ``ner``), then the
:class:`serendip.kg.normalise.Normaliser` fitted on train+dev (``--embedding Chemical=C,Disease=D``: with
its embedding step at those cosines, e.g. the ones ``benchmarks/kg_normalise.py`` chose on dev; the rows
name them as ``embedding``).

Baselines, same candidates: ``cooccur-sentence`` (CID when a chemical and a disease mention share a
sentence) and ``cooccur-abstract`` (every candidate).

Method ``cid-stacked`` (unless ``--no-stack``): the second-stage scorer of :mod:`serendip.kg.cid_stack`, a
logistic regression over the classifier's logit, where and how often each concept is mentioned, trigger
words in shared sentences and a prior from the training set's CID relations, fitted on every development
candidate (gold entities: the classifier never trained on them; ``C`` and the threshold by 5-fold
cross-validation over the development abstracts), saved in the run folder (``cid_stacker.json``, which
:class:`~serendip.kg.relations.CidClassifier` and ``kg build --relations RUN`` then use), and scored on
test beside ``cid-ft``. ``cid-features``: the same with the classifier's logit set to 0 (features and prior
alone), beside ``cooccur-sentence``: what the fine-tuned model adds.

Metric (:func:`serendip.kg.relations.cid_scores`): micro precision, recall and F1 over (PMID, chemical id,
disease id) against the gold relations of the 500 test abstracts: the CID measure of BioCreative V.

Anchors (test F1, end to end: every team ran its own entity recognition): best team 57.03, ensemble of
the teams 62.80 (Wei et al., "Assessing the state of the art in biomedical relation extraction: overview
of the BioCreative V chemical-disease relation (CDR) task", Database 2016, baw032, abstract; as quoted
in issue 16). Beside the predicted-entity row only; the gold-entity row has no published peer here.

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/kg_cid.py [--epochs 1] [--threads 2] [--no-write]
    python benchmarks/kg_cid.py --smoke 8 --epochs 1     # 8 abstracts per split; writes nothing
    python benchmarks/kg_cid.py --run-dir RUN            # evaluate a run trained before (no training)
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "kg_cid"
DATASET = "bc5cdr"
BACKBONE = "sentence-transformers/all-MiniLM-L6-v2"
STEMS = {"train": "CDR_TrainingSet", "dev": "CDR_DevelopmentSet", "test": "CDR_TestSet"}
METHOD, BASELINE, ALL_PAIRS = "cid-ft", "cooccur-sentence", "cooccur-abstract"
_WEI = ("Wei et al. 2016, overview of the BioCreative V CDR task, Database baw032, abstract, test F1; "
        "as quoted in issue 16")
ANCHOR = ("BioCreative V CID best team, end to end (ensemble 62.80)", 0.5703, _WEI)
GRID = [round(0.05 * i, 2) for i in range(1, 20)]


def load_documents(smoke: int, select_docs: int, workdir: Path) -> tuple[dict[str, list], dict[str, Path]]:
    """The splits' documents and the files the engine reads: train, and ``select`` (the first
    ``select_docs`` development abstracts, written to ``workdir``)."""
    from serendip import datasets
    from serendip.kg.pubtator import read_pubtator, write_pubtator

    files = datasets.resolve(DATASET)
    paths = {split: files[f"bc5cdr/{stem}.PubTator.txt.gz"] for split, stem in STEMS.items()}
    docs = {split: read_pubtator(path) for split, path in paths.items()}
    if smoke:
        docs = {split: d[:smoke] for split, d in docs.items()}
        paths["train"] = write_pubtator(docs["train"], workdir / "train.PubTator.txt")
    paths["select"] = write_pubtator(docs["dev"][:select_docs], workdir / "dev-select.PubTator.txt")
    return docs, paths


def predicted_documents(train_dev: list, test: list, tagger_spec: str | None = None,
                        embedding: dict[str, float] | None = None) -> list:
    """The test abstracts with the mentions of the train+dev dictionary tagger (``tagger_spec`` None), or
    of the kg tagger ``tagger_spec`` names (:func:`serendip.kg.taggers.make_tagger`, fitted on train+dev:
    e.g. ``model+dictionary:RUN``, short forms given their long form's type as ``kg build`` does),
    normalised by the train+dev Normaliser (relations kept for scoring), with its embedding step at the
    ``embedding`` cosines (``{type: cosine}``; None: no embedding step)."""
    from serendip.kg.ner_eval import DictionaryTagger
    from serendip.kg.normalise import Normaliser
    from serendip.kg.pubtator import Mention
    from serendip.kg.relations import with_normalised
    from serendip.kg.taggers import make_tagger

    norm = Normaliser(embedding=embedding).fit(train_dev)
    if tagger_spec is None:
        lexicon = DictionaryTagger(train_dev)
        spans = [lexicon.tag(d.text) for d in test]
    else:
        spans = make_tagger(tagger_spec, train_dev).tag([d.text for d in test])
    out = []
    for d, found in zip(test, spans):
        mentions = [Mention(s, e, d.text[s:e], t) for s, e, t in found]
        out.append(with_normalised(d, norm.normalise_document(d, mentions)))
    return out


def type_cosines(text: str) -> dict[str, float]:
    """argparse type of ``--embedding``: ``TYPE=COS[,TYPE=COS]`` -> ``{type: cosine}``, each type Chemical
    or Disease (once) and each cosine a number in [-1, 1]."""
    import argparse

    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            cosine = float(value)
        except ValueError:
            cosine = float("nan")
        if not sep or name not in ("Chemical", "Disease") or name in out or not -1.0 <= cosine <= 1.0:
            raise argparse.ArgumentTypeError(f"expected TYPE=COS pairs (Chemical or Disease, a cosine in [-1, 1], "
                                             f"each type once), got {part!r}")
        out[name] = cosine
    return out


def entity_sources(args) -> dict[str, dict]:
    """The settings the rows of each test entity source carry: ``gold``, and ``predicted`` with the tagger
    (``ner``: ``--tagger-name`` or the spec) and the embedding cosines (``embedding``: ``"TYPE=COS,..."``)
    when given; plain values only, as the rows' settings must be."""
    predicted = {"entities": "predicted"}
    if args.tagger:
        predicted["ner"] = args.tagger_name or args.tagger
    if args.embedding:
        predicted["embedding"] = ",".join(f"{k}={v}" for k, v in args.embedding.items())
    return {"gold": {"entities": "gold"}, "predicted": predicted}


def train(args, paths: dict[str, Path], workdir: Path):
    """The fine-tuned run and its training seconds; progress printed every ``--log-every`` steps."""
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    options = {"backbone": args.backbone, "max_length": args.max_length, "negatives": args.negatives,
               "seed": args.seed}
    cfg = FineTuneConfig.model_validate({
        "task": {"name": "binary", "params": {"positive_label": "CID"}}, "backbone": args.backbone,
        "data": {"train": str(paths["train"]), "dev": str(paths["select"]), "format": "pubtator-cid",
                 "options": options, "split": {"dev": 0.0, "test": 0.0}},
        "training": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "warmup_ratio": 0.1,
                     "max_length": args.max_length, "seed": args.seed,
                     "early_stopping": {"metric": "pr_auc", "patience": None}},
        "output": {"run_dir": str(workdir / "runs"), "name": "kg-cid-bc5cdr", "plots": False}})
    t = time.perf_counter()

    first: list[float] = []

    def progress(done: int, total: int, info: dict) -> None:
        if "dev" in info:
            dev = info["dev"]
            print(f"epoch {info['epoch']}: dev PR-AUC {dev.get('pr_auc', float('nan')):.4f}, MCC "
                  f"{dev.get('mcc', float('nan')):.4f} ({time.perf_counter() - t:.0f} s)", flush=True)
            return
        if not first:
            first.append(time.perf_counter())
        if done % args.log_every == 0 or done == total:
            rate = (done - 1) * args.batch_size / max(1e-9, time.perf_counter() - first[0])
            print(f"step {done}/{total} epoch {info['epoch']} loss {info['loss']:.4f} ({rate:.1f} examples/s, "
                  f"{time.perf_counter() - t:.0f} s)", flush=True)

    result = finetune(cfg, progress=progress)
    return result, time.perf_counter() - t


def score_candidates(clf, docs: dict[str, list]) -> tuple[dict[str, list], dict[str, dict]]:
    """Per named document set: ``[(triple, probability)]`` for every candidate, and the fit counts of
    its examples; all sets scored in one pass (an example text met twice is scored once)."""
    from serendip.kg.relation_data import CidTextFitter, fit_counts, pair_examples

    fitter = CidTextFitter(clf.bundle.tokenizer, clf.bundle.max_length)
    examples, owners = [], []
    counts = {}
    for name, ds in docs.items():
        mine = [pair for d in ds for pair in pair_examples(d, fitter, labelled=False)]
        counts[name] = fit_counts(ex for _, ex in mine)
        examples += [ex for _, ex in mine]
        owners += [(name, cand.triple) for cand, _ in mine]
    t = time.perf_counter()
    probs = clf.probabilities(examples)
    print(f"scored {len(examples)} candidates ({len({e.text for e in examples})} distinct texts) in "
          f"{time.perf_counter() - t:.0f} s", flush=True)
    out: dict[str, list] = {name: [] for name in docs}
    for (name, triple), p in zip(owners, probs):
        out[name].append((triple, p))
    return out, counts


def choose_threshold(scored: list, gold: set) -> tuple[float, dict]:
    """The grid threshold with the best F1 (ties: the higher threshold) and the scores there."""
    from serendip.kg.relations import cid_scores

    best = max(GRID, key=lambda t: (cid_scores(gold, {x for x, p in scored if p >= t})["f1"], t))
    return best, cid_scores(gold, {x for x, p in scored if p >= best})


def _print(name: str, s: dict) -> None:
    print(f"{name}: F1 {s['f1']:.4f} (P {s['precision']:.4f} R {s['recall']:.4f}; {s['tp']}/{s['n_pred']} "
          f"predicted, {s['n_gold']} gold)", flush=True)


def _prf_rows(method: str, scores: dict, n: int, settings: dict, *, split: str = "test",
              base: dict | None = None, anchor: bool = False, wall: float | None = None,
              base_name: str = BASELINE) -> list[dict]:
    return [_rows.row(BENCH, DATASET, split, n, method, metric, scores[metric], settings=settings, wall_s=wall,
                      baseline=None if base is None else (base_name, base[metric]),
                      anchor=ANCHOR if anchor and metric == "f1" else None)
            for metric in ("f1", "precision", "recall")]


def stacked(clf, docs: dict[str, list], test_sets: dict[str, list], scored: dict[str, list], seed: int,
            with_model: bool = True) -> tuple[object, dict[str, set]]:
    """Fit the second-stage scorer (:class:`serendip.kg.cid_stack.CidStacker`) on every development
    candidate (gold entities; the classifier never trained on them) with the training set's relations
    as its prior; returns it and the triples it predicts per test entity source. ``with_model`` False:
    the classifier's logit is replaced by 0 everywhere (the features and the prior alone)."""
    from serendip.kg.cid_stack import CidPrior, CidStacker, candidate_rows

    def rows_of(ds: list, probs: list) -> tuple[list, int]:
        found, n_gold = candidate_rows(ds, dict(probs), prior)
        return ([(t, [f[0] if with_model else 0.0, *f[1:]], y) for t, f, y in found], n_gold)

    prior = CidPrior.from_documents(docs["train"])
    stacker = CidStacker.fit(*rows_of(docs["dev"], scored["dev"]), prior, seed=seed, info={
        "fitted_on": "BC5CDR development set, gold entities, every candidate (benchmarks/kg_cid.py)",
        "prior": "BC5CDR training set CID relations", "with_model": with_model})
    out = {}
    for source, ds in test_sets.items():
        found, _ = rows_of(ds, scored[source])
        out[source] = {t for t, f, _ in found if stacker.probability(f) >= stacker.threshold}
    return stacker, out


def stacked_rows(clf, docs: dict[str, list], test_sets: dict[str, list], scored: dict[str, list], gold: set,
                 n: int, sources: dict, settings: dict, base: dict, ft_scores: dict, seed: int,
                 save: bool = True) -> list[dict]:
    """Rows of ``cid-stacked`` (beside ``cid-ft``; its stacker saved in the run folder, where
    CidClassifier and ``kg build`` use it) and of ``cid-features`` (the same without the classifier,
    beside the co-occurrence baseline)."""
    from serendip.kg.relations import cid_scores

    rows = []
    for method, with_model in (("cid-stacked", True), ("cid-features", False)):
        t = time.perf_counter()
        stacker, predicted = stacked(clf, docs, test_sets, scored, seed, with_model)
        info = stacker.info
        print(f"{method}: C {info['C']}, threshold {stacker.threshold}, dev 5-fold F1 {info['cv_f1']}; weights "
              + ", ".join(f"{k} {w:+.2f}" for k, w in zip(stacker_features(), stacker.coef)), flush=True)
        if with_model and save:
            print(f"saved {stacker.save(clf.run_dir)}", flush=True)
        extra = {"stacker_C": info["C"], "stacker_threshold": stacker.threshold, "stacker_fit": "dev, gold entities",
                 "prior": "train CID relations"}
        extra = {**settings, **extra} if with_model else extra
        wall = time.perf_counter() - t
        for source, triples in predicted.items():
            s = cid_scores(gold, triples)
            _print(f"test {method}, {source} entities", s)
            rows += _prf_rows(method, s, n, {**sources[source], **extra}, wall=wall, anchor=source == "predicted",
                              base=ft_scores[source] if with_model else base[source],
                              base_name=METHOD if with_model else BASELINE)
    return rows


def stacker_features() -> tuple[str, ...]:
    from serendip.kg.cid_stack import FEATURES

    return FEATURES


def baselines(test_sets: dict[str, list], gold: set, n: int, sources: dict) -> tuple[list[dict], dict]:
    """The co-occurrence rows per entity source, and the sentence-level scores (the baseline of cid-ft)."""
    from serendip.kg.relations import cid_scores, cooccurrence_pairs

    rows, base = [], {}
    for source, ds in test_sets.items():
        for method, level in ((BASELINE, "sentence"), (ALL_PAIRS, "abstract")):
            t = time.perf_counter()
            s = cid_scores(gold, cooccurrence_pairs(ds, level))
            _print(f"test {method}, {source} entities", s)
            rows += _prf_rows(method, s, n, sources[source], wall=time.perf_counter() - t)
            base.setdefault(source, s)
    return rows, base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backbone", default=BACKBONE, help="a local folder or the bundled MiniLM id")
    ap.add_argument("--epochs", type=_rows.positive_int, default=1)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=_rows.positive_int, default=16)
    ap.add_argument("--max-length", type=_rows.positive_int, default=128, help="word pieces per example")
    ap.add_argument("--negatives", type=float, default=0.25, help="fraction of negative training pairs kept")
    ap.add_argument("--select-docs", type=_rows.positive_int, default=60,
                    help="development abstracts scored after each epoch to choose it")
    ap.add_argument("--seed", type=_rows.seed, default=0)
    ap.add_argument("--run-dir", type=Path, help="evaluate this run instead of training one")
    add_shared_arguments(ap)
    ap.add_argument("--no-stack", action="store_true", help="leave out the second-stage scorer (cid-stacked, "
                                                            "cid-features) and keep the run folder as it is")
    args = ap.parse_args()
    run(args, start(args, "kg_cid_"))


def add_shared_arguments(ap: argparse.ArgumentParser) -> None:
    """The options this script and ``kg_cid_final.py`` share: threads, progress, the predicted entities'
    tagger and normaliser, the work folder, smoke and no-write."""
    ap.add_argument("--threads", type=_rows.positive_int, default=2, help="torch CPU threads")
    ap.add_argument("--log-every", type=_rows.positive_int, default=20, help="steps between progress lines")
    ap.add_argument("--tagger", help="kg tagger for the predicted entities (default: the train+dev dictionary), "
                                     "e.g. model+dictionary:NER_RUN (a token run of benchmarks/kg_bc5cdr.py)")
    ap.add_argument("--tagger-name", help="what the rows call --tagger (default: the spec as given)")
    ap.add_argument("--embedding", type=type_cosines, metavar="TYPE=COS,...",
                    help="the normaliser's embedding step for predicted entities, e.g. Chemical=0.84,Disease=0.76")
    ap.add_argument("--workdir", type=Path, default=None, help="runs and written files (default: a new temp folder)")
    ap.add_argument("--smoke", type=_rows.positive_int, default=0,
                    help="use only the first N abstracts of each split (a check that the script runs; writes nothing)")
    ap.add_argument("--no-write", action="store_true")


def start(args, prefix: str) -> Path:
    """Offline mode, ``--threads`` torch threads, and the work folder (made; a new temp one by default)."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch

    torch.set_num_threads(args.threads)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=prefix))
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def run(args, workdir: Path) -> None:
    from serendip.kg.relations import (
        CidClassifier,
        candidates,
        cid_scores,
        gold_relations,
    )

    t_all = time.perf_counter()
    if args.run_dir is not None:  # before any work: a run trained otherwise would be named wrongly
        _rows.finished_run_config(args.run_dir, {k: getattr(args, k) for k in ("backbone", "epochs", "lr", "batch_size",
                                                                               "max_length", "seed", "negatives")})
    docs, paths = load_documents(args.smoke, args.select_docs, workdir)
    if args.run_dir is not None:  # trained on these bytes (not a --smoke subset of them)
        _rows.check_training_file(args.run_dir, paths["train"])
    test, n = docs["test"], len(docs["test"])
    test_sets = {"gold": test,
                 "predicted": predicted_documents(docs["train"] + docs["dev"], test, args.tagger, args.embedding)}
    sources = entity_sources(args)
    gold = gold_relations(test)
    rows = []
    for name, ds in [("train", docs["train"]), ("dev", docs["dev"])] + [(f"test-{k}", v) for k, v in test_sets.items()]:
        _, rep = candidates(ds)
        print(f"{name}: {rep.n_candidates} candidates, {rep.n_positive} positive, {rep.n_gold} gold pairs, "
              f"{len(rep.missing)} gold pairs without a candidate (recall ceiling {rep.recall_ceiling:.4f})", flush=True)
        if name.startswith("test-"):
            rows.append(_rows.row(BENCH, DATASET, "test", n, "candidates", "recall_ceiling", rep.recall_ceiling,
                                  settings=sources[name[5:]]))
    base_rows, base = baselines(test_sets, gold, n, sources)
    rows += base_rows

    if args.run_dir is None:
        result, train_s = train(args, paths, workdir)
        run_dir, best_epoch = result.run_dir, result.best_epoch
        print(f"run {run_dir}: best dev epoch {best_epoch} of {len(result.history)}; {train_s:.0f} s", flush=True)
    else:
        import json

        run_dir, train_s = args.run_dir, None
        best_epoch = json.loads((run_dir / "metrics.json").read_text())["selection"].get("best_epoch")
    clf = CidClassifier(run_dir, batch_size=args.batch_size * 2, stacked=False)  # its stacker is refitted below
    t = time.perf_counter()
    scored, counts = score_candidates(clf, {"dev": docs["dev"], **test_sets})
    threshold, dev_scores = choose_threshold(scored["dev"], gold_relations(docs["dev"]))
    clf.save_threshold(threshold, "BioCreative F1 on the BC5CDR development set (benchmarks/kg_cid.py)")
    _print(f"dev cid-ft at the chosen threshold {threshold}", dev_scores)
    wall = time.perf_counter() - t
    settings = {"backbone": Path(args.backbone).name if Path(args.backbone).is_dir() else "all-MiniLM-L6-v2",
                "epochs": args.epochs, "best_epoch": best_epoch, "threshold": threshold,
                "max_length": args.max_length, "negatives": args.negatives}
    rows += _prf_rows(METHOD, dev_scores, len(docs["dev"]), {"entities": "gold", **settings}, split="dev")
    ft_scores = {}
    for source in test_sets:
        s = ft_scores[source] = cid_scores(gold, {x for x, p in scored[source] if p >= threshold})
        _print(f"test {METHOD}, {source} entities", s)
        rows += _prf_rows(METHOD, s, n, {**sources[source], **settings}, base=base[source],
                          anchor=source == "predicted", wall=wall)
    if not args.no_stack:
        rows += stacked_rows(clf, docs, test_sets, scored, gold, n, sources, settings, base, ft_scores, args.seed,
                             save=not args.smoke)
    from serendip.kg.relation_data import fit_counts, read_cid_examples

    counts["train"] = fit_counts(read_cid_examples(paths["train"], backbone=args.backbone, max_length=args.max_length,
                                                   negatives=args.negatives, seed=args.seed))
    for name, c in counts.items():
        print(f"{name} examples by fitting stage: {c}", flush=True)
        split = name if name in ("train", "dev") else "test"
        entities = sources["predicted" if name == "predicted" else "gold"]
        for metric, value in (("examples_cut", c["cut"]), ("examples_truncated", c["truncated"])):
            rows.append(_rows.row(BENCH, DATASET, split, len(docs[split]), METHOD, metric, value,
                                  settings={**entities, "max_length": args.max_length}))
    if train_s is not None:
        rows.append(_rows.row(BENCH, DATASET, "train", len(docs["train"]), METHOD, "train_wall_s", train_s,
                              settings={"entities": "gold", **settings}))
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write or bool(args.smoke))


if __name__ == "__main__":
    _rows.run_main(main)
