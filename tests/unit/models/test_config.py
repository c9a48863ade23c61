"""Fine-tuning config: TOML and YAML files, unknown keys, overrides."""
from __future__ import annotations

import json

import pytest

from serendip.errors import ConfigError
from serendip.models.config import (
    DEFAULT_BACKBONE,
    FineTuneConfig,
    apply_overrides,
    load_config,
)

TOML = '''
task = "binary"

[data]
train = "data/train.csv"
columns = {text = "sentence", label = "y"}
split = {dev = 0.2, test = 0.1, seed = 7}

[peft]
method = "adalora"
adalora = {init_r = 12, target_r = 4, tinit = 10, tfinal = 20, deltaT = 5}

[imbalance]
method = "focal"
focal_gamma = 1.5

[[augmentations]]
name = "reverse_complement"
params = {p = 0.5}

[training]
epochs = 2
lr = 3e-5
early_stopping = {metric = "mcc", patience = 2}
'''

YAML = '''
task: {name: multilabel, params: {sep: "|"}}
data:
  train: /abs/train.jsonl
  dev: dev.jsonl
backbone: ./my-model
peft: lora
training: {batch_size: 8}
output: {mlflow: true}
'''


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_toml(tmp_path):
    cfg = load_config(write(tmp_path / "ft.toml", TOML))
    assert cfg.task.name == "binary" and cfg.task.params == {}
    assert cfg.data.train == tmp_path / "data" / "train.csv"  # relative to the file
    assert cfg.data.columns.text == "sentence" and cfg.data.split.seed == 7
    assert cfg.peft.method == "adalora" and cfg.peft.adalora.target_r == 4
    assert cfg.imbalance.focal_gamma == 1.5
    assert cfg.augmentations[0].params == {"p": 0.5}
    assert cfg.training.lr == 3e-5 and cfg.training.early_stopping.patience == 2
    assert cfg.backbone.name == DEFAULT_BACKBONE
    assert cfg.output.run_dir == tmp_path / "runs"
    json.dumps(cfg.to_dict())


def test_yaml(tmp_path):
    cfg = load_config(write(tmp_path / "ft.yaml", YAML))
    assert cfg.task.params == {"sep": "|"}
    assert str(cfg.data.train) == "/abs/train.jsonl" and cfg.data.dev == tmp_path / "dev.jsonl"
    assert cfg.backbone.name == str(tmp_path / "my-model") and cfg.peft.method == "lora"  # ./: the file's folder
    assert cfg.training.batch_size == 8 and cfg.training.epochs == 3 and cfg.output.mlflow


def test_backbone_folders_are_found_beside_the_config_file_whatever_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "cfg" / "models" / "bio").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    cfg = load_config(write(tmp_path / "cfg" / "ft.toml", 'task = "binary"\n[data]\ntrain = "t.csv"\n'
                            '[backbone]\nname = "models/bio"\ntokenizer = "../tok"\n'))
    assert cfg.backbone.name == str(tmp_path / "cfg" / "models" / "bio")  # as data.train is read
    assert cfg.backbone.tokenizer == str(tmp_path / "cfg" / ".." / "tok")  # ../: a path, even if missing
    cfg = load_config(write(tmp_path / "cfg" / "id.toml", 'task = "binary"\nbackbone = "org/model"\n'
                            '[data]\ntrain = "t.csv"\n'))
    assert cfg.backbone.name == "org/model"  # nothing of that name beside the file: a model id, unchanged
    with pytest.raises(ConfigError, match="backbone.name"):  # empty: never the working folder by default
        load_config(write(tmp_path / "cfg" / "empty.toml", 'task = "binary"\nbackbone = ""\n[data]\ntrain = "t.csv"\n'))


def test_unknown_key_names_file_and_dotted_path(tmp_path):
    f = write(tmp_path / "ft.toml", TOML.replace("epochs = 2", "epochs = 2\nlrate = 1"))
    with pytest.raises(ConfigError) as info:
        load_config(f)
    msg = str(info.value)
    assert msg.startswith(str(f)) and "unknown key 'training.lrate'" in msg and "lr," in msg
    f = write(tmp_path / "ft.yaml", YAML + "augmentations:\n  - {name: x, prams: {}}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'augmentations\[0\]\.prams'"):
        load_config(f)
    f = write(tmp_path / "nested.toml", TOML.replace("deltaT = 5", "deltaT = 5, delta = 1"))
    with pytest.raises(ConfigError, match="unknown key 'peft.adalora.delta'"):
        load_config(f)


