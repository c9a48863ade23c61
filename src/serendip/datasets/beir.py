"""Which registered datasets are BEIR retrieval benchmarks, and their corpus / queries / qrels files."""
from __future__ import annotations

from pathlib import Path

from serendip.errors import ConfigError


def _parts(ds) -> dict[str, list[str]]:
    rels = [f.path for f in ds.files]
    return {
        "corpus": [r for r in rels if r.endswith(("corpus.jsonl", "corpus.jsonl.gz")) and "/claims/" not in r],
        "queries": [r for r in rels if r.endswith("queries.jsonl")],
        "qrels": [r for r in rels if "/qrels/" in r and r.endswith(".tsv")],
    }


def beir_names() -> list[str]:
    """Names of the registered datasets that have a BEIR corpus, queries and qrels."""
    from serendip.datasets.registry import list_datasets

    return [ds.name for ds in list_datasets() if all(_parts(ds).values())]


def check_beir(name: str, split: str) -> tuple[str, str, str]:
    """Relative paths (corpus, queries, qrels of ``split``) of a BEIR dataset, without touching files.

    Raises
    ------
    ConfigError
        Unknown dataset, a dataset that is not a BEIR retrieval benchmark, or no qrels for ``split``.
    """
    from serendip.datasets.registry import get

    parts = _parts(get(name))
    if not (parts["corpus"] and parts["queries"] and parts["qrels"]):
        raise ConfigError(f"dataset {name!r} is not a BEIR retrieval benchmark (corpus.jsonl, queries.jsonl "
                          f"and qrels/); retrieval evaluation works on: {', '.join(beir_names())}")
    qrels = [r for r in parts["qrels"] if r.endswith(f"qrels/{split}.tsv")]
    if not qrels:
        have = ", ".join(sorted(Path(r).stem for r in parts["qrels"]))
        raise ConfigError(f"dataset {name!r} has no qrels for split {split!r}; it has: {have}")
    return parts["corpus"][0], parts["queries"][0], qrels[0]


def beir_files(name: str, split: str = "test") -> tuple[Path, Path, Path]:
    """Local paths of (corpus, queries, qrels) of a BEIR dataset, resolved mirror -> cache -> download.

    Raises ConfigError as :func:`check_beir`, DatasetNotFound / DataError as
    :func:`serendip.datasets.resolve`.
    """
    from serendip.datasets.store import resolve

    corpus, queries, qrels = check_beir(name, split)
    files = resolve(name)
    return files[corpus], files[queries], files[qrels]
