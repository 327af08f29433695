"""Bad input: one clear line on stderr, exit code 2, nothing written. Each case is a regression test."""

import shutil

import numpy as np
import pytest

from toolkit.cli import main
from toolkit.errors import EXIT_USAGE


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err.strip(), captured.out


def assert_one_line_error(code, err, *fragments):
    assert code == EXIT_USAGE, err
    assert err.startswith("toolkit: error: ") and "\n" not in err, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"


@pytest.fixture
def out(tmp_path):
    """An output folder that must stay empty."""
    folder = tmp_path / "out"
    yield folder
    assert not folder.exists() or not any(folder.rglob("*")), "something was written despite the error"


@pytest.fixture(scope="module")
def small_keras(tmp_path_factory, loaded_models):
    """A real .keras file to damage."""
    path = tmp_path_factory.mktemp("keras") / "digits.keras"
    shutil.copy(loaded_models["digits"].path, path)
    return path


def save_model(path, layer):
    import keras

    inputs = keras.Input((3,), name="x")
    keras.Model(inputs, layer(inputs)).save(path)
    return path


def test_missing_model_path(capsys, out):
    code, err, _ = run_cli(capsys, "export", "--model", "/nonexistent/model.keras", "--out", str(out))
    assert_one_line_error(code, err, "does not exist", "toolkit list")


def test_file_that_is_not_a_keras_archive(capsys, out, tmp_path):
    text = tmp_path / "notes.keras"
    text.write_text("not a zip")
    code, err, _ = run_cli(capsys, "export", "--model", str(text), "--out", str(out))
    assert_one_line_error(code, err, "not a valid .keras archive")
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"\x89HDF")
    code, err, _ = run_cli(capsys, "export", "--model", str(h5), "--out", str(out))
    assert_one_line_error(code, err, "not a .keras file", "model.save")


def test_truncated_keras(capsys, out, small_keras, tmp_path):
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(small_keras.read_bytes()[: small_keras.stat().st_size // 2])
    code, err, _ = run_cli(capsys, "export", "--model", str(truncated), "--out", str(out))
    assert_one_line_error(code, err, "truncated")


def test_unregistered_custom_layer_names_class_and_flag(capsys, out, tmp_path):
    import keras

    @keras.saving.register_keras_serializable(package="ghost_pkg")
    class GhostLayer(keras.layers.Layer):
        def call(self, x):
            return x * 2.0

    path = save_model(tmp_path / "ghost.keras", GhostLayer(name="ghost"))
    del keras.saving.get_custom_objects()["ghost_pkg>GhostLayer"]  # as in a fresh process
    code, err, _ = run_cli(capsys, "export", "--model", str(path), "--out", str(out))
    assert_one_line_error(code, err, "GhostLayer", "--custom-objects")


def test_custom_layer_that_cannot_be_recreated(capsys, out, tmp_path):
    import keras

    @keras.saving.register_keras_serializable(package="forgetful_pkg")
    class ForgetfulLayer(keras.layers.Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):  # forgets `factor`: the layer cannot be rebuilt from it
            return super().get_config()

    path = save_model(tmp_path / "forgetful.keras", ForgetfulLayer(3.0, name="forgetful"))
    code, err, _ = run_cli(capsys, "export", "--model", str(path), "--out", str(out))
    assert_one_line_error(code, err, "ForgetfulLayer", "factor", "get_config")


def test_lambda_layer_refused_in_safe_mode_and_allowed_with_unsafe(capsys, out, tmp_path):
    import keras

    path = save_model(tmp_path / "lambda.keras", keras.layers.Lambda(lambda t: t * 3.0, name="triple"))
    code, err, _ = run_cli(capsys, "export", "--model", str(path), "--out", str(out))
    assert_one_line_error(code, err, "Lambda layer triple", "--unsafe")
    allowed = tmp_path / "allowed"
    assert main(["export", "--model", str(path), "--unsafe", "--out", str(allowed)]) == 0
    assert (allowed / "lambda" / "saved_model" / "manifest.json").is_file()


@pytest.mark.parametrize(
    "argv, fragments",
    [
        (["export", "--model", "digits", "--target", "coreml"], ["unknown target coreml", "tflite"]),
        (["export", "--model", "digits", "--target", "tflite", "--quantize", "int4"], ["unknown quantization int4", "int8"]),
        (["export", "--model", "digits", "--target", "tfjs", "--quantize", "int8"], ["--quantize int8 applies to none of tfjs"]),
        (["parity", "--model", "digits", "--runtime", "tensorrt"], ["unknown runtime tensorrt", "litert"]),
        (["export", "--model", "digitz"], ["'digitz' is neither", "did you mean digits"]),
        (["export", "--model", "sequental_mlp"], ["did you mean sequential_mlp"]),
    ],
    ids=["target", "quantization", "quantization-for-target", "runtime", "model-name", "model-name-typo"],
)
def test_unknown_names(capsys, out, argv, fragments):
    code, err, _ = run_cli(capsys, *argv, "--out", str(out))
    assert_one_line_error(code, err, *fragments)


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        ({"pixel": np.zeros((2, 64), "float32")}, "input 'pixels' is missing"),
        ({"pixels": np.zeros((2, 63), "float32")}, "has shape (2, 63), expected ('batch', 64)"),
        ({"pixels": np.zeros((2, 64), "float64")}, "has dtype float64, expected float32"),
    ],
    ids=["missing-name", "wrong-shape", "wrong-dtype"],
)
@pytest.mark.parametrize("flag", ["--inputs", "--calibration"])
def test_bad_inputs_file(capsys, out, tmp_path, arrays, fragment, flag):
    """The same checks for both input files; a bad --calibration is refused before any export (exit 2, not 3)."""
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, **arrays)
    report = tmp_path / "parity.json"
    code, err, _ = run_cli(capsys, "parity", "--model", "digits", "--target", "tflite", "--quantize", "int8", flag,
                           str(inputs), "--json", str(report), "--out", str(out))
    assert_one_line_error(code, err, fragment)
    assert not report.exists()


