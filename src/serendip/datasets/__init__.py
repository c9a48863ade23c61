"""Registered public datasets: what they are, and where their files are (mirror, cache, download).

Typical use::

    from serendip import datasets

    paths = datasets.resolve("scifact")          # {"scifact/qrels/test.tsv": Path(...), ...}
    datasets.status("bc5cdr")                    # "mirror" | "cache" | "missing"
    for ds in datasets.list_datasets():
        print(ds.name, len(ds.files), ds.licence)

Retrieval benchmark sets read or built from those files (a tuning and a report split each) are in
:data:`RETRIEVAL_SETS` (:mod:`serendip.datasets.retrieval_sets`).
"""
from __future__ import annotations

from serendip.datasets.beir import beir_files, beir_names, check_beir
from serendip.datasets.registry import (
    DataFile,
    Dataset,
    catalog,
    get,
    list_datasets,
    load_catalog,
    names,
)
from serendip.datasets.retrieval_sets import (
    RETRIEVAL_SETS,
    RetrievalSet,
    retrieval_set_names,
)
from serendip.datasets.store import (
    CACHE_ENV,
    MIRROR_ENV,
    Located,
    cache_dir,
    fetch,
    locate,
    mirror_dir,
    resolve,
    sha256_file,
    status,
)

__all__ = [
    "beir_files", "beir_names", "check_beir",
    "DataFile", "Dataset", "catalog", "get", "list_datasets", "load_catalog", "names",
    "CACHE_ENV", "MIRROR_ENV", "Located", "cache_dir", "fetch", "locate", "mirror_dir", "resolve",
    "sha256_file", "status", "RETRIEVAL_SETS", "RetrievalSet", "retrieval_set_names",
]
