"""BC5CDR CID relations, the final model: the classifier of ``kg_cid.py`` refitted on train + dev.

Issue 16 asks for the CID classifier trained on BC5CDR train "(+dev for the final model)".
``benchmarks/kg_cid.py`` trains on the training abstracts alone, because the development abstracts are
where it chooses the decision threshold and fits the second-stage scorer (:mod:`serendip.kg.cid_stack`).
This script takes such a run (``--run-dir``, after ``kg_cid.py`` saved ``cid_threshold.json`` and
``cid_stacker.json`` in it) and:

1. fine-tunes a new classifier on the training and development abstracts together
   (``train+dev.PubTator.txt`` in the work folder; reader ``pubtator-cid``), with the train-only run's
   recorded settings (backbone, epochs, learning rate, batch size, word pieces, negatives kept, seed),
   no dev file and none carved out, so the last epoch is kept (``--final-run-dir``: a run this script
   trained before, its settings checked);
2. copies the train-only run's threshold and stacker into the final run, unchanged: both were chosen on
   development candidates scored by a classifier that never saw them, which the final classifier's test
   scores also are (it never saw the test abstracts); so ``kg build --relations FINAL_RUN`` uses them;
3. scores the test abstracts (gold entities, and the entities of ``--tagger`` normalised as in
   ``kg_cid.py``; ``--embedding`` as there) the BioCreative V way: ``cid-ft`` (the final classifier at
   the copied threshold) beside the train-only classifier's ``cid-ft`` figure, ``cid-stacked`` (the
   copied stacker over the final classifier's logits) beside the final ``cid-ft``. Rows carry
   ``train_on: train+dev``; the predicted-entity rows the best team's figure as their anchor.

Nothing here is chosen on test, and nothing on dev that ``kg_cid.py`` did not already choose there.

Usage::

    python benchmarks/kg_cid.py --run-dir RUN ...                      # first: threshold and stacker
    python benchmarks/kg_cid_final.py --run-dir RUN [--tagger model:NER_RUN --tagger-name NAME]
    python benchmarks/kg_cid_final.py --run-dir RUN --final-run-dir FINAL   # score a final run again
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402
import kg_cid  # noqa: E402

TRAIN_DEV_FILE = "train+dev.PubTator.txt"
#: the train-only run's settings the final run repeats: run.json training keys, then data options
TRAINING_KEYS = ("epochs", "lr", "batch_size", "max_length", "seed")


def recorded_settings(run_dir: Path) -> dict:
    """The settings of the fine-tuning run in ``run_dir`` that the final run repeats: ``backbone``,
    :data:`TRAINING_KEYS` and ``negatives`` (its ``run.json``). Raises DataError when the folder is not
    a finished ``pubtator-cid`` run (``run.json`` and ``metrics.json`` readable)."""
    from serendip.errors import DataError

    try:
        config = json.loads((run_dir / "run.json").read_text())["config"]
        json.loads((run_dir / "metrics.json").read_text())  # written when the run finished
        if config["data"]["format"] != "pubtator-cid":
            raise DataError(f"{run_dir}: a {config['data']['format']} run, not a pubtator-cid one")
        return {"backbone": config["backbone"]["name"], **{k: config["training"][k] for k in TRAINING_KEYS},
                "negatives": config["data"]["options"]["negatives"], "train": config["data"]["train"],
                "dev": config["data"].get("dev")}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{run_dir}: not a finished CID run of benchmarks/kg_cid.py "
                        f"({type(e).__name__}: {e})") from e


def check_runs(run_dir: Path, final_dir: Path | None, train_dev: Path | None = None) -> dict:
    """The train-only run's settings (:func:`recorded_settings`), checked: it holds the threshold and
    stacker ``kg_cid.py`` saves, was trained on the training file alone, and ``final_dir`` (when given)
    was trained on :data:`TRAIN_DEV_FILE` without a dev file, with the same settings (and, given
    ``train_dev``, on that file's bytes: :func:`_rows.check_training_file`). Raises DataError naming the
    folder and what differs."""
    from serendip.errors import DataError
    from serendip.kg.cid_stack import STACKER_FILE
    from serendip.kg.relations import THRESHOLD_FILE

    base = recorded_settings(run_dir)
    missing = [f for f in (THRESHOLD_FILE, STACKER_FILE) if not (run_dir / f).is_file()]
    if missing:
        raise DataError(f"{run_dir}: no {', '.join(missing)} (run benchmarks/kg_cid.py --run-dir {run_dir} first)")
    if Path(base["train"]).name == TRAIN_DEV_FILE:
        raise DataError(f"{run_dir}: trained on train+dev already; give the train-only run of kg_cid.py")
    if final_dir is not None:
        final = recorded_settings(final_dir)
        if Path(final["train"]).name != TRAIN_DEV_FILE or final["dev"] is not None:
            raise DataError(f"{final_dir}: not trained on {TRAIN_DEV_FILE} without a dev file "
                            f"(train {final['train']}, dev {final['dev']})")
        keys = ("backbone", *TRAINING_KEYS, "negatives")
        diff = [f"{k}: {final[k]!r} against {base[k]!r}" for k in keys if final[k] != base[k]]
        if diff:
            raise DataError(f"{final_dir} was trained with other settings than {run_dir} ({', '.join(diff)})")
        if train_dev is not None:
            _rows.check_training_file(final_dir, train_dev)
    return base


def train_final(base: dict, train_dev: Path, workdir: Path, log_every: int = 20):
    """Fine-tune the final classifier on ``train_dev`` with ``base``'s settings; returns the run
    (:class:`serendip.models.train.RunResult`) and its training seconds."""
    from serendip.models.config import FineTuneConfig
    from serendip.models.train import finetune

    options = {"backbone": base["backbone"], "max_length": base["max_length"], "negatives": base["negatives"],
               "seed": base["seed"]}
    cfg = FineTuneConfig.model_validate({
        "task": {"name": "binary", "params": {"positive_label": "CID"}}, "backbone": base["backbone"],
        "data": {"train": str(train_dev), "format": "pubtator-cid", "options": options,
                 "split": {"dev": 0.0, "test": 0.0}},
        "training": {**{k: base[k] for k in TRAINING_KEYS}, "warmup_ratio": 0.1},
        "output": {"run_dir": str(workdir / "runs"), "name": "kg-cid-bc5cdr-final", "plots": False}})
    t = time.perf_counter()

    def progress(done: int, total: int, info: dict) -> None:
        if "dev" not in info and (done % log_every == 0 or done == total):
            print(f"step {done}/{total} epoch {info['epoch']} loss {info['loss']:.4f} "
                  f"({time.perf_counter() - t:.0f} s)", flush=True)

    result = finetune(cfg, progress=progress)
    return result, time.perf_counter() - t


def stacked_triples(stacker, ds: list, scored: list) -> set:
    """The triples of ``ds`` whose stacker probability (features from the classifier's ``scored``
    probabilities, :func:`serendip.kg.cid_stack.candidate_rows`) reaches the stacker's threshold."""
    from serendip.kg.cid_stack import candidate_rows

    found, _ = candidate_rows(ds, dict(scored), stacker.prior)
    return {t for t, f, _ in found if stacker.probability(f) >= stacker.threshold}


def run(args, workdir: Path) -> None:
    from serendip.kg.cid_stack import STACKER_FILE, CidStacker
    from serendip.kg.pubtator import write_pubtator
    from serendip.kg.relations import (
        CidClassifier,
        cid_scores,
        cooccurrence_pairs,
        gold_relations,
    )

    t_all = time.perf_counter()
    base = check_runs(args.run_dir, args.final_run_dir)
    docs, _ = kg_cid.load_documents(args.smoke, 1, workdir)
    train_dev = write_pubtator(docs["train"] + docs["dev"], workdir / TRAIN_DEV_FILE)
    if args.final_run_dir is not None:  # trained on these bytes (not a --smoke subset)
        check_runs(args.run_dir, args.final_run_dir, train_dev)
    threshold = CidClassifier(args.run_dir, stacked=False).threshold
    stacker = CidStacker.load(args.run_dir / STACKER_FILE)
    test, n = docs["test"], len(docs["test"])
    predicted = kg_cid.predicted_documents(docs["train"] + docs["dev"], test, args.tagger, args.embedding)
    test_sets = {"gold": test, "predicted": predicted}
    sources = kg_cid.entity_sources(args)
    gold = gold_relations(test)
    if args.final_run_dir is None:
        result, train_s = train_final(base, train_dev, workdir, args.log_every)
        final_dir = Path(result.run_dir)
        print(f"final run {final_dir}: {train_s:.0f} s", flush=True)
    else:
        final_dir = args.final_run_dir
        train_s = float(json.loads((final_dir / "metrics.json").read_text())["wall_s"])
    if not args.smoke:  # the final run carries what kg build needs: the copied threshold and stacker
        stacker.save(final_dir)
    clf = CidClassifier(final_dir, batch_size=base["batch_size"] * 2, stacked=False)
    clf.threshold = threshold
    if not args.smoke:
        clf.save_threshold(threshold, f"copied from the train-only run {args.run_dir} (chosen there on the BC5CDR "
                                      f"development set by benchmarks/kg_cid.py)")
    t = time.perf_counter()
    scored, _ = kg_cid.score_candidates(clf, test_sets)
    wall = time.perf_counter() - t
    settings = {"backbone": Path(base["backbone"]).name if Path(base["backbone"]).is_dir() else "all-MiniLM-L6-v2",
                **{k: base[k] for k in ("epochs", "max_length", "negatives")}, "train_on": "train+dev",
                "threshold": threshold, "train_s": round(train_s, 1)}
    stack = {"stacker_C": stacker.info.get("C"), "stacker_threshold": stacker.threshold,
             "stacker_fit": "dev, gold entities, train-only run's scores", "prior": "train CID relations"}
    rows = []
    for source, ds in test_sets.items():
        cooccur = cid_scores(gold, cooccurrence_pairs(ds, "sentence"))
        ft = cid_scores(gold, {x for x, p in scored[source] if p >= threshold})
        kg_cid._print(f"test final cid-ft, {source} entities", ft)
        rows += kg_cid._prf_rows(kg_cid.METHOD, ft, n, {**sources[source], **settings}, base=cooccur,
                                 anchor=source == "predicted", wall=wall)
        s = cid_scores(gold, stacked_triples(stacker, ds, scored[source]))
        kg_cid._print(f"test final cid-stacked, {source} entities", s)
        rows += kg_cid._prf_rows("cid-stacked", s, n, {**sources[source], **settings, **stack}, base=ft,
                                 base_name=kg_cid.METHOD, anchor=source == "predicted", wall=wall)
    _rows.finish(kg_cid.BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write or bool(args.smoke))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path, required=True,
                    help="the train-only run of kg_cid.py (with its saved threshold and stacker)")
    ap.add_argument("--final-run-dir", type=Path, help="a train+dev run this script trained before")
    kg_cid.add_shared_arguments(ap)
    args = ap.parse_args()
    run(args, kg_cid.start(args, "kg_cid_final_"))


if __name__ == "__main__":
    _rows.run_main(main)
