"""Workspace configuration (``serendip.toml`` in the workspace folder), validated by pydantic.

``retrieval.default_mode`` names a retrieval mode. The storage layer does not know the retrieval modes
(arrows run down: ``workspace/`` imports neither ``retrieval/`` nor ``literature/``), so the caller
that opens a workspace passes the registered names (``mode_choices``) and the schema checks the value
against them, listing the choices in the error.
"""
from __future__ import annotations

import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator

from serendip.core.config import StrictModel, describe_validation_error
from serendip.errors import ConfigError
from serendip.workspace.paths import CONFIG_NAME

__all__ = ["CONFIG_NAME", "MAX_PARTITIONS", "RetrievalConfig", "WorkspaceConfig"]

#: most hash partitions of ``records`` (the bound migration 0006 checks too)
MAX_PARTITIONS = 1024


class RetrievalConfig(StrictModel):
    """``dense_model``: sentence-transformers model name or local path; ``encoder``: the backend that
    embeds with it when an index is built (a name of ``serendip.retrieval.encoders.ENCODERS``: "torch",
    "onnx", "onnx-int8"; checked when indexing, since storage does not import retrieval; a search uses
    the encoder recorded in the index); ``default_mode``: the retrieval
    mode used when a search names none; ``auto_index``: a search that finds records ingested after the
    last index builds the index first (False: it warns and searches the old index); ``bm25_backend``: the
    engine of the BM25 index, ``"auto"`` (bm25s in memory for small corpora, Tantivy on disk above
    ``serendip.retrieval.bm25_backends.TANTIVY_ABOVE`` records), ``"bm25s"`` or ``"tantivy"``;
    ``rerank_backend``: the backend that runs a search's reranker (one the reranker offers,
    ``serendip.retrieval.rerank.RerankerSpec.backends``: "torch", "onnx", "onnx-int8",
    "openvino-int8" for the cross-encoder; checked when a search reranks); None: the reranker's default (onnx-int8 where
    onnxruntime is installed)."""

    dense_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    encoder: str = "torch"
    rerank_backend: str | None = None
    default_mode: str = "hybrid"
    auto_index: bool = False
    bm25_backend: Literal["auto", "bm25s", "tantivy"] = "auto"

    @field_validator("default_mode")
    @classmethod
    def _known_mode(cls, value: str, info: ValidationInfo) -> str:
        choices = (info.context or {}).get("mode_choices")
        if choices is not None and value not in choices:
            raise ValueError(f"unknown retrieval mode {value!r}; expected one of: {', '.join(choices)}")
        return value


class WorkspaceConfig(StrictModel):
    """``database``: SQLAlchemy URL; None means ``sqlite:///<workspace>/serendip.db``. ``partitions``
    (PostgreSQL only): the workspace's ``records`` table is partitioned by hash of ``id`` into this many
    partitions, chosen when the workspace was made (migration 0006); None: one plain table."""

    database: str | None = None
    partitions: int | None = Field(None, ge=2, le=MAX_PARTITIONS)
    retrieval: RetrievalConfig = RetrievalConfig()

    @field_validator("partitions")
    @classmethod
    def _needs_postgresql(cls, value: int | None, info: ValidationInfo) -> int | None:
        database = info.data.get("database") or ""
        if value is not None and not database.startswith("postgresql"):
            raise ValueError("partitioned records need a PostgreSQL database (database = "
                             "\"postgresql+psycopg://...\"); SQLite keeps one records table")
        return value

    @classmethod
    def load(cls, path: Path, mode_choices: Iterable[str] | None = None) -> "WorkspaceConfig":
        """Read and validate a config file.

        Parameters
        ----------
        path : Path
            The ``serendip.toml`` file.
        mode_choices : iterable of str, optional
            Names of the registered retrieval modes; ``retrieval.default_mode`` must be one of them
            (not checked when None).

        Raises
        ------
        ConfigError
            Naming the file and every bad key (with the allowed keys or values).
        """
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        context = {"mode_choices": sorted(mode_choices)} if mode_choices is not None else None
        try:
            return cls.model_validate(data, context=context)
        except ValidationError as exc:
            raise ConfigError(f"{path}: {describe_validation_error(exc, cls)}") from None

    def dump(self, path: Path) -> None:
        """Write the config as TOML to ``path``."""
        lines = []
        if self.database:
            lines.append(f'database = "{self.database}"')
        if self.partitions:
            lines.append(f"partitions = {self.partitions}")
        lines += ["", "[retrieval]", f'dense_model = "{self.retrieval.dense_model}"',
                  f'encoder = "{self.retrieval.encoder}"',
                  f'default_mode = "{self.retrieval.default_mode}"',
                  f"auto_index = {'true' if self.retrieval.auto_index else 'false'}",
                  f'bm25_backend = "{self.retrieval.bm25_backend}"']
        if self.retrieval.rerank_backend:
            lines.append(f'rerank_backend = "{self.retrieval.rerank_backend}"')
        lines.append("")
        path.write_text("\n".join(lines), encoding="utf-8")
