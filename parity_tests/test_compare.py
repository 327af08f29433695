"""Unit tests of the comparison on crafted arrays: names, shapes, NaN, and the bound's edges."""

import numpy as np
import pytest

from toolkit.parity.compare import compare_outputs
from toolkit.parity.tolerances import (
    DEFAULT_FLOAT32,
    QUANTIZED_BUDGETS,
    QuantizedBudget,
    Tolerance,
    budget_for,
    tolerance_for,
)

REF = {"probabilities": np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], dtype=np.float32)}
TOL = {"probabilities": DEFAULT_FLOAT32}


def test_identical_outputs_pass_with_zero_error():
    result = compare_outputs(REF, {k: v.copy() for k, v in REF.items()}, TOL)
    assert result and result.passed
    (stats,) = result.outputs
    assert stats.max_abs_err == 0 and stats.cosine == pytest.approx(1.0)


def test_error_just_inside_the_bound_passes():
    ref = np.array([[1.0, -2.0, 0.0]])
    bound = DEFAULT_FLOAT32.atol + DEFAULT_FLOAT32.rtol * np.abs(ref)
    got = ref + 0.99 * bound
    assert compare_outputs({"y": ref}, {"y": got}, {"y": DEFAULT_FLOAT32})


def test_error_just_outside_the_bound_fails_and_names_the_output():
    ref = np.array([[1.0, -2.0, 0.0]])
    bound = DEFAULT_FLOAT32.atol + DEFAULT_FLOAT32.rtol * np.abs(ref)
    got = ref.copy()
    got[0, 2] += 1.01 * bound[0, 2]
    result = compare_outputs({"y": ref}, {"y": got}, {"y": DEFAULT_FLOAT32})
    assert not result
    assert "'y'" in result.errors[0] and "exceeds" in result.errors[0]
    assert result.outputs[0].max_abs_err == pytest.approx(1.01 * bound[0, 2])


def test_nan_is_a_failure_with_its_own_message():
    got = {"probabilities": REF["probabilities"].copy()}
    got["probabilities"][0, 0] = np.nan
    result = compare_outputs(REF, got, TOL)
    assert not result
    assert result.outputs[0].non_finite
    assert any("NaN or Inf" in e for e in result.errors)


def test_inf_is_a_failure_even_with_a_huge_tolerance():
    got = {"probabilities": np.full_like(REF["probabilities"], np.inf)}
    result = compare_outputs(REF, got, {"probabilities": Tolerance(1e9, 1e9, "test")})
    assert not result and any("NaN or Inf" in e for e in result.errors)


def test_shape_mismatch_is_reported_not_broadcast():
    got = {"probabilities": REF["probabilities"][:1]}
    result = compare_outputs(REF, got, TOL)
    assert not result
    assert "shape (1, 3)" in result.errors[0] and "(2, 3)" in result.errors[0]


def test_renamed_output_is_reported_as_missing_and_unexpected():
    got = {"output_0": REF["probabilities"]}
    result = compare_outputs(REF, got, TOL)
    assert not result
    joined = " ".join(result.errors)
    assert "'probabilities' is missing" in joined and "unexpected output 'output_0'" in joined


def test_statistics_are_computed_per_output():
    ref = {"a": np.zeros((4, 2)), "b": np.ones((4, 2))}
    got = {"a": np.full((4, 2), 0.5), "b": np.ones((4, 2))}
    tolerances = {"a": DEFAULT_FLOAT32, "b": DEFAULT_FLOAT32}
    result = compare_outputs(ref, got, tolerances)
    by_name = {o.name: o for o in result.outputs}
    assert not by_name["a"].passed and by_name["b"].passed
    assert by_name["a"].mean_abs_err == pytest.approx(0.5) and by_name["a"].p99_abs_err == pytest.approx(0.5)
    assert result.worst("max_abs_err") == pytest.approx(0.5)


def test_classification_outputs_report_top1_and_top5_without_changing_the_float32_verdict():
    result = compare_outputs(REF, {k: v.copy() for k, v in REF.items()}, TOL, {"probabilities": "classification"})
    (stats,) = result.outputs
    assert result and stats.top1_agreement == 1.0 and stats.top5_containment == 1.0 and stats.sqnr_db == float("inf")


def test_without_a_tolerance_only_nan_fails():
    """Quantized artifacts: no elementwise rule (judgement.py decides), but NaN is never a pass."""
    far = {"probabilities": REF["probabilities"] + 1.0}
    assert compare_outputs(REF, far, None)
    nan = {"probabilities": np.full_like(REF["probabilities"], np.nan)}
    assert not compare_outputs(REF, nan, None)


def test_tolerance_lookup_prefers_overrides():
    loose = Tolerance(1e-2, 1e-2, "why")
    assert tolerance_for("y") == DEFAULT_FLOAT32
    assert tolerance_for("y", {"y": loose}) == loose
    assert tolerance_for("z", {"": loose}) == loose


def test_budget_lookup_prefers_the_model_then_the_mode_and_the_command_line_wins():
    mine = QuantizedBudget(0.9, 10.0, "why")
    assert budget_for("int8") == QUANTIZED_BUDGETS["int8"]
    assert budget_for("int8", {"int8": mine}) == mine
    given = budget_for("fp16", {"fp16": mine}, min_top1=0.5)
    assert (given.min_top1, given.min_sqnr_db) == (0.5, 10.0)
    assert budget_for("fp16", min_sqnr_db=12.0).min_top1 == QUANTIZED_BUDGETS["fp16"].min_top1


def test_default_float32_bound_is_no_looser_than_the_issue_requires():
    assert DEFAULT_FLOAT32.atol <= 1e-4 and DEFAULT_FLOAT32.rtol <= 1e-3
