"""BC5CDR normalisation to MeSH ids, scored the BioCreative V way, beside an exact-lexicon baseline.

Data: the ``bc5cdr`` dataset of the mirror (BioCreative V CDR corpus, Li et al., Database 2016: 500
training, 500 development, 500 test abstracts, PubTator format, every mention with its MeSH id or ``-1``).

Method ``lexicon-abbrev-fuzzy`` (:class:`serendip.kg.normalise.Normaliser`): a counted lexicon of the
annotated mentions' normal forms, Schwartz–Hearst abbreviation resolution within each abstract, then the
most similar lexicon form by a rapidfuzz scorer above a threshold. Tuning: lexicon from the training
set, development-set gold mentions normalised, the scorer (of :data:`~serendip.kg.normalise.SCORERS`) and
one threshold per entity type (grid ``--grid``, default 50, 52, ..., 100) chosen for the best development
F1 of that type (the scorer by the micro F1 of the per-type bests; ties: the higher threshold, the
earlier scorer); then the longest form that keeps its case (``--case-grid``, default 0, 2, 3, 4, 5) for
the best development micro F1 on the mentions a training-set dictionary tagger finds in the
development abstracts, the tagger matching the same short forms with their case (ties: the smallest).
Test: lexicon from training + development, the chosen settings.

Method ``lexicon-abbrev-fuzzy-embedding``: the same, then an embedding match for the mentions still
unresolved (:mod:`serendip.kg.normalise_embed`: the lexicon form of the type with the highest cosine
similarity of all-MiniLM-L6-v2 sentence embeddings), accepted at a per-type cosine threshold chosen like
the fuzzy ones (lexicon from train, development gold mentions, grid ``--embedding-grid``, default 0.70,
0.72, ..., 0.98; a type where no threshold beats leaving the step out is not embedding-matched); beside
``lexicon-abbrev-fuzzy`` as its baseline.

Baseline ``exact-lexicon``: the same lexicon and normal forms (the chosen case rule too), exact normal
form only (no abbreviations, no fuzzy match).

Mention sources: ``gold`` (the test set's own mentions and types: normalisation alone) and
``dictionary`` (the mentions found by :class:`serendip.kg.ner_eval.DictionaryTagger` from the training +
development mention texts, the NER baseline of ``benchmarks/kg_bc5cdr.py``: end to end) and
``dictionary+abbreviations`` (those, then each short form an abstract defines given its tagged long
form's type: :func:`serendip.kg.abbreviations.propagate_short_forms`, what ``kg build``'s taggers do). The fine-tuned
NER model of ``kg_bc5cdr``: ``--tagger model:RUN`` (a run folder it trained) adds its mentions as a
source, named by ``--tagger-name``.

Metric (:func:`serendip.kg.ner_eval.concept_scores`): per abstract the set of (type, MeSH id), a composite
``D1|D2`` giving each id and ``-1`` none, against the gold set; micro precision, recall and F1 over all
abstracts per type: the disease normalisation (DNER) measure of the BioCreative V CDR task (Wei et al.,
"Overview of the BioCreative V Chemical Disease Relation (CDR) Task", Proc. Fifth BioCreative Challenge
Evaluation Workshop, 2015), applied to chemicals too.

Anchors (test F1, end to end: each system ran its own NER): the best DNER team of BioCreative V, disease
86.46 (Wei et al. 2015; as quoted in issue 16); TaggerOne (Leaman & Lu, "TaggerOne: joint named entity
recognition and normalization with semi-Markov Models", Bioinformatics 32(18), 2016, abstract), chemical
normalisation F1 0.895 on the BC5CDR test set. Both used the full MeSH vocabulary as a lexicon; this
script's lexicon holds only the annotated training (+ development) mentions, so a concept never annotated
there cannot be found (``ceiling_recall_*`` rows: the share of gold test concepts whose id the lexicon
holds at all).

Usage::

    SERENDIP_DATA_MIRROR=/work/shared/data python benchmarks/kg_normalise.py [--no-write]
    python benchmarks/kg_normalise.py --smoke 20     # the first 20 abstracts per split; writes nothing
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

BENCH = "kg_normalise"
DATASET = "bc5cdr"
TYPES = ("Chemical", "Disease")
STEMS = {"train": "CDR_TrainingSet", "dev": "CDR_DevelopmentSet", "test": "CDR_TestSet"}
METHOD, BASELINE = "lexicon-abbrev-fuzzy", "exact-lexicon"
METHOD_EMBEDDING = "lexicon-abbrev-fuzzy-embedding"
_WEI = "Wei et al. 2015, Overview of the BioCreative V CDR task, best DNER team, test; as quoted in issue 16"
_T1 = "Leaman & Lu 2016, TaggerOne, Bioinformatics 32(18), abstract: BC5CDR chemical normalisation f-score"
#: type -> (name, F1 as a fraction, source): published end-to-end figures on the BC5CDR test set
ANCHORS = {"Disease": ("BioCreative V DNER best team (end to end, MeSH lexicon)", 0.8646, _WEI),
           "Chemical": ("TaggerOne (end to end, MeSH lexicon)", 0.895, _T1)}


def load_documents(smoke: int) -> dict[str, list]:
    """The three splits (the first ``smoke`` abstracts of each when > 0). Raises DatasetNotFound /
    ParseError."""
    from serendip import datasets
    from serendip.kg.pubtator import read_pubtator

    files = datasets.resolve(DATASET)
    docs = {split: read_pubtator(files[f"bc5cdr/{stem}.PubTator.txt.gz"]) for split, stem in STEMS.items()}
    return {split: d[:smoke] for split, d in docs.items()} if smoke else docs


def normalise_all(normaliser, docs: list, mentions: dict | None = None) -> dict:
    """``{pmid: [NormalisedMention]}`` for the documents' own mentions, or ``mentions[pmid]``."""
    return {d.pmid: normaliser.normalise_document(d, None if mentions is None else mentions.get(d.pmid, []))
            for d in docs}


