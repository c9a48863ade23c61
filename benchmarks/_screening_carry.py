"""Stored runs of ``benchmarks/screening_cohen.py`` carried over from earlier code after a check.

A stored run is keyed by its review's data and by the source of every module a simulation runs, so a change
to any of them (a new candidate in ``models.py``, say) makes every stored run stale, although most systems'
code paths did not change. ``--carry-runs FILE`` reuses such runs system by system, and only after a check:
for each system with stale runs, the current code reruns that system on the ``n_check`` smallest reviews
that have stale runs of it, every seed stored there, and the system's stale runs are carried only when every
rerun gives exactly the stored priors and screening order; otherwise none of that system's stale runs is
used (they are run again). The check's reruns are ordinary runs of the current code and are kept as such.

A carried run keeps the wall time measured when it ran; it is appended to the runs file under the current
key with ``"carried_from"``: the code hash it was run under, so the provenance stays in the file.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

Task = tuple[str, str, int]  # (review, system, seed)


def stale_runs(path: Path, keys: dict[str, str]) -> dict[Task, tuple[str, dict]]:
    """Runs of the JSON-lines file ``path`` on the same data as ``keys`` (review -> "data:code") but under
    another code hash: (review, system, seed) -> (that code hash, run dict); the last line of a task wins.

    Raises ``FileNotFoundError`` when ``path`` is missing and ``ValueError`` naming the line of a line that
    is not JSON."""
    out: dict[Task, tuple[str, dict]] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                got = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {lineno}: not JSON ({exc.msg})") from None
            key = keys.get(got.get("review"))
            if key is None or not isinstance(got.get("key"), str) or ":" not in got["key"]:
                continue
            data, code = got["key"].split(":", 1)
            if data == key.split(":", 1)[0] and got["key"] != key:
                out[(got["review"], got["system"], got["seed"])] = (code, got["run"])
    return out


def check_sample(stale: dict[Task, tuple[str, dict]], todo: list[Task], sizes: dict[str, int],
                 n_check: int = 2) -> dict[str, list[Task]]:
    """system -> the tasks rerun to check it: every stale task of that system among ``todo`` on its
    ``n_check`` smallest reviews (``sizes``: review -> records)."""
    by_system: dict[str, set[str]] = {}
    for review, system, seed in todo:
        if (review, system, seed) in stale:
            by_system.setdefault(system, set()).add(review)
    sample = {}
    for system, reviews in sorted(by_system.items()):
        chosen = sorted(reviews, key=lambda r: (sizes[r], r))[:n_check]
        sample[system] = [t for t in todo if t[1] == system and t[0] in chosen and t in stale]
    return sample


def same_run(stored: dict, rerun: dict) -> bool:
    """Whether a rerun reproduces a stored run: the same priors and the same screening order."""
    return list(stored["priors"]) == list(rerun["priors"]) and list(stored["order"]) == list(rerun["order"])


def carry(stale: dict[Task, tuple[str, dict]], todo: list[Task], sizes: dict[str, int],
          run_tasks: Callable[[list[Task]], dict[Task, dict]], n_check: int = 2
          ) -> tuple[dict[Task, dict], dict[Task, dict], list[str]]:
    """Check each system's stale runs (:func:`check_sample`) with ``run_tasks`` (tasks -> run dicts by the
    current code) and carry those of the systems that reproduce.

    Returns (the reruns made for the check, the carried runs of the other tasks in ``todo``, one line per
    system saying what was checked and whether it was carried)."""
    sample = check_sample(stale, todo, sizes, n_check)
    reruns = run_tasks([t for tasks in sample.values() for t in tasks])
    carried: dict[Task, dict] = {}
    lines = []
    for system, tasks in sample.items():
        differ = [t for t in tasks if not same_run(stale[t][1], reruns[t])]
        rest = [t for t in todo if t[1] == system and t in stale and t not in reruns]
        reviews = sorted({t[0] for t in tasks})
        if differ:
            lines.append(f"{system}: not carried, {len(differ)} of {len(tasks)} reruns on {', '.join(reviews)} "
                         f"differ from the stored runs (first: {differ[0][0]} seed {differ[0][2]})")
            continue
        carried.update({t: stale[t][1] for t in rest})
        codes = sorted({stale[t][0] for t in tasks + rest})
        lines.append(f"{system}: {len(tasks)} reruns on {', '.join(reviews)} reproduce the stored runs exactly; "
                     f"{len(rest)} more carried from code {', '.join(codes)}")
    return reruns, carried, lines
