"""Entry point: ``serendip``. Heavy libraries (torch, transformers, faiss) are imported only inside
the commands that need them, so ``serendip --help`` answers at once."""
from __future__ import annotations

import logging

import typer

from serendip.cli import (
    answer_cmd,
    common,
    datasets_cmd,
    demo_cmd,
    eval_cmd,
    evidence_cmd,
    kg_cmd,
    literature_cmd,
    models_cmd,
    pretrain_cmd,
    screen_cmd,
    screen_session_cmd,
)

app = common.SerendipTyper(name="serendip", no_args_is_help=True, add_completion=False,
                  help="Serendip: a local-first research workbench.")


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors.")) -> None:
    common.STATE["debug"] = debug


literature_cmd.register(app)
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(datasets_cmd.app, name="datasets")
demo_cmd.register(app)
models_cmd.register(app)
pretrain_cmd.register(app)
evidence_cmd.register(app)
answer_cmd.register(app)
kg_cmd.register(app)
screen_cmd.register(app)
screen_session_cmd.register(app)


class _WarningLine(logging.Formatter):
    """Serendip's log warnings on the terminal as ``warning: <message>`` (errors: ``error:``), one line."""

    def format(self, record) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def _log_to_stderr() -> None:
    """Show the ``serendip`` logger's warnings on stderr with a ``warning:`` prefix (once; not when the
    embedding program configured that logger itself)."""
    log = logging.getLogger("serendip")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setLevel(logging.WARNING)
        handler.setFormatter(_WarningLine())
        log.addHandler(handler)


def main() -> None:
    _log_to_stderr()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
