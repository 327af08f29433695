"""TFLite `int8-selective` and `auto`: measured per-op sensitivity, the budget, and what the manifest records.

The model: a 64 -> 256 -> 256 -> 10 softmax classifier whose first input feature spans +-900 while the
others are N(0, 1) and carry the answer. Plain int8 calibrates one scale per tensor over that range and
loses the answer (top-1 agreement 0.125 measured); the selective search must find ops to keep in float
and reach the budget, still at int8's size.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from exporters.tflite_measure import Budget, measure, run_tflite
from toolkit.export.layout import plan_exports

FEATURES = 64
OUTLIER_SCALE = 300.0  # the first feature's standard deviation
SAMPLES = 64  # --calibration samples; the last 16 are never calibrated on (the search judges on all 64)
MODES = ("none", "int8", "int8-selective", "auto", "fp16")


def _outlier_model():
    import keras

    keras.utils.set_random_seed(7)
    inputs = keras.Input((FEATURES,), name="features")
    x = keras.layers.Dense(256, activation="relu", name="hidden_1")(inputs)
    x = keras.layers.Dense(256, activation="relu", name="hidden_2")(x)
    scores = keras.layers.Dense(10, activation="softmax", name="scores")(x)
    model = keras.Model(inputs, scores)
    kernel, bias = model.get_layer("hidden_1").get_weights()
    kernel[0] *= 1e-4  # the wide feature barely matters to the answer, but it sets int8's input scale
    model.get_layer("hidden_1").set_weights([kernel, bias])
    return model


@pytest.fixture(scope="session")
def outlier_exports(tmp_path_factory):
    """Model path, calibration feeds and {quantization: artifact folder}, exported once."""
    from toolkit import api

    folder = tmp_path_factory.mktemp("selective")
    _outlier_model().save(folder / "outlier.keras")
    features = np.random.default_rng(0).standard_normal((SAMPLES, FEATURES)).astype("float32")
    features[:, 0] *= OUTLIER_SCALE
    np.savez(folder / "calibration.npz", features=features)
    results = api.export(folder / "outlier.keras", ["tflite"], list(MODES), folder / "artifacts",
                         options={"calibration": str(folder / "calibration.npz")})
    assert not [r.error for r in results if r.error]
    return {r.quantization: r.path for r in results}, features


def _manifest(path) -> dict:
    return json.loads((path / "manifest.json").read_text())


def _agreement(artifacts, features, quantization) -> float:
    """Top-1 agreement with the float .tflite on the held-out quarter of the calibration samples."""
    held_out = [{"features": row[None]} for row in features[-SAMPLES // 4:]]
    reference = run_tflite((artifacts["none"] / "model.tflite").read_bytes(), held_out)
    got = run_tflite((artifacts[quantization] / "model.tflite").read_bytes(), held_out)
    return measure(reference, got, Budget({name: "classification" for name in reference})).value


def test_int8_selective_keeps_measured_ops_in_float_and_beats_int8(outlier_exports):
    artifacts, features = outlier_exports
    report = _manifest(artifacts["int8-selective"])["quantization_report"]
    assert report["float_ops"], "plain int8 misses the budget here, so some op must compute in float"
    assert all({"op", "type", "snr_drop_db"} <= set(op) for op in report["float_ops"])
    assert report["measurement"]["metric"] == "top1_agreement" and report["measurement"]["passed"]
    int8, selective = _agreement(artifacts, features, "int8"), _agreement(artifacts, features, "int8-selective")
    assert int8 < 0.9 <= 0.99 <= selective, (int8, selective)
    assert selective == pytest.approx(report["measurement"]["value"], abs=1e-3)


def test_int8_selective_stays_at_int8_size(outlier_exports):
    artifacts, _ = outlier_exports
    size = {q: (artifacts[q] / "model.tflite").stat().st_size for q in MODES}
    assert size["int8-selective"] < size["fp16"]
    assert size["int8-selective"] <= 0.3 * size["none"]
    assert _manifest(artifacts["int8-selective"])["quantization_report"]["size_ratio"] <= 0.3


def test_auto_records_every_candidate_and_writes_the_smallest_passing(outlier_exports):
    artifacts, _ = outlier_exports
    manifest = _manifest(artifacts["auto"])
    report = manifest["quantization_report"]
    tried = {c["quantization"]: c for c in report["candidates"]}
    assert list(tried)[0] == "int8" and not tried["int8"]["passed"]
    assert report["chosen"] == "int8-selective" and tried["int8-selective"]["passed"]
    assert (artifacts["auto"] / "model.tflite").stat().st_size == tried["int8-selective"]["size_bytes"]
    assert all({"size_bytes", "size_ratio", "metric", "value", "passed"} <= set(c) for c in tried.values())
    assert report["why"] and "judged_on" in report and manifest["options"]["min_top1"] == 0.99
    assert any("auto chose int8-selective" in note for note in manifest["notes"])


def test_a_lower_budget_lets_auto_choose_plain_int8(outlier_exports, tmp_path):
    from toolkit import api

    artifacts, features = outlier_exports
    np.savez(tmp_path / "calibration.npz", features=features)
    model = artifacts["none"].parent.parent.parent / "outlier.keras"
    (result,) = api.export(model, ["tflite"], ["auto"], tmp_path / "artifacts",
                           options={"calibration": str(tmp_path / "calibration.npz"), "min_top1": 0.1})
    report = _manifest(result.path)["quantization_report"]
    assert report["chosen"] == "int8" and [c["quantization"] for c in report["candidates"]] == ["int8"]


def test_regression_outputs_are_judged_by_sqnr():
    reference = {"y": np.linspace(-1, 1, 32, dtype="float32")[:, None]}
    close = measure(reference, {"y": reference["y"] + 0.01}, Budget({"y": "regression"}))
    far = measure(reference, {"y": reference["y"] + 0.5}, Budget({"y": "regression"}))
    assert close.metric == far.metric == "min_sqnr_db"
    assert close.passed and not far.passed


def test_quantize_all_leaves_the_searches_out():
    everything = {q for _, q in plan_exports(["tflite"], ["all"])}
    assert "int8" in everything and not {"int8-selective", "auto"} & everything
    assert {q for _, q in plan_exports(["tflite"], ["auto", "int8-selective"])} == {"auto", "int8-selective"}


def test_the_search_finds_the_fewest_float_ops_and_stops_at_the_size_cap():
    from exporters.tflite_selective import _fewest_passing

    asked = []

    def passes_from(threshold, cap=None):
        def attempt(k):
            asked.append(k)
            return None if cap is not None and k > cap else k >= threshold
        return attempt

    assert _fewest_passing(passes_from(5), 20) == 5 and asked == [0, 1, 2, 4, 8, 6, 5]
    assert _fewest_passing(passes_from(0), 20) == 0
    assert _fewest_passing(passes_from(99), 20) is None
    asked.clear()
    assert _fewest_passing(passes_from(10, cap=3), 20) is None and asked == [0, 1, 2, 4]


def test_min_top1_must_be_a_share(loaded_models):
    from exporters.tflite_measure import budget_from
    from toolkit.errors import UsageError

    digits = loaded_models["digits"]
    assert budget_from({}, digits).min_top1 == 0.99 and budget_from({"min_top1": 0.5}, digits).min_top1 == 0.5
    with pytest.raises(UsageError, match="min_top1"):
        budget_from({"min_top1": 1.5}, digits)


def test_the_searches_judge_outputs_by_the_tasks_parity_uses(loaded_models):
    """The same task detection as parity's verdicts (toolkit/model/tasks.py), and the same --task override:
    a search must not stop at a candidate that parity then judges by another rule."""
    from exporters.tflite_measure import budget_from
    from toolkit.model.tasks import output_tasks

    digits = loaded_models["digits"]
    assert budget_from({}, digits).tasks == output_tasks(digits) == {"probabilities": "classification"}
    declared = budget_from({"task": "regression"}, digits)
    assert declared.tasks == {"probabilities": "regression"}
    reference = {"probabilities": np.eye(10, dtype="float32")[np.arange(32) % 10] * 0.9 + 0.01}
    shifted = {"probabilities": reference["probabilities"] + 0.02}  # same answers, 1/10 of the signal as noise
    assert measure(reference, shifted, budget_from({}, digits)).metric == "top1_agreement"
    assert measure(reference, shifted, declared).metric == "min_sqnr_db"
