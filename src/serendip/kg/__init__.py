"""Knowledge graph from the literature (issue 16): entities, relations with evidence, discovery.

A domain package: it registers into the engine's registries (:mod:`serendip.models.registries`) and is
never imported by the engine; :func:`serendip.models.plugins.load_domains` imports it. Importing it
registers ``DATA_READERS["pubtator-ner"]`` (:func:`serendip.kg.ner_data.read_ner_examples`): a PubTator
file read as ``token``-task examples (IOB2 tags in sliding windows of words), so ``serendip finetune``
trains an NER model on it (``data.format = "pubtator-ner"``, ``data.options = {window, overlap}``).

Modules: :mod:`~serendip.kg.pubtator` (PubTator documents with mention offsets, checked; relations),
:mod:`~serendip.kg.ner_data` (words, IOB2 tags, windows, and per-window tags back to document spans),
:mod:`~serendip.kg.ner_eval` (strict entity-level P/R/F1 over character spans; the dictionary baseline;
document-level MeSH concept P/R/F1, the BioCreative V way), :mod:`~serendip.kg.abbreviations`
(Schwartz–Hearst abbreviation definitions with offsets), :mod:`~serendip.kg.normalise` (mentions to MeSH
ids: counted lexicon, abbreviations, rapidfuzz match; unresolved mentions kept and marked).

Graph and discovery (a library; nothing here is imported by the package itself):
:mod:`~serendip.kg.graph` (MeSH records read with their problems reported; the co-occurrence graph,
every edge with its count, evidence PMIDs, first year and NPMI; the MeSH check-tag stop list),
:mod:`~serendip.kg.linkpred` (common neighbours, Jaccard, Adamic–Adar, resource allocation,
preferential attachment, random and a learned scorer, in the ``LINK_SCORERS`` registry),
:mod:`~serendip.kg.discovery` (open and closed ABC discovery, paths with their evidence) and
:mod:`~serendip.kg.timeslice` (graph up to year T, pairs new after T, ROC-AUC / Hits@K / MRR with
bootstrap intervals; ``benchmarks/kg_timeslice.py``).

The graph of a workspace (``serendip kg build | paths | export | import``; imported by those
commands, not by the package): :mod:`~serendip.kg.store` (the tables on the workspace's metadata,
Alembic revision 0007), :mod:`~serendip.kg.taggers` (``TAGGERS``: ``dictionary`` and ``model``; the
training documents and the cached normaliser), :mod:`~serendip.kg.reading` (one record: mentions with
sentences and offsets, entity pairs), :mod:`~serendip.kg.build` (batched, incremental build with NPMI;
:mod:`~serendip.kg.build_plan` the records to read and the removal of deleted or changed ones,
:mod:`~serendip.kg.build_relations` the ``cid`` edges of ``--relations RUN_DIR``, revision 0010),
:mod:`~serendip.kg.query` (entities by MeSH id or name, the stored graph as networkx, paths with
evidence), :mod:`~serendip.kg.lookup` (one entity shown, its ranked neighbours, open discovery from it;
``kg show | neighbors | discover``), :mod:`~serendip.kg.exchange` (JSON Lines export and import) and
:mod:`~serendip.kg.export_formats` (``EXPORT_FORMATS``: GraphML, Neo4j CSV, and with
:mod:`~serendip.kg.export_annotated` PubTator and BioC); the evidence of records
deleted from the workspace since the last build is left out of queries and exports
(:func:`~serendip.kg.store.evidence_gone`).

Relations: :mod:`~serendip.kg.relations` (chemical-induced disease candidate pairs of a document's
normalised mentions, the gold pairs without a candidate, the BioCreative V CID scorer, sentence- and
abstract-level co-occurrence baselines and counts with NPMI for any pair, and :class:`CidClassifier`,
a run of the engine that scores candidates and gives each its evidence sentence) and
:mod:`~serendip.kg.relation_data` (``DATA_READERS["pubtator-cid"]``: each candidate pair as a
``binary``-task example, its mentions marked ``@ chemical @`` / ``# disease #``, fitted to the model's
length sentence by sentence, every cut counted; ``benchmarks/kg_cid.py``).
"""
from serendip.kg import ner_data as _ner_data  # noqa: F401  (registers the "pubtator-ner" reader)
from serendip.kg import relation_data as _relation_data  # noqa: F401  (registers the "pubtator-cid" reader)
from serendip.kg.normalise import NormalisedMention, Normaliser
from serendip.kg.pubtator import Document, Mention, Relation, read_pubtator

__all__ = ["Document", "Mention", "NormalisedMention", "Normaliser", "Relation", "read_pubtator"]
