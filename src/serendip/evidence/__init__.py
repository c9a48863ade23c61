"""Evidence: passages, reranking, claim verification, cited answers and contradictions (issue 15).

A domain package: it registers into the engine's and retrieval's registries and is never imported by
them. :mod:`serendip.evidence.scifact_metrics` holds the official SciFact verification metrics.
"""
