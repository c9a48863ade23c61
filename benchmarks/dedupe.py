"""Deduplication precision and recall on labelled duplicate groups built from public records.

The labelled set (deterministic for a seed):

* **Works**: ``--works`` records sampled (seeded) from the Cohen et al. 2006 review records
  (``cohen/records.jsonl.gz`` in the mirror: PMID, title, abstract, year, authors, MeSH), plus every
  record whose title another record shares (real same-title works with different PMIDs, e.g. two
  papers titled "Heart failure."). Each work gets a synthetic DOI ``10.5555/cohen.<pmid>`` (Cohen
  records carry none).
* **Hard negatives made from them**: ``--letters`` same-title letters (a sampled work's title and
  year with another work's authors and a new PMID: two letters "Re: ..." in one year) and ``--books``
  books of three chapters (titles of three other sampled works, type CHAP, all under the DOI
  ``10.5555/book.<i>``).
* **Copies**: every work is rendered in one to three export formats (RIS, BibTeX, MEDLINE .nbib),
  each copy perturbed as exports are: RIS keeps the abstract half the time, the DOI 70 %, a PubMed
  link (PMID) 20 %, an upper-case title 30 %, the year off by one 5 % (e-pub vs print); BibTeX keeps
  the abstract 30 %, the DOI 80 %, a ``pmid`` field 30 %, title case and no final period; MEDLINE
  keeps the PMID, the DOI 60 % and the abstract. Labels: copies of one work form one group.

Predicted groups are the stored records after ingesting the three files into a fresh workspace (a
stored record's ``sources`` are the copies it merged). Metrics are pairwise over copies: precision =
predicted duplicate pairs that are true / predicted pairs; recall = true pairs predicted / true pairs.
The baseline in the same run joins copies with the same DOI or the same normalised title (any year).

Usage: ``python benchmarks/dedupe.py [--works 1500] [--seed 0]`` (SERENDIP_DATA_MIRROR must be set).
"""
from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _rows  # noqa: E402

FORMATS = ("ris", "bib", "nbib")


@dataclass
class Work:
    """One labelled work: ``id`` its group label."""

    id: int
    title: str
    year: int | None
    authors: list[tuple[str, str]]  # (family, given)
    pmid: str
    doi: str
    abstract: str = ""
    mesh: list[str] = field(default_factory=list)
    chapter: bool = False


def _person(name: str) -> tuple[str, str]:
    """Cohen's ``"M F Caiaffa"`` / ``"Tait D Shanafelt"`` / ``"P du Souich"`` -> (family, given):
    the last word and the lower-case particles before it are the family name."""
    parts = name.replace(",", " ").split()
    i = len(parts) - 1
    while i > 0 and parts[i - 1].islower():
        i -= 1
    return " ".join(parts[i:]), " ".join(parts[:i])


def _initials(given: str) -> str:
    return "".join(p[0] for p in given.replace("-", " ").split() if p[:1].isalpha()).upper()


def _work(i: int, r: dict) -> Work:
    return Work(i, r["title"], r.get("year"), [_person(a) for a in r.get("authors") or [] if a.strip()],
                r["pmid"], f"10.5555/cohen.{r['pmid']}", r.get("abstract") or "", r.get("mesh") or [])


def build_works(records: list[dict], n_works: int, n_letters: int, n_books: int, seed: int) -> list[Work]:
    """The labelled works (see the module docstring) from Cohen-shaped records."""
    rng = random.Random(seed)
    usable = [r for r in records if r.get("title") and r.get("pmid")]
    by_title: dict[str, list[dict]] = {}
    for r in usable:
        by_title.setdefault(r["title"].casefold().rstrip("."), []).append(r)
    same_title = [r for rs in by_title.values() if len(rs) > 1 for r in rs]
    picked = rng.sample(usable, min(n_works, len(usable)))
    seen = {r["pmid"] for r in picked}
    picked += [r for r in same_title if r["pmid"] not in seen]
    works = [_work(i, r) for i, r in enumerate(picked)]
    for j in range(n_letters):  # same title and year, other authors and PMID
        base, other = rng.sample(works[:n_works], 2)
        works.append(Work(len(works), base.title, base.year, other.authors, str(90_000_000 + j),
                          f"10.5555/letter.{j}"))
    for b in range(n_books):  # three chapters under one book DOI
        for c in rng.sample(works[:n_works], 3):
            works.append(Work(len(works), c.title.rstrip(".") + f" (chapter {b}.{len(works) % 7})", c.year,
                              c.authors, "", f"10.5555/book.{b}", chapter=True))
    return works


