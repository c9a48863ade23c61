"""Where workspaces live: the one default-workspace policy and the default folder names.

Every command and API call that takes an optional workspace folder resolves it here, so the rule is
written once:

* an explicit path wins;
* otherwise ``$SERENDIP_WORKSPACE``, else the workspace holding the current directory (the nearest of
  it and its parents with a ``serendip.toml``, as git finds a repository: :func:`find_workspace`), else
  ``./serendip-workspace`` (:func:`default_workspace_path`); creating a workspace
  (:meth:`WorkspaceStore.create <serendip.workspace.store.WorkspaceStore.create>`) does not look up
  the parents; ``serendip init`` refuses a new folder inside an existing workspace
  (:func:`enclosing_workspace`: the look-up would find the outer one) unless given ``--nested``;
* a caller that can work without a workspace (fine-tuning writes to the config's run folder) passes
  ``required=False`` to :func:`resolve_workspace_path` and gets None when the default folder is not a
  workspace.

The evaluation workspace (``$SERENDIP_CACHE/eval-<dataset>``) and the demo folder are named here too.
"""
from __future__ import annotations

import os
from pathlib import Path

from serendip.errors import ConfigError

__all__ = ["CONFIG_NAME", "DEFAULT_DIR", "DEMO_DIR", "FOLDERS", "NO_WORKSPACE_HINT", "default_workspace_path",
           "enclosing_workspace", "eval_workspace_path", "find_workspace", "is_workspace", "resolve_workspace_path"]

#: the config file that marks a folder as a workspace
CONFIG_NAME = "serendip.toml"
#: default workspace folder (relative to the current directory) when $SERENDIP_WORKSPACE is unset
DEFAULT_DIR = "serendip-workspace"
#: default folder of ``serendip demo``
DEMO_DIR = "serendip-demo"
#: sub-folders every workspace has
FOLDERS = ("indexes", "models", "runs", "reports")
#: the help text of every ``--workspace`` option
WORKSPACE_HELP = (f"Workspace folder (default: $SERENDIP_WORKSPACE, else the workspace folder the current "
                  f"directory is in, else ./{DEFAULT_DIR}).")
#: how to name a workspace, said when none is found
NO_WORKSPACE_HINT = ("name one with -w PATH or $SERENDIP_WORKSPACE, run the command inside a workspace folder, "
                     "or create one with `serendip init PATH`")


def find_workspace(start: str | Path | None = None) -> Path | None:
    """The nearest folder holding a workspace (``serendip.toml``): ``start`` (default: the current
    directory) or one of its parents, up to the filesystem root; None when there is none. The folder
    is returned absolute."""
    here = Path(start if start is not None else Path.cwd()).absolute()
    for folder in (here, *here.parents):
        if is_workspace(folder):
            return folder
    return None


def enclosing_workspace(path: str | Path) -> Path | None:
    """The nearest workspace folder strictly above ``path`` (one of its parents holding a
    ``serendip.toml``; ``path`` itself is not looked at), absolute; None when there is none. A
    workspace made at ``path`` would be nested in it: which of the two a command run without ``-w``
    uses would depend on the folder it is run from."""
    here = Path(path).absolute()
    return find_workspace(here.parent) if here.parent != here else None


def default_workspace_path(discover: bool = True) -> Path:
    """``$SERENDIP_WORKSPACE`` when set, else (``discover``) the workspace holding the current
    directory (:func:`find_workspace`), else ``./serendip-workspace``. Raises ConfigError when
    ``$SERENDIP_WORKSPACE`` is set but empty or blank (not taken as the current directory)."""
    env = os.environ.get("SERENDIP_WORKSPACE")
    if env is not None:
        if not env.strip():
            raise ConfigError(f"$SERENDIP_WORKSPACE is set but empty ({env!r}): set it to a workspace folder, or "
                              "unset it to use the default")
        return Path(env)
    found = find_workspace() if discover else None
    return found if found is not None else Path(DEFAULT_DIR)


def is_workspace(path: str | Path) -> bool:
    """Whether ``path`` holds a workspace config (``serendip.toml``)."""
    return (Path(path) / CONFIG_NAME).is_file()


def resolve_workspace_path(path: str | Path | None = None, *, required: bool = True,
                           discover: bool = True) -> Path | None:
    """The workspace folder to use for ``path``.

    Parameters
    ----------
    path : str or Path, optional
        An explicit folder; returned as is (whether or not it is a workspace yet). An empty or blank
        string is a ConfigError (``Path("")`` would be the current directory).
    required : bool, default=True
        Without ``path``: True returns :func:`default_workspace_path` always (opening it then fails
        with a clear error if it is not a workspace); False returns it only when it holds a workspace,
        else None (the caller works without one).
    discover : bool, default=True
        Without ``path`` and ``$SERENDIP_WORKSPACE``: look for the workspace holding the current
        directory (:func:`find_workspace`) before ``./serendip-workspace``; False (creating a
        workspace) does not.

    Returns
    -------
    Path or None

    Raises
    ------
    ConfigError
        ``path`` is an empty or blank string, or ``$SERENDIP_WORKSPACE`` is set but empty or blank.
    """
    if path is not None:
        if isinstance(path, str) and not path.strip():
            raise ConfigError(f"the workspace folder is empty ({path!r}): name a folder (\".\" for the current "
                              "directory)")
        return Path(path)
    default = default_workspace_path(discover)
    if required or is_workspace(default):
        return default
    return None


def eval_workspace_path(dataset: str) -> Path:
    """Default evaluation workspace: ``$SERENDIP_CACHE/eval-<dataset>`` (default cache
    ``~/.cache/serendip``), kept apart from the user's own workspace; ``/`` in a name becomes ``_``."""
    base = Path(os.environ.get("SERENDIP_CACHE", Path.home() / ".cache" / "serendip"))
    return base / f"eval-{dataset.replace('/', '_')}"
