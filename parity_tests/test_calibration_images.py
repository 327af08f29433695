"""--calibration DIR / --inputs DIR: a folder of real images for a model with one image input.

The images are scikit-learn's bundled 8x8 digits, upscaled and saved as PNG and JPEG with Pillow; the
model takes 16x16 grey pixels in [0, 255] (its first layer is Rescaling(1/255)).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from parity_tests.test_bad_input import assert_one_line_error, run_cli
from toolkit.model.image_folder import folder_sha256
from toolkit.model.inputs import load_inputs_file

IMAGES = 6


def save_digit(path, index: int) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = (load_digits().images[index] * (255 / 16)).astype(np.uint8)
    Image.fromarray(pixels, mode="L").resize((32, 32), Image.Resampling.NEAREST).save(path)


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    """A small image classifier saved as .keras (no reference samples: int8 needs --calibration)."""
    import keras

    inputs = keras.Input((16, 16, 1), name="image")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="probabilities")(x)
    path = tmp_path_factory.mktemp("image_model") / "tiny_images.keras"
    keras.Model(inputs, outputs, name="tiny_images").save(path)
    return path


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(IMAGES):
        save_digit(folder / f"digit_{i}.{'png' if i % 2 else 'jpg'}", i)
    (folder / "README.txt").write_text("not an image: ignored")
    return folder


def test_folder_feeds_are_scaled_to_the_models_range(image_model, images, capsys):
    from toolkit import api

    loaded = api.load(str(image_model))
    feeds = load_inputs_file(images, loaded.signature, "--calibration")
    (pixels,) = feeds.values()
    assert pixels.shape == (IMAGES, 16, 16, 1) and pixels.dtype == np.float32
    assert pixels.min() >= 0 and 200 < pixels.max() <= 255  # Rescaling(1/255): raw pixels, not [0, 1]
    note = capsys.readouterr().err
    assert f"{IMAGES} images -> 16x16 L (bilinear), pixels 0..255 -> [0, 255]" in note and note.count("\n") == 1
    assert np.array_equal(load_inputs_file(images, loaded.signature, announce=False)["image"], pixels)  # sorted, deterministic


def test_folder_without_a_known_range_is_scaled_to_unit_and_says_so(loaded_models, images, capsys):
    loaded = loaded_models["residual_cnn"]  # (16, 16, 3), no Rescaling: the range is unknown
    (pixels,) = load_inputs_file(images, loaded.signature, "--inputs").values()
    assert pixels.shape == (IMAGES, 16, 16, 3) and 0 <= pixels.min() and 0.7 < pixels.max() <= 1
    assert np.array_equal(pixels[..., 0], pixels[..., 2])  # grey images converted to RGB
    assert "[0, 1] assumed" in capsys.readouterr().err


def test_calibrate_int8_from_a_folder_then_up_to_date_then_changed(image_model, images, tmp_path, capsys):
    out = tmp_path / "out"
    export = ("export", "--model", str(image_model), "--target", "tflite", "--quantize", "int8",
              "--calibration", str(images), "--out", str(out))
    code, err, stdout = run_cli(capsys, *export)
    assert code == 0, err
    assert "exported" in stdout and f"--calibration {images}: {IMAGES} images" in err
    manifest = json.loads((out / "tiny_images" / "tflite-int8" / "manifest.json").read_text())
    assert manifest["options"]["calibration"]["sha256"] == folder_sha256(images)
    assert any(f"calibrated on --calibration {images}: {IMAGES} images" in note for note in manifest["notes"])

    code, err, stdout = run_cli(capsys, *export)
    assert code == 0 and "up to date" in stdout, err

    save_digit(images / "digit_0.jpg", 9)  # one image changes: the recorded option no longer matches
    code, err, _ = run_cli(capsys, *export)
    note, error = err.splitlines()  # the folder itself is fine (its note comes first); the artifact differs
    assert note.startswith("toolkit: note: ")
    assert_one_line_error(code, error, "made with other options", "calibration")
    code, err, stdout = run_cli(capsys, *export, "--force")
    assert code == 0 and "exported" in stdout, err


def test_parity_on_a_folder_of_images(image_model, images, tmp_path, capsys):
    code, err, stdout = run_cli(capsys, "parity", "--model", str(image_model), "--target", "tflite", "--quantize",
                                "none", "--runtime", "litert", "--inputs", str(images), "--out", str(tmp_path / "out"))
    assert code == 0, err + stdout
    assert f"--inputs {images}: {IMAGES} images" in err


@pytest.fixture
def out(tmp_path):
    """An output folder that must stay empty."""
    folder = tmp_path / "out"
    yield folder
    assert not folder.exists() or not any(folder.rglob("*")), "something was written despite the error"


def export_int8(image_model, folder, out):
    return ("export", "--model", str(image_model), "--target", "tflite", "--quantize", "int8",
            "--calibration", str(folder), "--out", str(out))


def test_empty_folder(capsys, image_model, tmp_path, out):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "labels.csv").write_text("a,b\n")
    code, err, _ = run_cli(capsys, *export_int8(image_model, empty, out))
    assert_one_line_error(code, err, "holds 0 images")


def test_file_pillow_cannot_decode(capsys, image_model, images, out):
    (images / "broken.png").write_bytes(b"\x89PNG not really")
    code, err, _ = run_cli(capsys, *export_int8(image_model, images, out))
    assert_one_line_error(code, err, "broken.png is not an image Pillow can decode")


def test_folder_for_a_model_without_one_image_input(capsys, images, out):
    message = "a folder of images needs a model with one image input; pass FILE.npz"
    code, err, _ = run_cli(capsys, "export", "--model", "digits", "--target", "tflite", "--quantize", "int8",
                           "--calibration", str(images), "--out", str(out))
    assert_one_line_error(code, err, message)
    code, err, _ = run_cli(capsys, "parity", "--model", "siamese", "--target", "tflite", "--quantize", "none",
                           "--runtime", "litert", "--inputs", str(images), "--out", str(out))
    assert_one_line_error(code, err, message)
