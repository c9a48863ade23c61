"""Task kinds: label spaces, label parsing, targets, predictions and metrics."""
from __future__ import annotations

import numpy as np
import pytest

from serendip.errors import ConfigError, DataError
from serendip.models.example import Example
from serendip.models.registries import TASKS
from serendip.models.tasks import (
    IGNORE_INDEX,
    BinaryTask,
    LabelSpace,
    TokenTask,
    make_task,
)
from serendip.models.token_task import iob2_viterbi


def ex(text, label=None, pair=None, id=None, **meta):
    return Example(text=text, label=label, text_pair=pair, id=id, source=f"test, {id}", meta=meta)


def test_registered_tasks():
    assert set(TASKS.keys()) >= {"binary", "multiclass", "multilabel", "regression", "token", "pair"}
    for name in TASKS:
        task = make_task(name)
        assert task.loss in ("cross_entropy", "bce_with_logits", "mse")
        assert task.metrics in ("classification", "multilabel", "regression", "token")
        assert task.describe()["name"] == name


def test_label_space_fit_encode_decode_roundtrip():
    space = LabelSpace.fit(["b", "a", "b", ["c"]])
    assert space.classes == ("a", "b", "c")
    assert [space.encode(x) for x in "abc"] == [0, 1, 2]
    assert space.decode(2) == "c"
    assert LabelSpace.from_dict(space.to_dict()) == space
    with pytest.raises(DataError, match="outside"):
        space.decode(3)


def test_unseen_label_names_label_and_example():
    task = make_task("multiclass")
    space = task.fit_labels([ex("x", "a", id="t1"), ex("y", "b", id="t2")])
    with pytest.raises(DataError) as info:
        task.encode([ex("z", "a", id="d1"), ex("w", "zebra", id="dev-7")], space)
    msg = str(info.value)
    assert "'zebra'" in msg and "'dev-7'" in msg and "'a', 'b'" in msg


def test_binary_needs_two_classes_and_positive_label_is_id_1():
    task = make_task("binary")
    with pytest.raises(DataError, match="exactly 2 classes.*found 3"):
        task.fit_labels([ex("a", "x"), ex("b", "y"), ex("c", "z")])
    space = make_task("binary", positive_label="active").fit_labels(
        [ex("a", "inactive"), ex("b", "active")])
    assert space.classes == ("inactive", "active")
    with pytest.raises(DataError, match="positive_label 'yes'"):
        make_task("binary", positive_label="yes").fit_labels([ex("a", "0"), ex("b", "1")])


def test_argmax_over_class_axis():
    task = make_task("multiclass")
    space = LabelSpace(["a", "b", "c"])
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [5.0, 4.0, 9.0], [1.0, 0.0, 0.5]])
    preds = task.predict(logits, space)
    assert preds.labels == ["a", "b", "c", "a"]  # argmax over axis 0 would give 3 values, not 4
    assert preds.scores.shape == (4, 3)
    assert np.allclose(preds.scores.sum(axis=1), 1.0)
    with pytest.raises(DataError, match=r"expects \(n, 3\)"):
        task.predict(logits.T, space)


def test_binary_single_logit_and_evaluate():
    task: BinaryTask = make_task("binary")
    examples = [ex("a", "0"), ex("b", "1"), ex("c", "1"), ex("d", "0")]
    space = task.fit_labels(examples)
    assert task.predict(np.array([-2.0, 3.0]), space).labels == ["0", "1"]
    logits = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0], [0.0, 1.0]])
    m = task.evaluate(examples, logits, space)
    assert m["accuracy"] == 0.5 and "roc_auc" in m and m["mcc"] == pytest.approx(0.0)
    assert task.primary_metric == "mcc"


def test_class_label_parsing():
    task = make_task("multiclass")
    assert task.parse_label(3, ex("x")) == "3"
    assert task.parse_label(2.0, ex("x")) == "2"
    assert task.parse_label(" pos ", ex("x")) == "pos"
    with pytest.raises(DataError, match="0.5 is not a class name"):
        task.parse_label(0.5, ex("x", id="r9"))


def test_pair_needs_text_pair():
    task = make_task("pair")
    task.prepare(ex("a", "entail", pair="b"))
    with pytest.raises(DataError, match="'p3'.*text_pair"):
        task.prepare(ex("a", "entail", id="p3"))


def test_multilabel_parse_encode_predict():
    task = make_task("multilabel", sep=";", threshold=0.5)
    e1, e2 = ex("a", "y; x"), ex("b", ["z"])
    task.prepare(e1), task.prepare(e2)
    assert e1.label == ["x", "y"]
    space = task.fit_labels([e1, e2])
    y = task.encode([e1, e2], space)
    assert y.dtype == np.float32 and y.tolist() == [[1, 1, 0], [0, 0, 1]]
    preds = task.predict(np.array([[3.0, -3.0, 0.1], [-1.0, -1.0, -1.0]]), space)
    assert preds.labels == [["x", "z"], []]
    m = task.evaluate([e1, e2], np.array([[3.0, 3.0, -3.0], [-3.0, -3.0, 3.0]]), space)
    assert m["subset_accuracy"] == 1.0
    with pytest.raises(ConfigError):
        make_task("multilabel", threshold=1.5)


