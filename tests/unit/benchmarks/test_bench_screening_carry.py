"""benchmarks/_screening_carry.py: runs stored under older code are carried system by system, only after
the system's reruns on the smallest reviews reproduce them exactly; a bad line is named."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _screening_carry as carry_mod


def _run(order, priors=(0, 1)):
    return {"seed": 0, "priors": list(priors), "order": list(order), "metrics": {}, "stops": {}, "wall_s": 1.0}


def _write(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_stale_runs_keep_the_same_data_under_other_code(tmp_path):
    keys = {"A": "dA:new", "B": "dB:new"}
    path = _write(tmp_path / "runs.jsonl", [
        {"key": "dA:old", "review": "A", "system": "s", "seed": 0, "run": _run([5, 6])},
        {"key": "dA:new", "review": "A", "system": "s", "seed": 1, "run": _run([1])},    # current: not stale
        {"key": "dX:old", "review": "B", "system": "s", "seed": 0, "run": _run([2])},    # other data
        {"key": "dA:older", "review": "A", "system": "s", "seed": 0, "run": _run([7, 8])},  # last line wins
        {"key": "dC:old", "review": "C", "system": "s", "seed": 0, "run": _run([3])},    # review not run
    ])
    assert carry_mod.stale_runs(path, keys) == {("A", "s", 0): ("older", _run([7, 8]))}


def test_a_line_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "runs.jsonl"
    path.write_text('{"key": "d:c", "review": "A", "system": "s", "seed": 0, "run": {}}\n{oops\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"runs\.jsonl, line 2: not JSON"):
        carry_mod.stale_runs(path, {"A": "d:new"})


def test_only_systems_whose_reruns_reproduce_are_carried():
    sizes = {"big": 1000, "mid": 300, "small": 100}
    stale = {(r, s, seed): ("old", _run([seed, len(r)])) for r in sizes for s in ("same", "changed")
             for seed in (0, 1)}
    todo = sorted(stale)
    asked = []

    def rerun(tasks):
        asked.extend(tasks)
        return {t: _run([t[2], len(t[0])] if t[1] == "same" else [99]) for t in tasks}

    reruns, carried, lines = carry_mod.carry(stale, todo, sizes, rerun, n_check=2)
    # the check reruns every seed of the two smallest reviews, for each system
    assert sorted(asked) == sorted((r, s, seed) for r in ("mid", "small") for s in ("same", "changed")
                                   for seed in (0, 1))
    assert set(reruns) == set(asked)
    assert carried == {("big", "same", 0): _run([0, 3]), ("big", "same", 1): _run([1, 3])}
    assert any(line.startswith("same: 4 reruns on mid, small reproduce") and "2 more carried from code old"
               in line for line in lines)
    assert any(line.startswith("changed: not carried, 4 of 4 reruns") for line in lines)


def test_different_priors_are_not_the_same_run():
    assert carry_mod.same_run(_run([1, 2]), _run([1, 2]))
    assert not carry_mod.same_run(_run([1, 2], priors=(0, 1)), _run([1, 2], priors=(0, 3)))
    assert not carry_mod.same_run(_run([1, 2]), _run([2, 1]))


@pytest.mark.parametrize("content, says", [
    (b'[1, 2]\n', "line 1: not a stored run (it is a JSON list"),
    (b'{"key": "d:c", "review": "A", "system": "s", "seed": 0}\n', "line 1: not a stored run (it misses run;"),
    (b'\n{"key": "d:c"\n', "line 2: not JSON"),
    (b'\xff\xfe\n', "line 1: not UTF-8 text"),
])
def test_a_line_that_is_not_a_stored_run_is_named(tmp_path, content, says):
    path = tmp_path / "runs.jsonl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(f"{path}, {says}")):
        carry_mod.stale_runs(path, {"A": "d:new"})
