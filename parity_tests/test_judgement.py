"""Quantized verdicts by what an output means: the cases the elementwise bounds got wrong, on crafted arrays.

The model-level behaviour (task detection on real models, the sample set, real runtimes) is in
test_quantized_verdicts.py.
"""

import numpy as np
import pytest

from toolkit.errors import UsageError
from toolkit.metrics import sqnr_db, top1_agreement, top5_containment
from toolkit.model.tasks import parse_tasks
from toolkit.parity.judgement import CHUNK, in_chunks, joined, judge
from toolkit.parity.tolerances import QUANTIZED_BUDGETS

RNG = np.random.default_rng(0)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def test_sqnr_of_a_known_noise():
    reference = np.ones((100, 10))
    assert sqnr_db(reference, reference * 1.1) == pytest.approx(20.0)
    assert sqnr_db(reference, reference) == float("inf")
    assert sqnr_db(np.zeros(3), np.ones(3)) == float("-inf")


def test_top1_and_top5_count_rows_and_sequence_positions():
    reference = np.array([[0.0, 1.0, 0.5], [2.0, 0.0, 1.0]])
    swapped = np.array([[0.0, 1.0, 0.5], [0.0, 2.0, 1.0]])
    assert top1_agreement(reference, swapped) == 0.5
    assert top5_containment(reference, swapped) == 1.0  # 3 classes: the top 5 holds every class
    sequence = np.stack([reference, reference])  # (2, 2, 3): 4 classifications
    assert top1_agreement(sequence, np.stack([reference, swapped])) == 0.75
    ten = RNG.standard_normal((50, 10))
    shuffled = ten[:, ::-1]
    assert top5_containment(ten, shuffled) < 1.0


def test_a_single_score_is_a_binary_decision():
    probabilities = np.array([[0.2], [0.7], [0.55]])
    assert top1_agreement(probabilities, np.array([[0.4], [0.9], [0.45]])) == pytest.approx(2 / 3)
    logits = np.array([[-1.0], [2.0]])
    assert top1_agreement(logits, np.array([[-0.1], [-0.2]])) == 0.5


def test_tiny_probabilities_with_wrong_answers_fail():
    """The issue's false PASS: 1000-class probabilities of ~1e-3 are within any atol, yet 94% of answers change."""
    logits = RNG.standard_normal((128, 1000)) * 0.5
    reference = _softmax(logits)
    quantized = _softmax(RNG.permuted(logits, axis=-1))  # the same spread of values, other classes on top
    assert np.abs(quantized - reference).max() < 0.15  # the old int8 bound: PASS
    judged = judge({"p": reference}, {"p": quantized}, {"p": "classification"}, QUANTIZED_BUDGETS["int8"])["p"]
    assert not judged.passed and judged.top1_agreement < 0.5 and "top-1 agreement" in judged.failure


def test_logits_that_keep_their_answers_pass_fp16():
    """The issue's false FAIL: logits of about +-5 off by more than 0.01 + 0.01*|ref|, with the same answers."""
    reference = RNG.standard_normal((128, 10)) * 5
    quantized = reference + RNG.standard_normal(reference.shape) * 0.05
    assert (np.abs(quantized - reference) > 0.01 + 0.01 * np.abs(reference)).any()  # the old fp16 bound: FAIL
    judged = judge({"y": reference}, {"y": quantized}, {"y": "classification"}, QUANTIZED_BUDGETS["fp16"])["y"]
    assert judged.passed and judged.top1_agreement >= 0.99 and judged.sqnr_db > 30


def test_regression_and_embedding_outputs_are_judged_by_sqnr():
    reference = RNG.standard_normal((128, 1))
    close, noisy = reference * 1.05, reference + RNG.standard_normal(reference.shape) * 0.5
    budget = QUANTIZED_BUDGETS["int8"]
    assert judge({"y": reference}, {"y": close}, {"y": "regression"}, budget)["y"].passed  # 26 dB
    bad = judge({"y": reference}, {"y": noisy}, {"y": "embedding"}, budget)["y"]
    assert not bad.passed and "SQNR" in bad.failure and bad.top1_agreement is None


def test_nan_fails_whatever_the_task():
    reference = RNG.standard_normal((8, 4))
    got = reference.copy()
    got[0, 0] = np.nan
    judged = judge({"y": reference}, {"y": got}, {"y": "classification"}, QUANTIZED_BUDGETS["fp16"])["y"]
    assert not judged.passed and "NaN" in judged.failure


def test_task_declarations():
    assert parse_tasks(None) == {}
    assert parse_tasks("classification") == {"": "classification"}
    assert parse_tasks("logits=classification, box=regression") == {"logits": "classification", "box": "regression"}
    with pytest.raises(UsageError, match="'detection' is not a task"):
        parse_tasks("detection")


def test_chunks_cover_the_set_in_order():
    feeds = {"x": np.arange(2 * CHUNK + 5)[:, None]}
    chunks = in_chunks(feeds)
    assert [len(c["x"]) for c in chunks] == [CHUNK, CHUNK, 5]
    assert np.array_equal(joined(chunks)["x"], feeds["x"])
