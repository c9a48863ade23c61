"""Retrieval layer: tokenizer, BM25 and dense indexes, fusion, searcher, evaluation.

Works on plain ids and texts (no database); heavy libraries (bm25s, torch, sentence-transformers, faiss,
ranx) are imported only inside the functions that need them.
"""
from __future__ import annotations

from serendip.retrieval.bm25 import BM25Index
from serendip.retrieval.dense import AddReport, DenseIndex, resolve_model
from serendip.retrieval.fusion import FUSION, convex, rrf
from serendip.retrieval.searcher import Searcher
from serendip.retrieval.tokenizer import Tokenizer, tokenize

__all__ = ["AddReport", "BM25Index", "DenseIndex", "FUSION", "Searcher", "Tokenizer", "convex",
           "resolve_model", "rrf", "tokenize"]