def _at(results: dict, threshold: dict[str, float]) -> set:
    """The concepts of ``results`` (normalised with threshold 0) had each type's threshold been given."""
    return {(pmid, r.mention.type, i) for pmid, rs in results.items() for r in rs
            if r.method != "fuzzy" or r.score >= threshold.get(r.mention.type, 101.0) for i in r.ids}


def tune(train: list, dev: list, grid: list[float]) -> tuple[str, dict[str, float], dict]:
    """The scorer and per-type thresholds with the best development F1 (module docstring), and the dev
    scores at them. One normalisation per scorer at threshold 0: a fuzzy match is the best lexicon form
    whatever the threshold, so each threshold of the grid only keeps or drops it (:func:`_at`)."""
    from serendip.kg.ner_eval import concept_scores, gold_concepts, predicted_concepts
    from serendip.kg.normalise import SCORERS, Normaliser

    gold = gold_concepts(dev)
    best: tuple | None = None
    for scorer in SCORERS:
        results = normalise_all(Normaliser(0.0, scorer).fit(train), dev)
        chosen = {}
        for typ in TYPES:
            f1s = [(concept_scores(gold, _at(results, {typ: t}))[typ]["f1"], t) for t in grid]
            chosen[typ] = max(f1s)[1]  # ties: the higher threshold
        micro = concept_scores(gold, _at(results, chosen))["micro"]["f1"]
        print(f"dev {scorer}: thresholds {chosen}, micro F1 {micro:.4f}", flush=True)
        if best is None or micro > best[0]:  # ties: the earlier scorer
            best = (micro, scorer, chosen, _at(results, chosen))
    _, scorer, chosen, concepts = best
    tuned = predicted_concepts(normalise_all(Normaliser(chosen, scorer).fit(train), dev))
    if tuned != concepts:  # the shortcut above must equal a run at the chosen thresholds
        raise AssertionError("thresholding a threshold-0 run differs from running at the threshold")
    return scorer, chosen, concept_scores(gold, tuned)


def tune_case(train: list, dev: list, scorer: str, thresholds: dict[str, float], grid: list[int]
              ) -> tuple[int, dict[int, float]]:
    """The longest form that keeps its case (:func:`serendip.kg.normalise.normal_form`), from ``grid``,
    with the best development micro F1 on the mentions the train dictionary tagger finds in the
    development abstracts, the tagger and the normaliser sharing the rule (ties: the smallest); and the
    F1 of each grid value."""
    from serendip.kg.ner_eval import concept_scores, gold_concepts, predicted_concepts
    from serendip.kg.normalise import Normaliser

    gold, f1 = gold_concepts(dev), {}
    for keep in grid:
        mentions = dictionary_mentions(train, dev, keep)
        norm = Normaliser(thresholds, scorer, case_kept_max=keep).fit(train)
        f1[keep] = concept_scores(gold, predicted_concepts(normalise_all(norm, dev, mentions)))["micro"]["f1"]
    print("dev, dictionary mentions, micro F1 by longest case-kept form: "
          + ", ".join(f"{k}: {v:.4f}" for k, v in f1.items()), flush=True)
    return max(grid, key=lambda k: (f1[k], -k)), f1


