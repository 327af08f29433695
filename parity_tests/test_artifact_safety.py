"""What the toolkit does to artifact folders that already exist: it never loses what a user made.

`export`, `parity` and `bench` share one rule (toolkit/export/run.py): an artifact of the same source
is used as it is, an older exporter's one is exported again with the options it was made with, and
anything else is refused with the --force hint. Writers of one folder take turns under a file lock,
temporaries never outlive the next export, and folders follow the umask.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from toolkit.cli import main
from toolkit.errors import EXIT_OK, EXIT_USAGE
from toolkit.export.manifest import manifest_problems, read_manifest


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    import keras

    folder = tmp_path_factory.mktemp("safety")
    inputs = keras.Input((6,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(3, name="y")(keras.layers.Dense(5, activation="relu")(inputs)))
    path = folder / "small.keras"
    model.save(path)
    return path


def test_parity_uses_an_existing_artifact_as_it_is(small_model, tmp_path, capsys):
    """Regression: an ONNX exported with --opset 13 silently became opset 17 under `parity`."""
    out = tmp_path / "out"
    assert main(["export", "--model", str(small_model), "--target", "onnx", "--opset", "13", "--out", str(out)]) == EXIT_OK
    manifest = out / "small" / "onnx" / "manifest.json"
    before = manifest.read_bytes()
    assert main(["parity", "--model", str(small_model), "--target", "onnx", "--runtime", "onnxruntime",
                 "--out", str(out)]) == EXIT_OK
    assert manifest.read_bytes() == before and json.loads(before)["options"]["opset"] == 13
    capsys.readouterr()
    assert main(["parity", "--model", str(small_model), "--target", "onnx", "--runtime", "onnxruntime",
                 "--opset", "17", "--out", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "made with other options: opset 13 (asked: 17)" in err and "--force" in err
    assert manifest.read_bytes() == before


@pytest.mark.parametrize("command", [
    ["parity", "--runtime", "onnxruntime"],
    ["bench", "--runtime", "onnxruntime", "--runs", "3", "--time-budget", "0.05", "--batch", "1"],
])
def test_a_file_the_user_put_in_an_artifact_is_never_deleted(small_model, tmp_path, capsys, command):
    """Regression: `parity` and `bench` re-exported over a folder holding a file of the user's."""
    out = tmp_path / "out"
    assert main(["export", "--model", str(small_model), "--target", "onnx", "--out", str(out)]) == EXIT_OK
    notes = out / "small" / "onnx" / "NOTES.txt"
    notes.write_text("mine")
    capsys.readouterr()
    assert main([command[0], "--model", str(small_model), "--target", "onnx", *command[1:], "--out", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "was changed since its export (NOTES.txt is on disk but not listed)" in err and "--force" in err
    assert notes.read_text() == "mine"


def test_an_older_exporters_artifact_is_exported_again_with_its_own_options(small_model, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["export", "--model", str(small_model), "--target", "onnx", "--opset", "13", "--out", str(out)]) == EXIT_OK
    folder = out / "small" / "onnx"
    manifest = read_manifest(folder)
    manifest["exporter_code"] = "older"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    assert main(["export", "--model", str(small_model), "--target", "onnx", "--out", str(out)]) == EXIT_OK
    assert "exporter code changed" in capsys.readouterr().out
    refreshed = read_manifest(folder)
    assert refreshed["exporter_code"] != "older" and refreshed["options"]["opset"] == 13


def test_concurrent_exports_of_the_same_folders_all_succeed(small_model, tmp_path):
    """Regression: a second export process deleted the first one's staging folder (exit 3 in 2 of 5 tries)."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "toolkit.cli", "export", "--model", str(small_model), "--target",
               "saved_model,onnx,tflite", "--out", str(out)]
    for attempt in range(2):
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outcomes = [(p.wait(timeout=300), *p.communicate()) for p in processes]
        for code, stdout, stderr in outcomes:
            assert code == EXIT_OK, f"attempt {attempt}: {stdout}{stderr}"
        if attempt == 0:  # one process wrote each artifact, the others found it up to date
            assert sum(stdout.count("exported ") for _, stdout, _ in outcomes) == 3
        for name in ("saved_model", "onnx", "tflite"):
            folder = out / "small" / name
            assert manifest_problems(folder, read_manifest(folder)) == []
        assert not list((out / "small").glob(".tmp-*")) and not list((out / "small").glob(".old-*"))


@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_artifact_folders_follow_the_umask(small_model, tmp_path, umask, folder_mode, file_mode):
    """Regression: artifact folders were 0700 whatever the umask, unreadable by a web server's user."""
    from toolkit import api

    previous = os.umask(umask)
    try:
        (result,) = api.export(small_model, ["tfjs"], None, tmp_path / "out")
    finally:
        os.umask(previous)
    assert result.ok, result.error
    assert result.path.stat().st_mode & 0o777 == folder_mode
    assert (result.path / "manifest.json").stat().st_mode & 0o777 == file_mode
    assert (result.path / "model.json").stat().st_mode & 0o777 == file_mode


def test_golden_json_is_strict_json_when_the_model_outputs_nan(tmp_path):
    """Regression: a model that outputs NaN wrote bare NaN into golden.json, which strict parsers refuse."""
    import keras

    from toolkit import api
    from toolkit.export.golden import read_golden

    inputs = keras.Input((4,), name="x")
    path = tmp_path / "roots.keras"
    keras.Model(inputs, keras.ops.sqrt(inputs)).save(path)  # N(0, 1) samples: half of them negative
    (result,) = api.export(path, ["saved_model"], None, tmp_path / "out")
    assert result.ok, result.error

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    text = (result.path / "golden.json").read_text()
    json.loads(text, parse_constant=refuse)
    _, outputs = read_golden(result.path)
    (values,) = outputs.values()
    assert np.isnan(values).any() and np.isfinite(values).any()


def test_parity_json_grows_with_every_row_and_survives_ctrl_c(tmp_path, artifacts_root, exports):
    """Regression: the JSON was written only at the end, so an interrupted or stuck run lost every result."""
    import signal
    import time

    for target in ("tflite", "onnx"):
        assert exports[("digits", target, "none")].ok
    report = tmp_path / "parity.json"
    command = [sys.executable, "-m", "toolkit.cli", "parity", "--model", "digits", "--target", "tflite,onnx",
               "--quantize", "none", "--runtime", "litert,onnxruntime,ort-web", "--out", str(artifacts_root),
               "--json", str(report)]  # ort-web's rows come last, after Chromium starts: Ctrl+C lands mid-run
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    rows = []
    while process.poll() is None and time.monotonic() < deadline and len(rows) < 2:
        time.sleep(0.05)
        rows = json.loads(report.read_text())["results"] if report.exists() else []
    assert process.poll() is None, "parity finished before it could be interrupted: " + process.communicate()[1]
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "interrupted" in err, (process.returncode, err[-2000:], out[-2000:])
    kept = json.loads(report.read_text())["results"]
    assert len(kept) >= 2 and all(row["passed"] for row in kept)
