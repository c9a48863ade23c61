"""Every method label the benchmark scripts build splits into row fields (``_row_fields.split_label``):
a new option added to a label without a rule would otherwise land in the ``method`` string again."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "benchmarks"))
import _row_fields
import dna_gue


def _assert_split(label: str, **expected) -> None:
    fields = _row_fields.split_label(label)
    assert not any(c in fields["method"] for c in "()[]="), (label, fields)
    for key, value in expected.items():
        assert fields["settings"].get(key) == value, (label, fields)


@pytest.mark.parametrize("opts", [
    {}, {"pretrain_steps": 4000, "finetune_epochs": 4}, {"rc_tta": True, "subset": 200, "model_size": "small"},
    {"cnn_epochs": 5, "subset": 200, "pretrain_minutes": 12.5, "finetune_minutes": 8.0},
])
def test_dna_gue_labels_split(tmp_path, opts):
    options = dna_gue.Options(workdir=tmp_path, **opts)
    for name in dna_gue.METHODS:
        label = dna_gue.method_label(name, options)
        _assert_split(label, subset=opts.get("subset"))
        _assert_split(f"{label} [mean of seeds 0,1]", subset=opts.get("subset"))


def test_imbalance_labels_split():
    imbalance_dna = pytest.importorskip("imbalance_dna")
    for args in ((3, 30, None, None), (3, 12, 2500, Path("models/pt-tiny"), 7)):
        for (model, arm), label in imbalance_dna.arm_labels(["ce", "focal-cw", "oversample"], *args).items():
            for tagged in (f"{label} [seed 3]", f"{label} [mean of seeds 0,1]",
                           f"{label} [minus ce, paired over seeds 0,1]"):
                _assert_split(tagged, subset=args[2], epochs=3 if model == "bert" else None)


def test_lora_labels_split():
    lora_text = pytest.importorskip("lora_text")
    arms = [lora_text.Arm("full", 5e-05, {"method": "none"}),
            lora_text.Arm("lora", 1e-3, lora_text.lora_peft(8, lora_text.ALL_LINEAR)),
            lora_text.Arm("lora2", 1e-3, lora_text.lora_peft(16, ["query", "value"]))]
    for arm in arms:
        for subset in (None, 40):
            label = arm.label(4, subset)
            _assert_split(f"{label} (seed 1)", lr=arm.lr, epochs=4, subset=subset)
            _assert_split(f"{label} (mean of seeds 0,1)", lr=arm.lr, epochs=4, subset=subset)
