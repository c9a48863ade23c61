"""Serendip's error hierarchy.

Every user-facing error derives from :class:`SerendipError`. The CLI prints its message in one or two
lines and exits with code 2 (a traceback only with ``--debug``).
"""
from __future__ import annotations


class SerendipError(Exception):
    """Base class of every error Serendip raises on purpose."""


class ParseError(SerendipError, ValueError):
    """A file or record could not be parsed. The message names the file and line or record."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 record: str | None = None):
        self.file = file
        self.line = line
        self.record = record
        self.reason = message
        where = []
        if file:
            where.append(str(file))
        if line is not None:
            where.append(f"line {line}")
        if record:
            where.append(f"record {record}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class UnsafeXMLError(ParseError):
    """XML refused because it declares entities, external entities or DTD tricks (billion laughs, XXE)."""


class DataError(SerendipError, ValueError):
    """Input data is valid to parse but unusable (empty, missing column, unseen label...)."""


class ConfigError(SerendipError, ValueError):
    """A configuration value, file or flag is invalid."""


class BackendError(SerendipError, RuntimeError):
    """An external service Serendip was pointed at (an answer server, a local model) failed or replied
    with something unusable: unreachable, timed out, an HTTP error, malformed JSON. The message names
    the URL or file in one line."""


class DatasetNotFound(SerendipError, LookupError):
    """A registered dataset is not in the mirror or cache and could not be downloaded."""


class WorkspaceError(SerendipError):
    """The workspace is missing, not initialised, or its database cannot be opened."""


class IndexNotBuilt(SerendipError):
    """A search was asked for before `serendip index` built the needed index."""


class IndexDamaged(SerendipError):
    """An index file is missing, cut short or unreadable; the message names it and
    `serendip index --rebuild`."""


class GraphNotBuilt(SerendipError):
    """A knowledge-graph query was asked of a workspace that holds no graph yet (`serendip kg build`)."""


class WorkspaceReadOnly(WorkspaceError):
    """A write (ingest, index) was asked of a workspace opened without write access."""


class StaleIndexWarning(UserWarning):
    """A search ran on an index built before the newest records were ingested."""
