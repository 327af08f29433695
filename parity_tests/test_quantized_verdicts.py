"""Quantized artifacts of a user's own classifier judged by meaning, in LiteRT: the task is detected (or
declared), the verdict comes from a sample set (--inputs, else --calibration, else generated), and every
quantized row reports top-1, top-5, SQNR and cosine. The rules themselves are unit-tested in test_judgement.py.
"""

import numpy as np
import pytest

from toolkit import api
from toolkit.cli import main
from toolkit.errors import EXIT_USAGE
from toolkit.parity.judgement import JUDGEMENT_SAMPLES, VerdictSettings


@pytest.fixture(scope="module")
def user_classifier(tmp_path_factory):
    """A .keras digits classifier trained briefly (a user's file, not a reference model), and held-out digits."""
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    keras.utils.set_random_seed(5)
    inputs = keras.Input((8, 8, 1), name="pixels")
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.Flatten(name="flat")(x)
    outputs = keras.layers.Dense(10, name="logits")(x)
    model = keras.Model(inputs, outputs, name="user_digits")
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(images[:1200], digits.target[:1200], epochs=3, batch_size=64, verbose=0)
    folder = tmp_path_factory.mktemp("user_digits")
    path = folder / "user_digits.keras"
    model.save(path)
    held_out = folder / "held_out.npz"
    np.savez(held_out, pixels=images[1400:1600])
    calibration = folder / "calibration.npz"
    np.savez(calibration, pixels=images[1200:1264])
    return path, held_out, calibration


def _rows(path, tmp_path, quantizations, **kwargs):
    return api.check_parity(str(path), ["tflite"], quantizations, ["litert"], tmp_path / "artifacts", **kwargs)


def test_user_classifier_is_judged_by_top1_on_a_sample_set(user_classifier, tmp_path):
    path, _, _ = user_classifier
    rows = _rows(path, tmp_path, ["fp16", "dynamic"])
    assert rows and all(row.passed for row in rows), [row.error for row in rows]
    for row in rows:
        assert row.per_output["logits"]["task"] == "classification"
        assert row.top1_agreement >= 0.97 and row.top5_containment >= row.top1_agreement
        assert row.sqnr_db > 20 and row.cosine > 0.99
        assert row.judged_on.startswith(f"{JUDGEMENT_SAMPLES} samples")


def test_declared_task_switches_to_sqnr(user_classifier, tmp_path):
    path, _, _ = user_classifier
    rows = _rows(path, tmp_path, ["fp16"], verdict=VerdictSettings({"logits": "regression"}))
    assert all(row.per_output["logits"]["task"] == "regression" and row.top1_agreement is None for row in rows)
    strict = _rows(path, tmp_path, ["fp16"], verdict=VerdictSettings(min_sqnr_db=500.0),
                   )  # the classifier is still judged by top-1: the SQNR budget does not apply to it
    assert all(row.passed for row in strict)
    impossible = _rows(path, tmp_path, ["fp16"], verdict=VerdictSettings({"": "embedding"}, min_sqnr_db=500.0))
    assert not any(row.passed for row in impossible)
    assert all("SQNR" in row.error and "< 500 dB" in row.error for row in impossible)


def test_inputs_then_calibration_are_the_judgement_set(user_classifier, tmp_path):
    path, held_out, calibration = user_classifier
    rows = _rows(path, tmp_path, ["int8"], inputs=held_out, options={"calibration": calibration})
    assert all(row.judged_on == "--inputs file (200 samples)" for row in rows)
    assert all(row.top1_agreement is not None for row in rows)
    rows = _rows(path, tmp_path, ["int8"], options={"calibration": calibration})
    assert all(row.judged_on == "--calibration set (64 samples)" for row in rows)


def test_float32_rows_keep_the_elementwise_rule_and_report_top1(user_classifier, tmp_path):
    path, _, _ = user_classifier
    rows = _rows(path, tmp_path, ["none"])
    assert all(row.passed and row.judged_on is None and row.top1_agreement == 1.0 for row in rows)


def test_wrong_task_declarations_are_usage_errors_before_any_export(user_classifier, tmp_path, capsys):
    path, _, _ = user_classifier
    out = tmp_path / "artifacts"
    code = main(["parity", "--model", str(path), "--target", "tflite", "--quantize", "fp16", "--runtime", "litert",
                 "--out", str(out), "--task", "boxes=regression"])
    assert code == EXIT_USAGE and not out.exists()
    assert "--task names output(s) boxes that user_digits does not have; its outputs: logits" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # argparse's own check of the option
        main(["parity", "--model", str(path), "--out", str(out), "--min-top1", "1.5"])
    assert exit_info.value.code == EXIT_USAGE and "is not a share between 0 and 1" in capsys.readouterr().err
    code = main(["export", "--model", str(path), "--target", "tflite", "--quantize", "auto", "--out", str(out),
                 "--task", "detection"])  # export's --task steers the searched modes, checked the same way
    assert code == EXIT_USAGE and not out.exists()
    assert "--task: 'detection' is not a task" in capsys.readouterr().err
