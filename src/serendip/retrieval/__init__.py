"""Retrieval layer: tokenizer, BM25 and dense indexes, fusion, modes, searcher, evaluation.

Works on plain ids and texts (no database); heavy libraries (bm25s, torch, sentence-transformers, faiss,
ranx) are imported only inside the functions that need them.
"""
from __future__ import annotations

from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.dense import AddReport, DenseIndex, resolve_model
from serendip.retrieval.fusion import FUSION, FusionMethod, convex, fusion_names, rrf
from serendip.retrieval.modes import (
           RETRIEVAL_MODES,
           RetrievalMode,
           mode_names,
           register_mode,
)
from serendip.retrieval.searcher import Searcher
from serendip.retrieval.tokenizer import Tokenizer, tokenize

__all__ = ["AddReport", "BM25Index", "DenseIndex", "FUSION", "FusionMethod", "RETRIEVAL_MODES",
           "RetrievalMode", "Searcher", "Tokenizer", "convex", "fusion_names", "mode_names", "register_mode",
           "resolve_model", "rrf", "tokenize"]