def _bibtex_safe(s: str) -> str:
    for ch in "\\{}":
        s = s.replace(ch, "")
    for ch in "%&$#_":
        s = s.replace(ch, "\\" + ch)
    return s


def _ris(w: Work, rng: random.Random) -> str:
    title = w.title.upper() if rng.random() < 0.3 else w.title
    year = w.year + 1 if w.year and rng.random() < 0.05 else w.year
    lines = [f"TY  - {'CHAP' if w.chapter else 'JOUR'}", f"TI  - {title}"]
    lines += [f"AU  - {f}, {'. '.join(_initials(g))}." if g else f"AU  - {f}" for f, g in w.authors]
    lines += [f"PY  - {year}"] if year else []
    lines += [f"DO  - {w.doi}"] if rng.random() < 0.7 else []
    lines += [f"UR  - https://pubmed.ncbi.nlm.nih.gov/{w.pmid}/"] if w.pmid and rng.random() < 0.2 else []
    lines += [f"AB  - {w.abstract}"] if w.abstract and rng.random() < 0.5 else []
    return "\n".join(lines) + "\nER  - \n"


def _bib(w: Work, rng: random.Random, key: str) -> str:
    title = " ".join(t[:1].upper() + t[1:] for t in w.title.rstrip(".").split(" "))
    fields = [("title", "{" + _bibtex_safe(title) + "}"),
              ("author", " and ".join(f"{f}, {g}" if g else f for f, g in w.authors))]
    fields += [("year", str(w.year))] if w.year else []
    fields += [("doi", w.doi)] if rng.random() < 0.8 else []
    fields += [("pmid", w.pmid)] if w.pmid and rng.random() < 0.3 else []
    fields += [("abstract", _bibtex_safe(w.abstract))] if w.abstract and rng.random() < 0.3 else []
    body = ",\n".join(f"  {k} = {{{_bibtex_safe(v) if k == 'author' else v}}}" for k, v in fields)
    return f"@{'incollection' if w.chapter else 'article'}{{{key},\n{body}\n}}\n"


def _nbib(w: Work, rng: random.Random) -> str:
    lines = [f"PMID- {w.pmid or 0}", "OWN - NLM", f"DP  - {w.year or ''}", f"TI  - {w.title}"]
    lines += [f"LID - {w.doi} [doi]"] if rng.random() < 0.6 else []
    lines += [f"AB  - {w.abstract}"] if w.abstract else []
    for f, g in w.authors:
        lines += [f"FAU - {f}, {g}" if g else f"FAU - {f}", f"AU  - {f} {_initials(g)}".rstrip()]
    lines += [f"MH  - {m}" for m in w.mesh]
    lines += ["PT  - Book Chapter" if w.chapter else "PT  - Journal Article"]
    return "\n".join(lines) + "\n"


def render(works: list[Work], folder: Path, seed: int) -> dict[tuple[str, int], int]:
    """Write ``export.ris``, ``export.bib`` and ``export.nbib`` into ``folder``; return the label
    (work id) of every copy by (file suffix, 0-based position in the file). Chapters and works
    without a PMID are not rendered as MEDLINE (PubMed would have given them one)."""
    rng = random.Random(seed + 1)
    texts: dict[str, list[str]] = {f: [] for f in FORMATS}
    labels: dict[tuple[str, int], int] = {}
    for w in works:
        options = [f for f in FORMATS if f != "nbib" or (w.pmid and not w.chapter)]
        for fmt in sorted(rng.sample(options, rng.randint(1, len(options)))):
            labels[(fmt, len(texts[fmt]))] = w.id
            text = (_ris(w, rng) if fmt == "ris" else _bib(w, rng, f"w{w.id}") if fmt == "bib"
                    else _nbib(w, rng))
            texts[fmt].append(text)
    for fmt, parts in texts.items():
        (folder / f"export.{fmt}").write_text("\n".join(parts), encoding="utf-8")
    return labels


