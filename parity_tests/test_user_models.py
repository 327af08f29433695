"""A user's own .keras file with a custom layer: export to every target and prove parity, end to end."""

import json
import sys
import textwrap

import numpy as np
import pytest

from toolkit.cli import main
from toolkit.errors import EXIT_OK, EXIT_PARITY_FAILED, EXIT_USAGE

USER_LAYERS = textwrap.dedent('''
    import keras
    from keras import ops


    @keras.saving.register_keras_serializable(package="user_layers")
    class GatedDense(keras.layers.Layer):
        """units outputs: tanh(x W) * sigmoid(x V), a layer nobody in the toolkit wrote."""

        def __init__(self, units=8, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="w")
            self.v = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="v")

        def call(self, x):
            return ops.tanh(ops.matmul(x, self.w)) * ops.sigmoid(ops.matmul(x, self.v))

        def get_config(self):
            return {**super().get_config(), "units": self.units}
''')


@pytest.fixture(scope="module")
def user_model(tmp_path_factory):
    """(path of the .keras file, path of the custom-objects file), as a user would have them."""
    import keras

    from toolkit.model.loading import import_custom_objects

    folder = tmp_path_factory.mktemp("user")
    layers_file = folder / "my_layers.py"
    layers_file.write_text(USER_LAYERS)
    import_custom_objects(layers_file)
    gated_dense = sys.modules["toolkit_user_objects_my_layers"].GatedDense
    keras.utils.set_random_seed(3)
    inputs = keras.Input((12,), name="sensor")
    x = gated_dense(16, name="gate")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="label")(x)
    model = keras.Model(inputs, outputs, name="user_model")
    path = folder / "user_model.keras"
    model.save(path)
    return path, layers_file


def test_export_all_targets(user_model, tmp_path, capsys):
    path, layers_file = user_model
    argv = ["export", "--model", str(path), "--custom-objects", str(layers_file), "--target", "all", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK, capsys.readouterr()
    produced = sorted(p.name for p in (tmp_path / "user_model").iterdir() if not p.name.startswith("."))
    assert produced == ["onnx", "saved_model", "tfjs", "tflite"]
    manifest = json.loads((tmp_path / "user_model" / "tflite" / "manifest.json").read_text())
    assert manifest["signature"]["inputs"][0]["name"] == "sensor"
    assert manifest["signature"]["outputs"][0]["name"] == "label"


def test_parity_end_to_end_with_json(user_model, tmp_path, capsys):
    path, layers_file = user_model
    calibration = tmp_path / "calibration.npz"
    np.savez(calibration, sensor=np.random.default_rng(0).standard_normal((16, 12)).astype("float32"))
    report = tmp_path / "parity.json"
    markdown = tmp_path / "parity.md"
    argv = ["parity", "--model", str(path), "--custom-objects", str(layers_file), "--out", str(tmp_path / "art"),
            "--calibration", str(calibration), "--runtime", "tf_savedmodel,litert,onnxruntime,tfjs-node",
            "--json", str(report), "--markdown", str(markdown)]
    code = main(argv)
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    results = json.loads(report.read_text())["results"]
    keys = {"model", "target", "quantization", "runtime", "batch", "passed", "max_abs_err", "max_rel_err",
            "mean_abs_err", "p99_abs_err", "cosine", "top1_agreement", "error"}
    assert all(keys <= set(r) for r in results)
    seen = {(r["target"], r["quantization"], r["runtime"]) for r in results}
    assert ("tflite", "int8", "litert") in seen and ("tfjs", "none", "tfjs-node-wasm") in seen
    assert {r["batch"] for r in results} == {1, 4}
    assert all(r["passed"] for r in results)
    assert "| user_model | onnx | none | onnxruntime | 4 |" in markdown.read_text()


def test_user_model_int8_without_calibration_says_how_to_fix(user_model, tmp_path, capsys):
    """Asked for int8 alone: nothing can be made, a usage error naming --calibration, nothing written."""
    path, layers_file = user_model
    argv = ["export", "--model", str(path), "--custom-objects", str(layers_file), "--target", "tflite",
            "--quantize", "int8", "--out", str(tmp_path)]
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--calibration" in err and err.count("\n") == 1
    assert not (tmp_path / "user_model" / "tflite-int8").exists()


def test_export_all_without_calibration_skips_int8_then_adds_it(user_model, tmp_path, capsys):
    """--quantize all without --calibration: everything else is exported and int8's and int16x8's skips are one
    line each; adding --calibration later exports those two and reuses the rest (the option only concerns them)."""
    path, layers_file = user_model
    argv = ["export", "--model", str(path), "--custom-objects", str(layers_file), "--target", "all",
            "--quantize", "all", "--out", str(tmp_path)]
    assert main(argv) == EXIT_OK
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if line.startswith("skipped")]
    assert len(skipped) == 3 and all("--calibration" in line for line in skipped), out
    names = ("tflite-int8:", "tflite-int16x8:", "onnx-int8:")
    assert all(any(name in line for line in skipped) for name in names), out
    assert out.count("exported ") == 10
    calibration = tmp_path / "calibration.npz"
    np.savez(calibration, sensor=np.random.default_rng(0).standard_normal((16, 12)).astype("float32"))
    assert main([*argv, "--calibration", str(calibration)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("up to date") == 10 and out.count("exported ") == 3, out
    assert all(name in out for name in ("tflite-int8", "tflite-int16x8", "onnx-int8")), out


def test_parity_with_inputs_file_and_failing_exit_code(user_model, tmp_path, capsys):
    """--inputs feeds the comparison; NaN in it is a usage error; a real parity failure exits 1."""
    path, layers_file = user_model
    inputs = tmp_path / "inputs.npz"
    feeds = np.ones((3, 12), dtype="float32")
    np.savez(inputs, sensor=feeds)
    base = ["parity", "--model", str(path), "--custom-objects", str(layers_file), "--out", str(tmp_path / "art")]
    onnx = [*base, "--target", "onnx", "--runtime", "onnxruntime", "--inputs", str(inputs)]
    assert main(onnx) == EXIT_OK
    assert "| 3 " in capsys.readouterr().out.replace("│", "|")
    feeds[0, 0] = np.nan
    np.savez(inputs, sensor=feeds)
    assert main(onnx) == EXIT_USAGE
    assert "input 'sensor' has 1 NaN or infinite value(s)" in capsys.readouterr().err
    # int8 calibrated on zeros, then fed inputs ten times wider than N(0, 1): activations saturate.
    zeros, wide = tmp_path / "zeros.npz", tmp_path / "wide.npz"
    np.savez(zeros, sensor=np.zeros((8, 12), "float32"))
    np.savez(wide, sensor=(np.random.default_rng(1).standard_normal((4, 12)) * 10).astype("float32"))
    int8 = [*base, "--target", "tflite", "--quantize", "int8", "--runtime", "litert", "--calibration", str(zeros)]
    assert main([*int8, "--inputs", str(wide)]) == EXIT_PARITY_FAILED
    assert "FAIL user_model tflite-int8 litert" in capsys.readouterr().out


def test_relative_out_folder_works_in_out_of_process_runtimes(user_model, tmp_path, monkeypatch, capsys):
    """Node runs in its own working directory: artifact paths must reach it absolute (a `make run` bug)."""
    path, layers_file = user_model
    monkeypatch.chdir(tmp_path)
    argv = ["parity", "--model", str(path), "--custom-objects", str(layers_file), "--out", "relative-art",
            "--target", "tfjs", "--quantize", "none", "--runtime", "tfjs-node"]
    assert main(argv) == EXIT_OK, capsys.readouterr().out
