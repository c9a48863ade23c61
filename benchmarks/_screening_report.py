"""What ``screening_cohen.py`` prints and the rows it writes over every review: each review's line per
system (:func:`show`), the WSS@95 table with each system's reviews above ASReview (:func:`print_summary`)
and the summary rows (:func:`summary_rows`: mean WSS@95 and WSS@100 over the reviews, the reviews above
ASReview, and each stopping rule's share of runs reaching 95 % recall and records left unread)."""
from __future__ import annotations

import statistics

import _rows
from _screening_asreview import ASREVIEW

__all__ = ["BENCH", "DATASET", "METRICS", "pooled", "print_summary", "show", "summary_rows"]

BENCH = "screening_cohen"
DATASET = "cohen-2006"
#: printed per review and system (mean ± sd over the seeds)
METRICS = ("wss@95", "wss@100", "rrf@10", "atd")


def pooled(result, key: str) -> tuple[float, float | None]:
    """(mean, sd) over seeds of a metric (``stop:<rule>:recall`` / ``saved`` for stopping rules)."""
    return result.summary()[key]


def show(review: str, results: dict) -> None:
    """One line per system: metrics as mean ± sd over seeds, and wall seconds per seed."""
    print(f"{review}:", flush=True)
    for name, res in results.items():
        parts = []
        for key in METRICS:
            m, sd = pooled(res, key)
            scale = 1 if key == "atd" else 100
            parts.append(f"{key} {scale * m:.1f}±{scale * (sd or 0):.1f}")
        for rule in res.runs[0].stops:
            parts.append(f"{rule}: recall {100 * pooled(res, f'stop:{rule}:recall')[0]:.1f} "
                         f"saved {100 * pooled(res, f'stop:{rule}:saved')[0]:.1f}")
        wall = statistics.fmean(r.wall_s for r in res.runs)
        print(f"  {name:16s} " + "  ".join(parts) + f"  ({wall:.0f} s/seed)", flush=True)


def summary_rows(per_review: dict, seeds) -> list[dict]:
    """Rows over every review: mean WSS@95 per system (sd over reviews), the reviews where ``serendip``
    beats ASReview, and per stopping rule and system the share of runs reaching 95 % recall and the
    mean share of records left unread (over reviews x seeds)."""
    reviews = sorted(per_review)
    dataset = f"{DATASET}/{len(reviews)}-reviews"
    systems = list(next(iter(per_review.values())))
    rows = []
    for system in systems:
        wss100 = [pooled(per_review[r][system], "wss@100")[0] for r in reviews]
        rows.append(_rows.row(BENCH, dataset, "test", len(reviews), system, "wss@100_mean_over_reviews",
                              statistics.fmean(wss100), sd=statistics.stdev(wss100), seed=None, seeds=list(seeds),
                              settings={"strategy": "max", "labels": "abstract"}))
        wss = [pooled(per_review[r][system], "wss@95")[0] for r in reviews]
        base = ASREVIEW if system != ASREVIEW else "tfidf-nb"
        base_wss = [pooled(per_review[r][base], "wss@95")[0] for r in reviews] if base in systems else None
        rows.append(_rows.row(BENCH, dataset, "test", len(reviews), system, "wss@95_mean_over_reviews",
                              statistics.fmean(wss), sd=statistics.stdev(wss), seed=None, seeds=list(seeds),
                              settings={"strategy": "max", "labels": "abstract"},
                              baseline=(base, statistics.fmean(base_wss)) if base_wss else None))
        if base_wss and system != ASREVIEW:
            wins = sum(a > b for a, b in zip(wss, base_wss))
            rows.append(_rows.row(BENCH, dataset, "test", len(reviews), system, "reviews_above_asreview_wss@95",
                                  wins, seed=None, seeds=list(seeds), settings={"strategy": "max", "labels": "abstract"}))
        for rule in per_review[reviews[0]][system].runs[0].stops:
            runs = [run for r in reviews for run in per_review[r][system].runs]
            reached = statistics.fmean(run.stops[rule].recall >= 0.95 for run in runs)
            saved = [run.stops[rule].saved for run in runs]
            for metric, value, sd in ((f"stop_{rule}_runs_recall>=0.95", reached, None),
                                      (f"stop_{rule}_saved_mean", statistics.fmean(saved), statistics.stdev(saved))):
                rows.append(_rows.row(BENCH, dataset, "test", len(runs), system, metric, value, sd=sd, seed=None,
                                      seeds=list(seeds), settings={"strategy": "max", "labels": "abstract"}))
    return rows


def print_summary(per_review: dict) -> None:
    """The WSS@95 table (reviews x systems) and the leave-one-review-out choices."""
    reviews = sorted(per_review)
    systems = list(per_review[reviews[0]])
    print("\nWSS@95 (%), mean over seeds")
    print(f"{'review':24s}" + "".join(f"{s[:13]:>14s}" for s in systems))
    for r in reviews:
        print(f"{r[:24]:24s}" + "".join(f"{100 * pooled(per_review[r][s], 'wss@95')[0]:14.1f}" for s in systems))
    print(f"{'mean':24s}" + "".join(
        f"{100 * statistics.fmean(pooled(per_review[r][s], 'wss@95')[0] for r in reviews):14.2f}" for s in systems))
    if ASREVIEW in systems:
        for s in systems:
            if s != ASREVIEW:
                wins = sum(pooled(per_review[r][s], "wss@95")[0] > pooled(per_review[r][ASREVIEW], "wss@95")[0]
                           for r in reviews)
                print(f"  {s}: above ASReview on {wins} of {len(reviews)} reviews")