def tune_embedding(train: list, dev: list, scorer: str, thresholds: dict[str, float], case_kept_max: int,
                   grid: list[float]) -> tuple[dict[str, float], dict]:
    """Per type, the cosine threshold of the embedding match (step 4) from ``grid`` with the best
    development F1 (gold mentions, lexicon from train; ties: the higher threshold), or none (left out of
    the returned dict) when no threshold beats leaving the step out; and the dev scores at the choice.
    One normalisation with every embedding match accepted: each threshold only keeps or drops them."""
    from serendip.kg.ner_eval import concept_scores, gold_concepts
    from serendip.kg.normalise import Normaliser

    gold = gold_concepts(dev)
    results = normalise_all(Normaliser(thresholds, scorer, case_kept_max=case_kept_max,
                                       embedding={t: -1.0 for t in TYPES}).fit(train), dev)

    def at(chosen: dict[str, float]) -> set:
        return {(pmid, r.mention.type, i) for pmid, rs in results.items() for r in rs
                if r.method != "embedding" or r.score >= 100.0 * chosen.get(r.mention.type, 2.0) for i in r.ids}

    chosen: dict[str, float] = {}
    for typ in TYPES:
        off = concept_scores(gold, at({}))[typ]["f1"]
        f1, t = max((concept_scores(gold, at({typ: t}))[typ]["f1"], t) for t in grid)
        print(f"dev embedding match, {typ}: F1 {off:.4f} without, best {f1:.4f} at cosine >= {t}", flush=True)
        if f1 > off:
            chosen[typ] = t
    return chosen, concept_scores(gold, at(chosen))


def model_mentions(spec: str, train_dev: list, test: list) -> dict:
    """``{pmid: [Mention]}`` of the kg tagger ``spec`` (e.g. ``model:RUN``, a token run of
    ``benchmarks/kg_bc5cdr.py``; short forms typed by their long forms as ``kg build`` does)."""
    from serendip.kg.pubtator import Mention
    from serendip.kg.taggers import make_tagger

    spans = make_tagger(spec, train_dev).tag([d.text for d in test])
    return {d.pmid: [Mention(s, e, d.text[s:e], t) for s, e, t in found] for d, found in zip(test, spans)}


def dictionary_mentions(train_dev: list, test: list, case_kept_max: int, short_forms: bool = False) -> dict:
    """``{pmid: [Mention]}`` found in the test abstracts by the train+dev dictionary tagger, its short
    forms (at most ``case_kept_max`` characters) matched with their case, as the normaliser keys them;
    with ``short_forms``, each short form an abstract defines then given its tagged long form's type
    (:func:`serendip.kg.abbreviations.propagate_short_forms`, as ``kg build``'s taggers do)."""
    from serendip.kg.abbreviations import propagate_short_forms
    from serendip.kg.ner_eval import DictionaryTagger
    from serendip.kg.pubtator import Mention

    tagger = DictionaryTagger(train_dev, case_kept_max=case_kept_max)
    out = {}
    for d in test:
        spans = tagger.tag(d.text)
        spans = propagate_short_forms(d.text, spans) if short_forms else spans
        out[d.pmid] = [Mention(s, e, d.text[s:e], t) for s, e, t in spans]
    return out


def _print(name: str, scores: dict) -> None:
    print(f"{name}: " + "; ".join(
        f"{t} F1 {scores[t]['f1']:.4f} (P {scores[t]['precision']:.4f} R {scores[t]['recall']:.4f}, "
        f"{scores[t]['tp']}/{scores[t]['n_pred']} pred, {scores[t]['n_gold']} gold)" for t in (*TYPES, "micro")),
        flush=True)