def test_regression_parse_and_predict():
    task = make_task("regression")
    assert task.parse_label(" 3.5 ", ex("x")) == 3.5
    with pytest.raises(DataError, match="'m1'.*'abc' is not a number"):
        task.parse_label("abc", ex("x", id="m1"))
    with pytest.raises(DataError, match="not finite"):
        task.parse_label("nan", ex("x"))
    examples = [ex("a", 1.0), ex("b", 2.0), ex("c", 4.0)]
    assert task.fit_labels(examples) is None and task.num_outputs(None) == 1
    assert task.encode(examples, None).dtype == np.float32
    m = task.evaluate(examples, np.array([[1.0], [2.0], [4.0]]), None)
    assert m["rmse"] == 0.0 and task.greater_is_better is False


def test_token_parse_checks_tags():
    task = make_task("token")
    e = ex("John lives in Paris", "B-PER O O B-LOC", id="s1")
    task.prepare(e)
    assert e.label == ["B-PER", "O", "O", "B-LOC"]
    with pytest.raises(DataError, match="'s2'.*3 tags for 4 tokens"):
        task.prepare(ex("John lives in Paris", "B-PER O O", id="s2"))
    with pytest.raises(DataError, match="token 1: tag 'PER' is not IOB2"):
        task.prepare(ex("John Smith", "B-PER PER", id="s3"))
    pos = make_task("token", scheme=None)
    pos.prepare(ex("a b", "DT NN"))
    assert pos.primary_metric == "token_accuracy"


def test_token_alignment_and_per_token_prediction():
    task = make_task("token")
    e = ex("John lives in Paris", ["B-PER", "O", "O", "B-LOC"])
    space = task.fit_labels([e])
    assert space.classes == ("B-LOC", "B-PER", "O")
    tag_ids = task.encode([e], space)[0]
    # pieces: [CLS] Jo ##hn lives in Par ##is [SEP]
    word_ids = [None, 0, 0, 1, 2, 3, 3, None]
    aligned = TokenTask.align_labels(word_ids, tag_ids)
    assert aligned == [IGNORE_INDEX, 1, IGNORE_INDEX, 2, 2, 0, IGNORE_INDEX, IGNORE_INDEX]
    piece_logits = np.eye(3)[[2, 1, 0, 2, 2, 0, 1, 2]] * 5.0
    words = TokenTask.word_logits(piece_logits, word_ids, n_words=4)
    assert words.shape == (4, 3)
    preds = task.predict([words], space, [e])
    assert preds.labels == [["B-PER", "O", "O", "B-LOC"]]
    # truncated: Paris lost -> NaN row -> predicted "O", costing recall
    trunc = TokenTask.word_logits(piece_logits[:5], word_ids[:5], n_words=4)
    assert np.isnan(trunc[3]).all()
    m = task.evaluate([e], [trunc], space)
    assert m["recall"] == pytest.approx(0.5) and m["precision"] == 1.0
    with pytest.raises(DataError, match="need the examples"):
        task.predict([words], space)


def test_token_decoding_keeps_to_iob2_where_the_argmax_breaks_it():
    classes = ("B-D", "I-D", "O")
    probs = np.array([[0.3, 0.1, 0.6], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7]])  # argmax: O I-D O (ill-formed)
    assert iob2_viterbi(np.log(probs), classes) == ["B-D", "I-D", "O"]  # 0.3*0.7 beats 0.6*0.2 (O O)
    probs[0] = [0.05, 0.05, 0.9]  # now O O (0.9*0.2) beats B-D I-D (0.05*0.7)
    assert iob2_viterbi(np.log(probs), classes) == ["O", "O", "O"]
    assert iob2_viterbi(np.log([[0.1, 0.8, 0.1]]), classes) == ["B-D"]  # no sequence starts with I-
    two = ("B-C", "B-D", "I-C", "I-D", "O")
    # I-D right after B-C is not allowed: the type changes only through B-
    assert iob2_viterbi(np.log([[0.7, 0.1, 0.05, 0.05, 0.1], [0.05, 0.1, 0.05, 0.7, 0.1]]), two) == ["B-C", "B-D"]
    assert iob2_viterbi(np.zeros((0, 5)), two) == []

    e = ex("x y z", ["B-D", "I-D", "O"])
    space = make_task("token").fit_labels([e])
    logits = [np.log(probs)[:, [space.classes.index(c) for c in classes]]]
    assert make_task("token").decoding == "viterbi"
    assert make_task("token", decoding="argmax").predict(logits, space, [e]).labels == [["O", "I-D", "O"]]
    logits[0][2] = np.nan  # a truncated word: O
    assert make_task("token").predict(logits, space, [e]).labels == [["O", "O", "O"]]
    assert make_task("token", scheme=None).decoding == "argmax"
    with pytest.raises(ConfigError, match="decoding must be 'viterbi' or 'argmax'; got 'crf'"):
        make_task("token", decoding="crf")


def test_make_task_errors():
    with pytest.raises(ConfigError, match="unknown task 'nope'"):
        make_task("nope")
    with pytest.raises(ConfigError, match="task 'binary'"):
        make_task("binary", sep=";")
    with pytest.raises(DataError, match="at least 2 classes"):
        make_task("multiclass").fit_labels([ex("a", "x"), ex("b", "x")])