def pairs(groups: list[list[tuple[str, int]]]) -> set[frozenset]:
    """Every unordered pair of copies that share a group."""
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(g), 2)}


def score(predicted: list[list[tuple[str, int]]], labels: dict[tuple[str, int], int]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of ``predicted`` groups against the labelled groups."""
    truth: dict[int, list] = {}
    for copy, work in labels.items():
        truth.setdefault(work, []).append(copy)
    pp, tp_ = pairs(predicted), pairs(list(truth.values()))
    hit = len(pp & tp_)
    p = hit / len(pp) if pp else 1.0
    r = hit / len(tp_) if tp_ else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "predicted_pairs": len(pp), "true_pairs": len(tp_)}


def serendip_groups(folder: Path, ws_path: Path) -> tuple[list[list[tuple[str, int]]], object]:
    """Ingest the three exports into a fresh workspace; each stored record's sources are a group."""
    from serendip.workbench import Workspace

    ws = Workspace.init(ws_path)
    try:
        report = ws.ingest([folder / f"export.{f}" for f in FORMATS])
        groups = [[(Path(s["file"]).suffix[1:], s["index"]) for s in rec.sources] or
                  [(Path(rec.source_file).suffix[1:], rec.source_index)] for _, rec in ws.records()]
    finally:
        ws.close()
    return groups, report


def baseline_groups(folder: Path) -> list[list[tuple[str, int]]]:
    """DOI-or-title: copies with the same DOI or the same normalised title are one group."""
    from serendip.literature.normalize import title_key
    from serendip.literature.readers import sniff_format
    from serendip.literature.record import Record

    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x
    first_of: dict[str, tuple] = {}
    for fmt in FORMATS:
        path = folder / f"export.{fmt}"
        for rec in sniff_format(path).make(None).read(path):
            if not isinstance(rec, Record):
                continue
            copy = (fmt, rec.source_index)
            find(copy)
            for k in (f"doi:{rec.doi}" if rec.doi else None, f"t:{title_key(rec.title)}" if rec.title else None):
                if k:
                    parent[find(copy)] = find(first_of.setdefault(k, copy))
    groups: dict = {}
    for x in parent:
        groups.setdefault(find(x), []).append(x)
    return list(groups.values())


def run(records: list[dict], n_works: int, n_letters: int, n_books: int, seed: int, tmp: Path) -> dict:
    """Build the labelled set, run both methods, return their scores and the set's size."""
    works = build_works(records, n_works, n_letters, n_books, seed)
    labels = render(works, tmp, seed)
    t0 = time.perf_counter()
    groups, report = serendip_groups(tmp, tmp / "ws")
    wall = time.perf_counter() - t0
    return {"works": len(works), "copies": len(labels), "serendip": score(groups, labels),
            "baseline": score(baseline_groups(tmp), labels), "wall_s": wall,
            "failed": report.failed, "errors": report.errors[:5]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--works", type=int, default=1500)
    ap.add_argument("--letters", type=int, default=150)
    ap.add_argument("--books", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    mirror = Path(os.environ["SERENDIP_DATA_MIRROR"])
    with gzip.open(mirror / "cohen" / "records.jsonl.gz", "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    with tempfile.TemporaryDirectory() as tmp:
        res = run(records, args.works, args.letters, args.books, args.seed, Path(tmp))
    print(json.dumps(res, indent=1))
    settings = {"works": args.works, "letters": args.letters, "books": args.books,
                "formats": "ris+bibtex+medline"}
    rows = []
    for metric in ("precision", "recall", "f1"):
        for method in ("serendip", "baseline"):
            rows.append(_rows.row(
                "dedupe", "cohen-2006 exports", f"seed {args.seed}", res["copies"],
                "merge rules" if method == "serendip" else "doi-or-title", metric, res[method][metric],
                settings=settings, seed=args.seed,
                baseline=None if method == "baseline" else ("doi-or-title", res["baseline"][metric]),
                wall_s=res["wall_s"] if method == "serendip" else None))
    _rows.write("dedupe", rows, res["wall_s"])


if __name__ == "__main__":
    main()
