"""Moving a test database to one Alembic revision of the workspace migrations (up or down)."""
from __future__ import annotations

from serendip.workspace.database import MIGRATIONS


def alembic_to(engine, target: str, down: bool = False) -> None:
    """Upgrade (or, ``down``, downgrade) ``engine``'s database to the revision ``target`` in one transaction."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, target)
