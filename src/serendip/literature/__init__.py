"""Literature records, readers (one module per format) and ingestion."""
from serendip.literature.record import AbstractSection, Author, ParseIssue, Record

__all__ = ["AbstractSection", "Author", "ParseIssue", "Record"]
