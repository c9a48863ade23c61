"""Stored runs of ``benchmarks/screening_cohen.py``: their keys (the data of a review, the source a simulation
runs), reading a runs file, and carrying runs over from earlier code after a check.

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

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path

Task = tuple[str, str, int]  # (review, system, seed)
#: the fields of a line of a runs file
RUN_FIELDS = ("key", "review", "system", "seed", "run")


def simulation_modules() -> list[Path]:
    """The source files of ``serendip.screening`` a simulation runs: ``simulate.py`` and every module of
    the package it imports, transitively (read from their import statements, function-level ones
    included), in name order. Sessions, the feature cache, exports and recommendations are not among
    them, so a change there keeps the stored runs."""
    import ast

    import serendip.screening as pkg

    folder, prefix = Path(pkg.__file__).parent, "serendip.screening"
    seen: set[str] = set()
    todo = ["simulate"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for mod in names:
                if mod == prefix:  # from serendip.screening import X: the package's __init__
                    todo.append("__init__")
                elif mod.startswith(prefix + "."):
                    todo.append(mod[len(prefix) + 1:].split(".")[0])
    return sorted(folder / f"{name}.py" for name in seen)


def code_hash() -> str:
    """sha256 (16 hex) of the source a simulation runs (:func:`simulation_modules`): a stored run is
    reused only by the same code."""
    digest = hashlib.sha256()
    for path in simulation_modules():
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def set_hash(ds) -> str:
    """sha256 (16 hex) of a set's ids, texts and labels."""
    digest = hashlib.sha256()
    for row in zip(ds.ids, ds.titles, ds.abstracts, ds.labels.tolist()):
        digest.update(repr(row).encode("utf-8"))
    return digest.hexdigest()[:16]


def read_lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) per non-blank line of the JSON-lines runs file ``path``, each checked to be
    a run line (an object with ``key``, ``review``, ``system``, ``seed`` and ``run``).

    Raises ``OSError`` when ``path`` cannot be read and ``ValueError`` naming the file and line for a line
    that is not UTF-8, not JSON or not a run line."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ValueError(f"{path}, line {lineno}: not UTF-8 text ({exc.reason})") from None
            if not line.strip():
                continue
            try:
                got = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {lineno}: not JSON ({exc.msg})") from None
            missing = [k for k in RUN_FIELDS if k not in got] if isinstance(got, dict) else None
            if missing is None or missing:
                what = f"misses {', '.join(missing)}" if missing else f"is a JSON {type(got).__name__}"
                raise ValueError(f"{path}, line {lineno}: not a stored run (it {what}; a run line is an "
                                 f"object with {', '.join(RUN_FIELDS)})")
            yield lineno, got


def stale_runs(path: Path, keys: dict[str, str]) -> dict[Task, tuple[str, dict]]:
    """Runs of the JSON-lines file ``path`` on the same data as ``keys`` (review -> "data:code") but under
    another code hash: (review, system, seed) -> (that code hash, run dict); the last line of a task wins.

    Raises ``OSError`` and ``ValueError`` as :func:`read_lines`."""
    out: dict[Task, tuple[str, dict]] = {}
    for _, got in read_lines(path):
        key = keys.get(got["review"])
        if key is None or not isinstance(got["key"], str) or ":" not in got["key"]:
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
