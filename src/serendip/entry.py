"""The ``serendip`` console script (``pyproject.toml``: ``serendip = "serendip.entry:main"``).

Starting the command line takes about a second (importing Typer, Rich and NumPy, then Typer building
the commands from their signatures). A Ctrl-C in that second used to end in a ``KeyboardInterrupt``
traceback from the middle of an import; here it ends with one line on stderr and exit status 130 (128 +
SIGINT, what a shell reports for a process stopped by Ctrl-C). Once a command runs, a Ctrl-C is its own
(Typer ends one the command does not handle with exit 130; ``chem screen`` and ``kg build`` first report
what they checkpointed), so an interrupt that reaches this function came before any command started:
nothing was read or written.
"""
from __future__ import annotations

import sys

#: the line printed when Ctrl-C arrives while the command line is being loaded
STOPPED_WHILE_LOADING = "stopped: Ctrl-C while serendip was starting; nothing was read or written"


def main() -> int | None:
    """Load :mod:`serendip.cli.app` and run the command in ``sys.argv``.

    Returns (or exits with) what the command gives; 130 after a Ctrl-C while loading.
    """
    try:
        from serendip.cli.app import main as run_cli

        return run_cli()
    except KeyboardInterrupt:
        print(STOPPED_WHILE_LOADING, file=sys.stderr)
        return 130
