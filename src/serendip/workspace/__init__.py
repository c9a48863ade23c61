"""Workspace storage: folder, config, database (SQLAlchemy 2 + Alembic), locks and the default-path policy.

This layer imports neither :mod:`serendip.literature` nor :mod:`serendip.retrieval`; the façade that
drives ingest, index and search over it is :class:`serendip.workbench.Workspace` (also
``from serendip import Workspace``).
"""
from serendip.workspace.paths import default_workspace_path, resolve_workspace_path
from serendip.workspace.store import WorkspaceStore

__all__ = ["WorkspaceStore", "default_workspace_path", "resolve_workspace_path"]