def test_bad_values_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="training.epochs: .*greater than or equal to 1"):
        load_config(write(tmp_path / "a.toml", TOML.replace("epochs = 2", "epochs = 0")))
    with pytest.raises(ConfigError, match="peft.method"):
        load_config(write(tmp_path / "b.toml", TOML.replace('"adalora"', '"qlora"')))
    with pytest.raises(ConfigError, match="target_r .* must not exceed init_r"):
        load_config(write(tmp_path / "c.toml", TOML.replace("target_r = 4", "target_r = 40")))
    with pytest.raises(ConfigError, match="data.split: dev \\+ test must be below 1"):
        load_config(write(tmp_path / "d.toml", TOML.replace("dev = 0.2", "dev = 0.95")))
    with pytest.raises(ConfigError, match="data.train: required key missing"):
        load_config(write(tmp_path / "e.toml", 'task = "binary"\n[data]\nformat = "csv"\n'))

    # an augmentation is checked against the registry when the file is read, not when training starts
    with pytest.raises(ConfigError, match="augmentations\\[0\\].name: unknown augmentation "
                                          "'revers_complement'; expected one of: .*reverse_complement"):
        load_config(write(tmp_path / "f.toml", TOML.replace('"reverse_complement"', '"revers_complement"')))
    # a string is not a boolean ("yes" is not silently read as true)
    with pytest.raises(ConfigError, match="augmentations\\[0\\].test_time: Input should be a valid boolean"):
        load_config(write(tmp_path / "g.toml", TOML.replace("params = {p = 0.5}", 'test_time = "yes"')))
    cfg = load_config(write(tmp_path / "h.toml", TOML.replace("params = {p = 0.5}", "test_time = true")))
    assert cfg.augmentations[0].test_time is True and cfg.augmentations[0].train is True


def test_unknown_task_is_refused_with_the_other_errors_when_the_file_is_read(tmp_path):
    text = ('task = "nonsense"\n[data]\ntrain = "t.csv"\nbogus = 1\n[peft]\nmethod = "nonsense"\n')
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path / "two.toml", text))
    message = str(err.value)
    assert message.startswith(str(tmp_path / "two.toml"))
    assert "task.name: unknown task 'nonsense'; expected one of: binary, multiclass" in message
    assert "unknown key 'data.bogus'" in message and "peft.method: unknown PEFT method 'nonsense'" in message


def test_syntax_errors_and_formats(tmp_path):
    with pytest.raises(ConfigError, match="invalid TOML.*line 2"):
        load_config(write(tmp_path / "a.toml", 'task = "binary"\n[data\n'))
    with pytest.raises(ConfigError, match="invalid YAML at line 2"):
        load_config(write(tmp_path / "a.yaml", "task: binary\ndata: a: b\n"))
    with pytest.raises(ConfigError, match="unknown config format '.ini'"):
        load_config(write(tmp_path / "a.ini", ""))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="empty"):
        load_config(write(tmp_path / "e.yml", ""))


def test_overrides(tmp_path):
    cfg = load_config(write(tmp_path / "ft.toml", TOML))
    new = apply_overrides(cfg, ["training.lr=1e-4", "training.epochs=5", "peft.method=lora",
                                "peft.target_modules=['query', 'value']", "output.mlflow=true",
                                "augmentations.0.params.p=0.25", "data.dev=dev.csv",
                                "task.params.positive_label=1"])
    assert new.training.lr == 1e-4 and new.training.epochs == 5
    assert new.peft.method == "lora" and new.peft.target_modules == ["query", "value"]
    assert new.output.mlflow is True and new.augmentations[0].params["p"] == 0.25
    assert str(new.data.dev) == "dev.csv" and new.task.params == {"positive_label": 1}
    assert cfg.training.lr == 3e-5  # the original is unchanged
    assert apply_overrides(new, ["data.dev=null"]).data.dev is None
    assert isinstance(new, FineTuneConfig)


@pytest.mark.parametrize("flag, match", [
    ("training.lrr=1", "unknown key 'training.lrr'"),
    ("training.lr=fast", "training.lr: Input should be a valid number"),
    ("training.epochs=2.5", "training.epochs"),
    ("training", "expected key=value"),
    ("training.epochs.x=1", "'training.epochs' is a value"),
    ("augmentations.3.name=x", "not an index"),
])
def test_override_errors_name_the_key(tmp_path, flag, match):
    cfg = load_config(write(tmp_path / "ft.toml", TOML))
    with pytest.raises(ConfigError, match=match):
        apply_overrides(cfg, [flag])


def test_backbone_and_tokenizer_folders_are_resolved_with_their_own_names(tmp_path):
    from serendip.models.backbone import resolve_backbone

    (tmp_path / "tok").mkdir()
    (tmp_path / "tok" / "tokenizer.json").write_text("{}")
    assert resolve_backbone(str(tmp_path / "tok"), "tokenizer") == str((tmp_path / "tok").resolve())
    with pytest.raises(ConfigError, match="has no config.json"):  # a model folder needs its config
        resolve_backbone(str(tmp_path / "tok"))
    with pytest.raises(ConfigError, match=r"tokenizer 'nope' is not a local folder \(looked in "):
        resolve_backbone("nope", "tokenizer")
