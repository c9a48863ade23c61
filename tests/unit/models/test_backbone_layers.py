"""``backbone.layers``: a backbone's first N transformer layers kept with their pre-trained weights
(top-layer dropping), a run trained so records it and loads at that size, and the one-line errors."""
from __future__ import annotations

import json

import pytest
from models_helpers import config, make_backbone, write_csv
from pydantic import ValidationError

from serendip.errors import ConfigError
from serendip.models.backbone import backbone_layers, load_backbone
from serendip.models.config import BackboneConfig
from serendip.models.tasks import LabelSpace, make_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return make_backbone(tmp_path_factory.mktemp("layers") / "backbone")  # 2 layers, hidden 32


def test_the_first_layers_are_kept_with_their_weights(backbone):
    import torch
    from transformers import BertModel

    full = BertModel.from_pretrained(str(backbone))
    task, space = make_task("binary"), LabelSpace(["0", "1"])
    model, _ = load_backbone(str(backbone), task, space, layers=1)
    assert model.config.num_hidden_layers == 1 and len(model.bert.encoder.layer) == 1
    kept, dropped = model.bert.encoder.layer[0], full.encoder.layer[1]
    assert torch.equal(kept.attention.self.query.weight, full.encoder.layer[0].attention.self.query.weight)
    assert not torch.equal(kept.attention.self.query.weight, dropped.attention.self.query.weight)
    n_full = sum(p.numel() for p in load_backbone(str(backbone), task, space)[0].parameters())
    per_layer = sum(p.numel() for p in dropped.parameters())
    assert sum(p.numel() for p in model.parameters()) == n_full - per_layer


def test_bad_layer_counts_are_one_line_config_errors(backbone, tmp_path):
    assert backbone_layers(str(backbone), 2) == 2
    with pytest.raises(ConfigError, match=r"3 layers asked of backbone .*, which has 2: keep 1 to 2"):
        backbone_layers(str(backbone), 3)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_layer": 2}))
    with pytest.raises(ConfigError, match="has no num_hidden_layers"):
        backbone_layers(str(odd), 1)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        BackboneConfig.model_validate({"name": str(backbone), "layers": 0})


def test_a_run_trained_on_fewer_layers_records_and_reloads_them(backbone, tmp_path):
    from serendip.models.predict import load_run_model
    from serendip.models.train import finetune

    cfg = config(write_csv(tmp_path / "t.csv", 40), backbone, tmp_path / "runs", training={"epochs": 1})
    cfg.backbone = BackboneConfig(name=str(backbone), layers=1)
    run = finetune(cfg).run_dir
    assert json.loads((run / "model.json").read_text())["backbone_layers"] == 1
    assert json.loads((run / "config.resolved.json").read_text())["backbone"]["layers"] == 1
    bundle = load_run_model(run, device="cpu")
    assert bundle.model.config.num_hidden_layers == 1 and len(bundle.model.bert.encoder.layer) == 1
