"""Progress of the long CLI steps: every bar shows a rate and the time left (inspected on the Progress
object the CLI builds, no timing), and ``serendip index`` opens one bar per long step."""
from __future__ import annotations

import contextlib
import json

import numpy as np
from rich.progress import Progress, TimeRemainingColumn
from typer.testing import CliRunner

from serendip.cli import common, index_cmd
from serendip.cli.app import app
from serendip.cli.common import EtaColumn, RateColumn, rate_progress

runner = CliRunner()


class FakeModel:
    def encode(self, texts, batch_size=64, **_kwargs):
        rows = np.asarray([[len(t), 1.0, (i % 3) + 1.0] for i, t in enumerate(texts)], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_every_bar_has_a_rate_and_a_time_left_column():
    bar = rate_progress("records")
    assert isinstance(bar, Progress)
    assert any(isinstance(c, RateColumn) and c.unit == "records" for c in bar.columns)
    assert any(isinstance(c, TimeRemainingColumn) for c in bar.columns)


def test_time_left_is_blank_while_the_total_is_unknown():
    bar = rate_progress("records")
    eta = next(c for c in bar.columns if isinstance(c, EtaColumn))
    bar.add_task("ingest", total=None)
    bar.add_task("embed", total=100)
    unknown, known = bar.tasks
    assert eta.render(unknown).plain == ""
    assert eta.render(known).plain.startswith("eta ")


def _index_bars(tmp_path, monkeypatch) -> Progress:
    """The Progress object of one ``serendip index`` over 30 records (fake model)."""
    monkeypatch.setattr("serendip.retrieval.dense.load_model", lambda name: FakeModel())
    built: list[Progress] = []
    real = index_cmd.index_progress

    @contextlib.contextmanager
    def spy():
        with real() as bars:
            built.append(bars.progress)
            yield bars

    monkeypatch.setattr(index_cmd, "index_progress", spy)
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "title": f"Title {i}", "abstract": f"Text {i}."}) + "\n"
                           for i in range(30)), encoding="utf-8")
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(src), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["index", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    (progress,) = built
    return progress


def test_index_opens_a_bar_per_long_step(tmp_path, monkeypatch):
    progress = _index_bars(tmp_path, monkeypatch)
    steps = {t.description: (t.total, t.completed) for t in progress.tasks}
    assert steps == {"read records": (30, 30), "BM25": (30, 30), "embed": (30, 30)}
    assert any(isinstance(c, RateColumn) for c in progress.columns)
    assert any(isinstance(c, TimeRemainingColumn) for c in progress.columns)
    assert common.err_console is progress.console


def test_the_ann_structure_gets_its_own_bar(tmp_path, monkeypatch):
    from serendip.retrieval.dense import DenseIndex

    monkeypatch.setattr(DenseIndex, "backend", property(lambda self: "hnsw" if len(self.ids) > 10 else "exact"))
    steps = {t.description: (t.total, t.completed) for t in _index_bars(tmp_path, monkeypatch).tasks}
    assert steps["hnsw index"] == (30, 30)


def test_index_redirected_to_a_file_prints_plain_progress_lines(tmp_path, monkeypatch):
    """Not a terminal (CliRunner, like a redirect to a file): instead of bars drawn only at the end, a
    plain line per step every PLAIN_EVERY_S seconds (0 here: at every advance) and one when it ends."""
    monkeypatch.setattr(common, "PLAIN_EVERY_S", 0.0)
    monkeypatch.setattr("serendip.retrieval.dense.load_model", lambda name: FakeModel())
    src = tmp_path / "docs.jsonl"
    src.write_text("".join(json.dumps({"id": f"d{i}", "title": f"Title {i}", "abstract": f"Text {i}."}) + "\n"
                           for i in range(1200)), encoding="utf-8")
    ws = tmp_path / "ws"
    assert runner.invoke(app, ["init", str(ws)]).exit_code == 0
    assert runner.invoke(app, ["ingest", str(src), "-w", str(ws)]).exit_code == 0
    r = runner.invoke(app, ["index", "-w", str(ws)])
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    assert "━" not in r.stderr  # no bar drawn
    assert any(line.startswith("embed: 512/1,200 records (43%), ") and "records/s" in line for line in lines)
    assert any(line.startswith("read records: 1,000/1,200 records (83%)") for line in lines)
    for step in ("read records", "BM25", "embed"):
        assert sum(line.startswith(f"{step}: 1,200 records done in ") for line in lines) == 1, r.stderr


def test_plain_lines_wait_for_their_interval(monkeypatch):
    """With the default interval, a quick step says only that it ended."""
    import io

    from rich.console import Console

    monkeypatch.setattr(common, "err_console", Console(file=(out := io.StringIO()), width=100))
    with rate_progress("records") as bar:
        task = bar.add_task("embed", total=100)
        for _ in range(100):
            bar.advance(task, 1)
        other = bar.add_task("ingest", total=None)
        bar.advance(other, 7)
    assert out.getvalue().splitlines()[0].startswith("embed: 100 records done in 0:00:00, ")
    assert out.getvalue().splitlines()[1].startswith("ingest: 7 records done in 0:00:00, ")
    assert len(out.getvalue().splitlines()) == 2


def test_slow_rates_keep_a_decimal_and_unknown_is_a_question_mark():
    from serendip.cli.common import format_rate

    assert format_rate(0.4, "queries") == "0.4 queries/s"
    assert format_rate(5210.2, "records") == "5,210 records/s"
    assert format_rate(None, "records") == format_rate(0.0, "records") == "? records/s"


def test_the_plain_end_line_of_one_item_is_singular(monkeypatch):
    import io

    from rich.console import Console

    monkeypatch.setattr(common, "err_console", Console(file=(out := io.StringIO()), width=100))
    with rate_progress("docs") as bar:
        one = bar.add_task("kg build", total=1)
        bar.advance(one, 1)
        two = bar.add_task("tag", total=2)
        bar.advance(two, 2)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("kg build: 1 doc done in 0:00:00, ") and lines[1].startswith("tag: 2 docs done in")
