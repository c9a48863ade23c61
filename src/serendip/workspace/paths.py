"""Where workspaces live: the one default-workspace policy and the default folder names.

Every command and API call that takes an optional workspace folder resolves it here, so the rule is
written once:

* an explicit path wins;
* otherwise ``$SERENDIP_WORKSPACE``, else ``./serendip-workspace`` (:func:`default_workspace_path`);
* a caller that can work without a workspace (fine-tuning writes to the config's run folder) passes
  ``required=False`` to :func:`resolve_workspace_path` and gets None when the default folder is not a
  workspace.

The evaluation workspace (``$SERENDIP_CACHE/eval-<dataset>``) and the demo folder are named here too.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CONFIG_NAME", "DEFAULT_DIR", "DEMO_DIR", "FOLDERS", "default_workspace_path",
           "eval_workspace_path", "is_workspace", "resolve_workspace_path"]

#: the config file that marks a folder as a workspace
CONFIG_NAME = "serendip.toml"
#: default workspace folder (relative to the current directory) when $SERENDIP_WORKSPACE is unset
DEFAULT_DIR = "serendip-workspace"
#: default folder of ``serendip demo``
DEMO_DIR = "serendip-demo"
#: sub-folders every workspace has
FOLDERS = ("indexes", "models", "runs", "reports")
#: the help text of every ``--workspace`` option
WORKSPACE_HELP = f"Workspace folder (default: $SERENDIP_WORKSPACE or ./{DEFAULT_DIR})."


def default_workspace_path() -> Path:
    """``$SERENDIP_WORKSPACE`` when set, else ``./serendip-workspace``."""
    return Path(os.environ.get("SERENDIP_WORKSPACE", DEFAULT_DIR))


def is_workspace(path: str | Path) -> bool:
    """Whether ``path`` holds a workspace config (``serendip.toml``)."""
    return (Path(path) / CONFIG_NAME).is_file()


def resolve_workspace_path(path: str | Path | None = None, *, required: bool = True) -> Path | None:
    """The workspace folder to use for ``path``.

    Parameters
    ----------
    path : str or Path, optional
        An explicit folder; returned as is (whether or not it is a workspace yet).
    required : bool, default=True
        Without ``path``: True returns :func:`default_workspace_path` always (opening it then fails
        with a clear error if it is not a workspace); False returns it only when it holds a workspace,
        else None (the caller works without one).

    Returns
    -------
    Path or None
    """
    if path is not None:
        return Path(path)
    default = default_workspace_path()
    if required or is_workspace(default):
        return default
    return None


def eval_workspace_path(dataset: str) -> Path:
    """Default evaluation workspace: ``$SERENDIP_CACHE/eval-<dataset>`` (default cache
    ``~/.cache/serendip``), kept apart from the user's own workspace; ``/`` in a name becomes ``_``."""
    base = Path(os.environ.get("SERENDIP_CACHE", Path.home() / ".cache" / "serendip"))
    return base / f"eval-{dataset.replace('/', '_')}"
