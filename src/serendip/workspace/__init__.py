"""The workspace: a database (SQLAlchemy 2 + Alembic) plus folders for indexes, models and runs."""
from serendip.workspace.workspace import Workspace

__all__ = ["Workspace"]
