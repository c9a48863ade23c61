"""A damaged run folder (``run.json`` missing, not JSON, not an object, lacking fields; a folder that does
not exist): :func:`serendip.models.runs.read_run` raises one error naming the file and why."""
from __future__ import annotations

import pytest

from serendip.errors import DataError
from serendip.models.runs import RunFolder, RunNotFound, read_json, read_run


@pytest.mark.parametrize("text, why", [
    ("{}", "(no id or name)"),
    ("not json", "(line 1: Expecting value)"),
    ('{"id": "a",\n "name": "b",\n oops}', "(line 3: Expecting property name enclosed in double quotes)"),
    ("[1, 2]", "(a JSON list, not an object)"),
    ('{"id": "a", "name": "b", "created_at": "yesterday"}', "(Invalid isoformat string: 'yesterday')"),
    ('{"id": "a", "name": "b", "colour": "red"}', None),
])
def test_damaged_run_json_is_a_data_error_naming_the_file(tmp_path, text, why):
    (tmp_path / "run.json").write_text(text, encoding="utf-8")
    if why is None:  # unknown keys are ignored, as before
        assert read_run(tmp_path).name == "b"
        return
    with pytest.raises(DataError) as exc:
        read_run(tmp_path)
    assert str(exc.value) == f"{tmp_path / 'run.json'} is not a valid run record {why}"


def test_run_json_not_utf8(tmp_path):
    (tmp_path / "run.json").write_bytes(b'{"id": "\xff"}')
    with pytest.raises(DataError, match=r"run.json is not a valid run record \(not UTF-8 at byte 8\)"):
        read_run(tmp_path)
    with pytest.raises(DataError, match=r"run.json is not valid JSON \(not UTF-8 at byte 8\)"):
        read_json(tmp_path / "run.json")


def test_missing_folder_and_missing_run_json(tmp_path):
    with pytest.raises(RunNotFound) as exc:
        read_run(tmp_path / "nope")
    assert str(exc.value) == f"{tmp_path / 'nope'} does not exist (give a run folder)"
    with pytest.raises(RunNotFound) as exc:
        read_run(tmp_path)
    assert str(exc.value) == f"{tmp_path} is not a run folder (no run.json)"


def test_a_written_run_reads_back(tmp_path):
    run = RunFolder.create(tmp_path, name="x", task="binary")
    info = read_run(run.path)
    assert (info.name, info.status, info.task, info.path) == ("x", "running", "binary", str(run.path.resolve()))
