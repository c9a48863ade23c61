"""Evidence: passages, reranking, claim verification, cited answers and contradictions (issue 15).

A domain package: it registers into the engine's and retrieval's registries and is never imported by
them; :func:`serendip.models.plugins.load_domains` imports it. Importing it registers the
``cross-encoder`` reranker (:mod:`serendip.evidence.rerank`) in
:data:`serendip.retrieval.rerank.RERANKERS`. Modules: :mod:`~serendip.evidence.passages` (sentence
passages with offsets) and :mod:`~serendip.evidence.passage_index` (their index in a workspace),
:mod:`~serendip.evidence.rerank` and :mod:`~serendip.evidence.rerank_data` (the reranker and its
training pairs), :mod:`~serendip.evidence.scifact_metrics`, :mod:`~serendip.evidence.scifact_data` and
:mod:`~serendip.evidence.verify` (claim verification); :mod:`~serendip.evidence.answer` (cited answers)
with the answer backends of :data:`serendip.evidence.generators.GENERATORS`: ``extractive``, and the
generative ``openai`` (:mod:`~serendip.evidence.llm_openai`) and ``local``
(:mod:`~serendip.evidence.llm_local`), registered on import, sharing :mod:`~serendip.evidence.llm_chat`;
every answer sentence is checked by :mod:`~serendip.evidence.citations`;
:mod:`~serendip.evidence.contradictions` finds conflicting findings.
"""
from serendip.evidence import llm_local as _llm_local  # noqa: F401  (registers answer backend "local")
from serendip.evidence import llm_openai as _llm_openai  # noqa: F401  (registers answer backend "openai")
from serendip.evidence import rerank as _rerank  # noqa: F401  (registers "cross-encoder")
