"""A fine-tuned model used as a backbone (a run's model folder, a reranker): its encoder is loaded and
its head, of the same size or not, is replaced by a new one; a plain encoder loads as before."""
from __future__ import annotations

import pytest
from models_helpers import make_backbone

from serendip.models.backbone import load_backbone
from serendip.models.tasks import LabelSpace, make_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory):
    """A 2-label sequence classifier saved with a recognisable head (all weights 0.5)."""
    import torch

    folder = tmp_path_factory.mktemp("head")
    base = make_backbone(folder / "backbone")
    model, tok = load_backbone(str(base), make_task("binary"), LabelSpace(["0", "1"]))
    with torch.no_grad():
        model.classifier.weight.fill_(0.5)
        model.classifier.bias.fill_(0.5)
        model.bert.encoder.layer[0].attention.self.query.weight.add_(1.0)  # an encoder unlike the base's
    model.save_pretrained(folder / "clf")
    tok.save_pretrained(folder / "clf")
    return folder / "clf", model


@pytest.mark.parametrize("task, classes", [("binary", ["no", "yes"]), ("multiclass", ["a", "b", "c"])])
def test_a_classifier_folder_gives_its_encoder_and_a_new_head(classifier_folder, task, classes):
    import torch

    folder, saved = classifier_folder
    model, _ = load_backbone(str(folder), make_task(task), LabelSpace(classes))
    assert model.classifier.weight.shape == (len(classes), saved.config.hidden_size)
    assert not torch.all(model.classifier.weight == 0.5)  # same size (binary) or not: the head is new
    assert model.config.id2label == dict(enumerate(classes))
    for name, value in saved.bert.state_dict().items():
        assert torch.equal(model.bert.state_dict()[name], value), name


def test_a_plain_encoder_still_loads_its_weights_under_a_new_head(tmp_path):
    import torch
    from transformers import BertModel

    base = make_backbone(tmp_path / "backbone")
    model, _ = load_backbone(str(base), make_task("multiclass"), LabelSpace(["a", "b", "c"]))
    plain = BertModel.from_pretrained(str(base))
    for name, value in plain.state_dict().items():
        if name in model.bert.state_dict():
            assert torch.equal(model.bert.state_dict()[name], value), name
