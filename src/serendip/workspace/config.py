"""Workspace configuration (``serendip.toml`` in the workspace folder), validated by pydantic."""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from serendip.errors import ConfigError

CONFIG_NAME = "serendip.toml"


class RetrievalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dense_model: str = "sentence-transformers/all-MiniLM-L6-v2"
    default_mode: Literal["bm25", "dense", "hybrid"] = "hybrid"


class WorkspaceConfig(BaseModel):
    """``database``: SQLAlchemy URL; None means ``sqlite:///<workspace>/serendip.db``."""

    model_config = ConfigDict(extra="forbid")

    database: str | None = None
    retrieval: RetrievalConfig = RetrievalConfig()

    @classmethod
    def load(cls, path: Path) -> "WorkspaceConfig":
        """Read and validate a config file. Raises ConfigError naming the file and the bad key."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{path}: {loc}: {first['msg']}") from exc

    def dump(self, path: Path) -> None:
        lines = []
        if self.database:
            lines.append(f'database = "{self.database}"')
        lines += ["", "[retrieval]", f'dense_model = "{self.retrieval.dense_model}"',
                  f'default_mode = "{self.retrieval.default_mode}"', ""]
        path.write_text("\n".join(lines), encoding="utf-8")
