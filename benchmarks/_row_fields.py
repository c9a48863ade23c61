"""Method labels -> row fields: the configuration a benchmark script writes into its method label
(``"transformer-pretrain-task (tiny, pt 4000 steps, ft 3 epochs) [mean of seeds 0,1,2]"``) as the
row fields ``method`` (``"transformer-pretrain-task"``), ``settings`` (``{"model_size": "tiny",
"pretrain_steps": 4000, "finetune_epochs": 3}``) and ``seeds`` (``[0, 1, 2]``).

Used once to migrate the stored rows (the original labels are kept in ``results/archive/``) and by
:func:`_rows.write` for every new row that still carries its configuration in its label, so a stored
row never does. The rules are strict: a parenthesised part is read only when every item in it is
known (see :data:`ITEM_RULES`), otherwise the label is kept whole as the method (nothing is guessed
or dropped).
"""
from __future__ import annotations

import re

#: ``(pattern, key, type)``: one comma-separated item of a label's parenthesised part -> a setting;
#: ``type`` None means the setting is ``True`` (a flag)
ITEM_RULES: list[tuple[str, str, type | None]] = [
    (r"(tiny|small|base)", "model_size", str),
    (r"pt (\d+) steps", "pretrain_steps", int),
    (r"pt ([\d.]+) min", "pretrain_minutes", float),
    (r"ft (\d+) epochs", "finetune_epochs", int),
    (r"ft ([\d.]+) min", "finetune_minutes", float),
    (r"rc test-time avg", "rc_tta", None),
    (r"subset (\d+)", "subset", int),
    (r"max (\d+) ep", "cnn_epochs", int),
    (r"(\d+) ep", "epochs", int),
    (r"select (dev [\w-]+)", "select", str),
    (r"split seed (\d+)", "split_seed", int),
    (r"lr ([\d.e+-]+)", "lr", float),
    (r"N=(\d+)", "candidates", int),
    (r"alpha=([\d.]+)", "alpha", float),
    (r"default", "default", None),
    (r"(one|batch) query", "query", str),
    (r"(cold) cache", "cache", str),
    (r"embedded earlier", "cached", None),
    (r"cached", "cached", None),
]

#: ``(pattern, method, settings group names)``: a label's name part that holds a setting
NAME_RULES: list[tuple[str, str | None]] = [
    (r"(?P<method>.+) lora r(?P<lora_r>\d+) (?P<lora_targets>\S+)", "{method} lora"),
    (r"tiny-bert-pretrained\[(?P<backbone>[^\]]+)\] (?P<arm>\S+)", "tiny-bert-pretrained {arm}"),
    (r'(?P<method>.+) class_weight="(?P<class_weight>\w+)"', "{method}"),
    (r"dense-(?P<model>all-MiniLM-L6-v2)", "dense"),
    (r"Workspace\.search\(mode=(?P<mode>\w+)\)", "Workspace.search"),
]

_SEEDS = [
    (re.compile(r"^(?P<rest>.*) [\[(]seed (?P<seed>\d+)[\])]$"), None),
    (re.compile(r"^(?P<rest>.*) [\[(]mean of seeds (?P<seeds>[\d,]+)[\])]$"), None),
    (re.compile(r"^(?P<rest>.*) \[minus (?P<vs>[\w-]+), paired over seeds (?P<seeds>[\d,]+)\]$"), "paired_vs"),
]


def _item(text: str) -> tuple[str, object] | None:
    for pattern, key, kind in ITEM_RULES:
        m = re.fullmatch(pattern, text)
        if m:
            return key, (True if kind is None else kind(m.group(1)))
    return None


def _name(text: str) -> tuple[str, dict]:
    for pattern, template in NAME_RULES:
        m = re.fullmatch(pattern, text)
        if m:
            groups = m.groupdict()
            method = template.format(**groups)
            settings = {k: (int(v) if v.isdigit() else v) for k, v in groups.items()
                        if k not in ("method", "arm")}
            return method, settings
    return text, {}


def split_label(label: str) -> dict:
    """The row fields of a method label: ``method`` (str), ``settings`` (dict of str -> str / int /
    float / bool), ``seed`` (int, present only for a ``[seed s]`` / ``(seed s)`` label) and ``seeds``
    (list of int, present only for a ``mean of seeds`` or ``paired over seeds`` label; a paired label
    also sets ``settings["paired_vs"]``). A label without a known part comes back whole as ``method``
    with empty settings."""
    out: dict = {}
    rest = label
    for pattern, paired_key in _SEEDS:
        m = pattern.match(rest)
        if m:
            rest = m.group("rest")
            if "seed" in m.groupdict():
                out["seed"] = int(m.group("seed"))
            else:
                out["seeds"] = [int(s) for s in m.group("seeds").split(",")]
            if paired_key:
                out["paired_vs"] = m.group("vs")
            break
    settings: dict = {}
    m = re.fullmatch(r"(?P<name>.+?) \((?P<items>[^()]+)\)", rest)
    if m:
        items = [_item(t) for t in m.group("items").split(", ")]
        if all(items):
            rest = m.group("name")
            settings.update(dict(items))
    method, name_settings = _name(rest)
    settings = {**name_settings, **settings}
    if "paired_vs" in out:
        settings["paired_vs"] = out.pop("paired_vs")
    return {"method": method, "settings": settings, **out}


def normalise(row: dict) -> dict:
    """``row`` with its configuration in fields: a row that has ``settings`` already is returned as
    it is; otherwise its ``method`` (and its baseline's) is split by :func:`split_label` (``seed``
    becomes None for a row over several seeds). Returns a new dict with the keys in row order."""
    if isinstance(row.get("settings"), dict):
        return row
    fields = split_label(row["method"])
    seeds = fields.get("seeds") or row.get("seeds")
    seed = None if seeds else fields.get("seed", row.get("seed"))
    baseline = row.get("baseline")
    if baseline:
        b = split_label(baseline["method"])
        baseline = {"method": b["method"], "value": baseline["value"]}
        baseline.update({k: b[k] for k in ("settings", "seeds") if b.get(k)})
    head = {k: row[k] for k in ("benchmark", "dataset", "split", "n") if k in row}
    tail = {k: v for k, v in row.items()
            if k not in {*head, "method", "settings", "metric", "value", "sd", "seed", "seeds", "baseline"}}
    return {**head, "method": fields["method"], "settings": fields["settings"], "metric": row["metric"],
            "value": row["value"], "sd": row.get("sd"), "seed": seed, "seeds": seeds, "baseline": baseline,
            **tail}