def _rows_for(method: str, scores: dict, n: int, settings: dict, *, base: dict | None, wall: float,
              split: str = "test", base_name: str = BASELINE) -> list[dict]:
    rows = []
    for typ in (*TYPES, "micro"):
        for metric in ("f1", "precision", "recall"):
            rows.append(_rows.row(
                BENCH, DATASET, split, n, method, f"{metric}_{typ.lower()}", scores[typ][metric],
                settings=settings, wall_s=wall,
                baseline=None if base is None else (base_name, base[typ][metric]),
                anchor=ANCHORS.get(typ) if metric == "f1" and base is not None and split == "test" else None))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default="50:100:2", help="thresholds start:stop:step (stop included)")
    ap.add_argument("--case-grid", type=_rows.int_list, default=[0, 2, 3, 4, 5],
                    help="longest forms (characters) that keep their case, tried on dev")
    ap.add_argument("--smoke", type=_rows.positive_int, default=0,
                    help="use only the first N abstracts of each split (a check that the script runs; writes nothing)")
    ap.add_argument("--embedding-grid", default="0.7:0.98:0.02",
                    help="cosine thresholds of the embedding match tried on dev, start:stop:step")
    ap.add_argument("--tagger", help="also score the mentions of this kg tagger, e.g. model:NER_RUN (a token run "
                                     "of benchmarks/kg_bc5cdr.py)")
    ap.add_argument("--tagger-name", help="what the rows call --tagger's mentions (default: the spec)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    grid, embedding_grid = _grid(args.grid, "--grid"), [round(t, 4) for t in _grid(args.embedding_grid, "--embedding-grid")]
    from serendip.kg.ner_eval import concept_scores, gold_concepts, predicted_concepts
    from serendip.kg.normalise import Normaliser

    t_all = time.perf_counter()
    docs = load_documents(args.smoke)
    train, dev, test = docs["train"], docs["dev"], docs["test"]
    t = time.perf_counter()
    scorer, thresholds, dev_scores = tune(train, dev, grid)
    case_kept_max, _ = tune_case(train, dev, scorer, thresholds, args.case_grid)
    print(f"chosen on dev (lexicon from train): scorer {scorer}, thresholds {thresholds}, "
          f"case kept up to {case_kept_max} characters", flush=True)
    _print("dev lexicon-abbrev-fuzzy (gold mentions)", dev_scores)
    tune_wall = time.perf_counter() - t
    t = time.perf_counter()
    embedding, dev_embed_scores = tune_embedding(train, dev, scorer, thresholds, case_kept_max, embedding_grid)
    _print(f"dev {METHOD_EMBEDDING} (gold mentions), cosine thresholds {embedding}", dev_embed_scores)
    embed_wall = time.perf_counter() - t

    chosen = {"scorer": scorer, **{f"threshold_{k.lower()}": v for k, v in thresholds.items()},
              "case_kept_max": case_kept_max}
    gold, n = gold_concepts(test), len(test)
    lexicon_ids = {(typ, i) for _, typ, i in gold_concepts(train + dev)}
    embed_chosen = {**chosen, **{f"cosine_{k.lower()}": v for k, v in embedding.items()},
                    "encoder": "all-MiniLM-L6-v2"}
    rows = _rows_for(METHOD, dev_scores, len(dev), {"mentions": "gold", "lexicon": "train", **chosen},
                     base=None, wall=tune_wall, split="dev")
    rows += _rows_for(METHOD_EMBEDDING, dev_embed_scores, len(dev), {"mentions": "gold", "lexicon": "train",
                                                                     **embed_chosen},
                      base=dev_scores, base_name=METHOD, wall=embed_wall, split="dev")
    sources = {"gold": None, "dictionary": dictionary_mentions(train + dev, test, case_kept_max),
               "dictionary+abbreviations": dictionary_mentions(train + dev, test, case_kept_max, short_forms=True)}
    if args.tagger:
        sources[args.tagger_name or args.tagger] = model_mentions(args.tagger, train + dev, test)
    for source, mentions in sources.items():
        out = {}
        for name, norm in ((BASELINE, Normaliser(abbreviations=False, fuzzy=False, case_kept_max=case_kept_max)),
                           (METHOD, Normaliser(thresholds, scorer, case_kept_max=case_kept_max)),
                           (METHOD_EMBEDDING, Normaliser(thresholds, scorer, case_kept_max=case_kept_max,
                                                         embedding=embedding or None))):
            t = time.perf_counter()
            results = normalise_all(norm.fit(train + dev), test, mentions)
            out[name] = (concept_scores(gold, predicted_concepts(results)), time.perf_counter() - t)
            _print(f"test {name}, {source} mentions", out[name][0])
        settings = {"mentions": source, "lexicon": "train+dev"}
        rows += _rows_for(BASELINE, out[BASELINE][0], n, settings, base=None, wall=out[BASELINE][1])
        rows += _rows_for(METHOD, out[METHOD][0], n, {**settings, **chosen}, base=out[BASELINE][0],
                          wall=out[METHOD][1])
        rows += _rows_for(METHOD_EMBEDDING, out[METHOD_EMBEDDING][0], n, {**settings, **embed_chosen},
                          base=out[METHOD][0], base_name=METHOD, wall=out[METHOD_EMBEDDING][1])
    for typ in TYPES:
        gt = [c for c in gold if c[1] == typ]
        ceiling = sum((typ, c[2]) in lexicon_ids for c in gt) / len(gt) if gt else 0.0
        print(f"test {typ}: {ceiling:.4f} of {len(gt)} gold concepts have an id the train+dev lexicon holds")
        rows.append(_rows.row(BENCH, DATASET, "test", n, "lexicon-coverage", f"ceiling_recall_{typ.lower()}",
                              ceiling, settings={"lexicon": "train+dev"}))
    _rows.finish(BENCH, rows, time.perf_counter() - t_all, no_write=args.no_write or bool(args.smoke))


def _grid(spec: str, flag: str) -> list[float]:
    try:
        start, stop, step = (float(x) for x in spec.split(":"))
    except ValueError:
        raise _rows.UsageError(f"{flag} {spec!r} is not start:stop:step") from None
    return [start + i * step for i in range(int(round((stop - start) / step)) + 1)]


if __name__ == "__main__":
    _rows.run_main(main)