@pytest.mark.parametrize(
    "arrays, fragment",
    [
        ({"pixels": np.zeros((0, 64), "float32")}, "holds 0 samples"),
        ({"pixels": np.array([[np.nan] * 64, [0.0] * 64], "float32")}, "input 'pixels' has 64 NaN or infinite value(s)"),
        ({"pixels": np.array([[np.inf] + [0.0] * 63], "float32")}, "input 'pixels' has 1 NaN or infinite value(s)"),
    ],
    ids=["no-samples", "nan", "inf"],
)
@pytest.mark.parametrize("flag", ["--inputs", "--calibration"])
def test_empty_or_non_finite_input_files(capsys, out, tmp_path, arrays, fragment, flag):
    """Regression: 0 calibration samples or NaN wrote a float32 model labelled int8 that passed parity;
    0 --inputs rows passed with nothing compared; NaN inputs gave exit 1 and numpy warnings."""
    inputs = tmp_path / "samples.npz"
    np.savez(inputs, **arrays)
    code, err, _ = run_cli(capsys, "parity", "--model", "digits", "--target", "tflite", "--quantize", "int8", flag,
                           str(inputs), "--out", str(out))
    assert_one_line_error(code, err, flag, fragment)


def test_custom_objects_that_is_not_python(capsys, out, tmp_path):
    """Regression: a layers.txt gave an AttributeError traceback."""
    notes = tmp_path / "layers.txt"
    notes.write_text("class GatedDense: ...")
    code, err, _ = run_cli(capsys, "export", "--model", "digits", "--custom-objects", str(notes), "--out", str(out))
    assert_one_line_error(code, err, "is not a Python file", ".py")


@pytest.mark.parametrize("config, fragment", [
    ({"foo": 1}, "it has no 'class_name'"),
    ({"class_name": "Functional", "config": {"layers": "oops"}}, "its 'layers' is str, not a list"),
    ([1, 2], "the top level is a list"),
], ids=["no-class-name", "layers-not-a-list", "not-an-object"])
def test_config_json_with_a_wrong_schema(capsys, out, tmp_path, small_keras, config, fragment):
    """Regression: a valid JSON config of the wrong shape was reported as an unregistered custom class."""
    import json
    import zipfile

    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(small_keras) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = json.dumps(config).encode() if item.filename == "config.json" else source.read(item.filename)
            target.writestr(item, data)
    code, err, _ = run_cli(capsys, "export", "--model", str(broken), "--out", str(out))
    assert_one_line_error(code, err, "not a Keras model config", fragment, "model.save")


def test_runtime_that_runs_none_of_the_targets(capsys, out):
    """Regression: `parity --target onnx --runtime litert` exported, compared nothing and exited 0."""
    code, err, _ = run_cli(capsys, "parity", "--model", "digits", "--target", "onnx", "--runtime", "litert", "--out", str(out))
    assert_one_line_error(code, err, "runs none of the onnx artifacts", "onnxruntime")


def test_debug_after_the_command_and_version(capsys, out):
    from toolkit import __version__
    from toolkit.errors import ModelLoadError

    with pytest.raises(ModelLoadError):
        main(["export", "--model", "/nonexistent/model.keras", "--out", str(out), "--debug"])
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"toolkit {__version__}"


def test_inputs_file_that_is_not_npz(capsys, out, tmp_path):
    inputs = tmp_path / "inputs.npz"
    inputs.write_text("1,2,3")
    code, err, _ = run_cli(capsys, "parity", "--model", "digits", "--inputs", str(inputs), "--out", str(out))
    assert_one_line_error(code, err, "not a readable .npz")


def test_output_folder_that_cannot_be_written(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, err, _ = run_cli(capsys, "export", "--model", "digits", "--out", str(blocker / "sub"))
    assert_one_line_error(code, err, "is not a folder", "--out")
    code, err, _ = run_cli(capsys, "export", "--model", "digits", "--out", "/proc/toolkit-out")
    assert_one_line_error(code, err, "cannot write to /proc/toolkit-out")
    assert blocker.read_text() == "x"


def test_report_path_that_cannot_be_written_fails_before_any_export(capsys, out, tmp_path):
    code, err, _ = run_cli(capsys, "parity", "--model", "digits", "--json", "/proc/x/parity.json", "--out", str(out))
    assert_one_line_error(code, err, "cannot write to /proc/x")


def test_existing_artifact_is_not_overwritten_without_force(capsys, tmp_path, small_keras):
    first = main(["export", "--model", "digits", "--out", str(tmp_path)])
    assert first == 0
    manifest = tmp_path / "digits" / "saved_model" / "manifest.json"
    before = manifest.read_bytes()
    copy = tmp_path / "digits.keras"  # same name, different source file contents
    shutil.copy(small_keras, copy)
    with open(copy, "ab") as handle:
        handle.write(b"\0")  # zip comment-free trailing byte: a different sha256, still loadable
    capsys.readouterr()
    code, err, _ = run_cli(capsys, "export", "--model", str(copy), "--out", str(tmp_path))
    assert_one_line_error(code, err, "--force")
    assert manifest.read_bytes() == before
    assert main(["export", "--model", str(copy), "--out", str(tmp_path), "--force"]) == 0
    assert manifest.read_bytes() != before


def test_debug_flag_shows_the_traceback(capsys, out):
    from toolkit.errors import ModelLoadError

    with pytest.raises(ModelLoadError):
        main(["--debug", "export", "--model", "/nonexistent/model.keras", "--out", str(out)])
