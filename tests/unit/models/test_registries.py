"""Meta-tests over the engine's registries: every entry of TASKS, LOSSES, HEADS, IMBALANCE_METHODS,
PEFT_METHODS and METRICS is exercised for real.

Each registry has a case table below; the tests are parametrized over the registry's keys (domain
packages loaded first), so an entry registered without a case fails with
``no test case for <kind> <name>``: add its case here.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from models_helpers import make_backbone

import serendip.models.train  # noqa: F401  (registers the engine's heads, losses, methods)
from serendip.models.example import Example
from serendip.models.plugins import load_domains
from serendip.models.registries import (
    HEADS,
    IMBALANCE_METHODS,
    LOSSES,
    METRICS,
    PEFT_METHODS,
    TASKS,
)

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

load_domains()


def _case(table: dict, kind: str, name: str):
    if name not in table:
        pytest.fail(f"no test case for {kind} {name}: add one to {kind.upper()}_CASES in {__file__}")
    return table[name]


@pytest.fixture(scope="module")
def backbone(tmp_path_factory):
    return make_backbone(tmp_path_factory.mktemp("registries") / "backbone")


def _examples(task, rows):
    out = []
    for i, row in enumerate(rows):
        ex = Example(text=row[0], label=row[1], text_pair=row[2] if len(row) > 2 else None, id=f"e{i}")
        task.prepare(ex)
        out.append(ex)
    return out


# -- tasks: prepare, fit labels, encode, one forward pass, the loss, evaluate ----------------------
_SEQ = [("ACGTGGGGA", "1"), ("ACATTACA", "0"), ("GGGGTTAC", "1"), ("CATCATA", "0")]
TASK_CASES = {
    "binary": {"rows": _SEQ, "params": {}},
    "multiclass": {"rows": _SEQ + [("TTTTTT", "2"), ("TTATTA", "2")], "params": {}},
    "pair": {"rows": [(a, lab, "ACGT") for a, lab in _SEQ], "params": {}},
    "multilabel": {"rows": [("GGGTT", "g;t"), ("AAAC", "none"), ("GGAA", "g"), ("TTAC", "t")],
                   "params": {}},
    "regression": {"rows": [("GGGA", "0.75"), ("AAAA", "0"), ("GGAA", "0.5"), ("GAAA", "0.25")],
                   "params": {}},
    "token": {"rows": [("ACGT GGGG", "O B-G"), ("GGGG AC TT", "B-G O O"), ("TT AA", "O O")],
              "params": {}},
}


@pytest.mark.parametrize("name", TASKS.keys())
def test_task(name, backbone):
    from serendip.models.heads import head_of
    from serendip.models.inference import ModelBundle, collate, model_outputs
    from serendip.models.tasks import make_task
    from serendip.models.train import load_backbone

    case = _case(TASK_CASES, "task", name)
    task = make_task(name, **case["params"])
    examples = _examples(task, case["rows"])
    space = task.fit_labels(examples)
    targets = task.encode(examples, space)
    model, tokenizer = load_backbone(str(backbone), task, space)
    head = head_of(task)
    feats, _ = head.encode(tokenizer, task, examples, 32, targets)
    batch = collate(feats, tokenizer.pad_token_id)
    scaling = head.target_scaling(examples)
    y = head.targets(batch, targets, list(range(len(examples))), scaling)
    logits = model(**batch).logits
    loss = LOSSES.get(task.loss)()(logits, y)
    loss.backward()
    assert loss.ndim == 0 and math.isfinite(loss.item())
    bundle = ModelBundle(model, tokenizer, task, space, 32, scaling)
    metrics = task.evaluate(examples, model_outputs(bundle, examples), space)
    assert task.primary_metric in metrics
    assert len(task.predict(model_outputs(bundle, examples), space, examples).labels) == len(examples)


# -- losses: a finite scalar with gradients, and a known value at zero logits ----------------------
LOSS_CASES = {
    # (logits shape, targets, value at zero logits)
    "cross_entropy": ((4, 3), lambda: torch.tensor([0, 1, 2, -100]), math.log(3)),
    "bce_with_logits": ((4, 3), lambda: torch.tensor([[1, 0, 1], [0, 0, 1], [1, 1, 1], [0, 0, 0.]]),
                        math.log(2)),
    "mse": ((4, 1), lambda: torch.tensor([1.0, -1.0, 1.0, -1.0]), 1.0),
}


@pytest.mark.parametrize("name", LOSSES.keys())
def test_loss(name):
    shape, targets, at_zero = _case(LOSS_CASES, "loss", name)
    loss_fn = LOSSES.get(name)()
    zero = loss_fn(torch.zeros(shape), targets())
    assert zero.ndim == 0 and zero.item() == pytest.approx(at_zero, rel=1e-6)
    logits = torch.randn(shape, generator=torch.Generator().manual_seed(0), requires_grad=True)
    loss = loss_fn(logits, targets())
    loss.backward()
    assert math.isfinite(loss.item()) and torch.isfinite(logits.grad).all()
    assert float(logits.grad.abs().sum()) > 0


# -- heads: features, targets and outputs of the right shapes ---------------------------------------
HEAD_CASES = {
    "sequence": ("binary", _SEQ, (4, 2), lambda out: out.shape == (4, 2)),
    "regression": ("regression", TASK_CASES["regression"]["rows"], (4, 1),
                   lambda out: out.shape == (4,)),
    "token": ("token", TASK_CASES["token"]["rows"], (3, 12, 3),
              lambda out: [o.shape for o in out] == [(2, 3), (3, 3), (2, 3)]),
}


@pytest.mark.parametrize("name", HEADS.keys())
def test_head(name, backbone):
    from serendip.models.backbone import load_tokenizer
    from serendip.models.inference import collate
    from serendip.models.tasks import make_task

    task_name, rows, logits_shape, shape_ok = _case(HEAD_CASES, "head", name)
    task = make_task(task_name)
    examples = _examples(task, rows)
    space = task.fit_labels(examples)
    targets = task.encode(examples, space)
    head = HEADS.get(name)()
    feats, n_truncated = head.encode(load_tokenizer(str(backbone)), task, examples, 12, targets)
    assert len(feats) == len(examples) and n_truncated >= 0
    batch = collate(feats, 0)
    y = head.targets(batch, targets, list(range(len(examples))), head.target_scaling(examples))
    assert y.shape[0] == len(examples) and torch.is_tensor(y)
    chunks: list = []
    head.collect(chunks, np.zeros(logits_shape), feats, list(range(len(examples))))
    out = head.finish(chunks, task.num_outputs(space), head.target_scaling(examples))
    assert shape_ok(out) and head.flat(out).ndim == 1
    task.evaluate(examples, head.dummy_outputs(examples, task.num_outputs(space)), space)
    assert head.auto_class().__name__.startswith("AutoModelFor")


# -- imbalance methods: resampling or the loss they build, on tiny data ----------------------------
def _imbalanced():
    from serendip.models.tasks import make_task

    task = make_task("binary")
    examples = _examples(task, [("AAAA", "0"), ("CCCC", "0"), ("TTTT", "0"), ("GGGG", "1")])
    return task, examples


def _check_none(train, loss_fn, record):
    assert len(train) == 4 and record == {}


def _check_class_weight(train, loss_fn, record):
    assert record["class_weight"] == pytest.approx({"0": 4 / 6, "1": 2.0})


def _check_focal(train, loss_fn, record):
    assert record == {"focal_gamma": 2.0, "focal_alpha": None}
    logits, y = torch.tensor([[2.0, -2.0], [0.0, 0.0]]), torch.tensor([0, 1])
    ce = torch.nn.functional.cross_entropy(logits, y, reduction="none")
    assert float(loss_fn(logits, y)) < float(ce.mean())  # easy examples down-weighted


def _check_oversample(train, loss_fn, record):
    assert sorted(ex.label for ex in train) == ["0"] * 3 + ["1"] * 3


def _check_undersample(train, loss_fn, record):
    assert sorted(ex.label for ex in train) == ["0", "1"]


IMBALANCE_CASES = {"none": _check_none, "class_weight": _check_class_weight, "focal": _check_focal,
                   "oversample": _check_oversample, "undersample": _check_undersample}


@pytest.mark.parametrize("name", IMBALANCE_METHODS.keys())
def test_imbalance_method(name):
    from serendip.models.config import ImbalanceConfig
    from serendip.models.losses import LossInputs

    check = _case(IMBALANCE_CASES, "imbalance method", name)
    task, examples = _imbalanced()
    method = IMBALANCE_METHODS.get(name)()
    train, _report = method.resample(examples, task, 0)
    space = task.fit_labels(train)
    inputs = LossInputs(task, train, space, task.encode(train, space))
    loss_fn, record = method.make_loss(LOSSES.get(task.loss), inputs, ImbalanceConfig(method=name))
    value = loss_fn(torch.zeros(len(train), 2), torch.as_tensor(inputs.train_targets))
    assert math.isfinite(float(value))
    check(train, loss_fn, record)


# -- PEFT methods: applied to the tiny backbone, trainable fraction checked -------------------------
PEFT_CASES = {
    "none": lambda fraction: fraction == 1.0,
    "lora": lambda fraction: 0.0 < fraction < 0.5,
    "adalora": lambda fraction: 0.0 < fraction < 0.5,
}


@pytest.mark.parametrize("name", PEFT_METHODS.keys())
def test_peft_method(name, backbone):
    pytest.importorskip("peft")
    from serendip.models.config import PeftConfig
    from serendip.models.tasks import make_task
    from serendip.models.train import (
        apply_peft,
        count_parameters,
        load_backbone,
        merge_peft,
    )

    fraction_ok = _case(PEFT_CASES, "PEFT method", name)
    task = make_task("binary")
    space = task.fit_labels(_examples(task, _SEQ))
    model, _ = load_backbone(str(backbone), task, space)
    wrapped = apply_peft(model, PeftConfig(method=name, r=2), task, total_steps=20)
    trainable, total = count_parameters(wrapped)
    assert fraction_ok(trainable / total)
    method = PEFT_METHODS.get(name)()
    assert method.adapter == hasattr(wrapped, "merge_and_unload")
    reg = method.regularizer(wrapped)
    assert reg is None or math.isfinite(reg.item())
    ids = torch.tensor([[2, 5, 6, 3]])
    merged = merge_peft(wrapped)
    assert not hasattr(merged, "merge_and_unload") or merged is wrapped
    assert torch.allclose(wrapped.eval()(input_ids=ids).logits, merged(input_ids=ids).logits,
                          atol=1e-5)


# -- metrics: known values on small inputs ---------------------------------------------------------
METRIC_CASES = {
    # (args, kwargs, expected subset)
    "classification": ((["a", "b", "a", "b"], ["a", "b", "b", "b"], None, ["a", "b"]), {},
                       {"accuracy": 0.75, "mcc": 2 / math.sqrt(12), "recall_macro": 0.75}),
    "multilabel": ((np.array([[1, 0], [0, 1], [1, 1]]), np.array([[1, 0], [0, 0], [1, 1]]), None,
                    ["a", "b"]), {}, {"subset_accuracy": 2 / 3, "hamming_loss": 1 / 6,
                                      "recall_micro": 0.75}),
    "regression": (([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]), {},
                   {"rmse": math.sqrt(1 / 3), "mae": 1 / 3, "r2": 0.5}),
    "token": (([["O", "B-X", "I-X"]], [["O", "B-X", "O"]]), {"scheme": "IOB2"},
              {"token_accuracy": 2 / 3, "f1": 0.0}),
}


@pytest.mark.parametrize("name", METRICS.keys())
def test_metric(name):
    args, kwargs, expected = _case(METRIC_CASES, "metric", name)
    result = METRICS.get(name)(*args, **kwargs)
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key


def test_an_entry_without_a_case_fails_the_run():
    with pytest.raises(pytest.fail.Exception, match="no test case for loss brand_new"):
        _case(LOSS_CASES, "loss", "brand_new")
