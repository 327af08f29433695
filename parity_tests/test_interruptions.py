"""Interrupted work and partial failure: killed exports leave nothing partial; one failing target
or runtime is reported while every other one still runs."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit.errors import EXIT_EXPORT_FAILED
from toolkit.export.manifest import manifest_problems, read_manifest
from toolkit.parity.run import check_parity
from toolkit.runtimes.variants import RuntimeVariant, runtime_variants

ALL_ARTIFACTS = {"saved_model", "onnx", "onnx-fp16", "onnx-dynamic", "onnx-int8", "tfjs", "tfjs-fp16", "tfjs-uint8",
                 "tflite", "tflite-fp16", "tflite-dynamic", "tflite-int8", "tflite-int16x8"}


def export_command(model_path: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli", "export", "--model", str(model_path), "--target", "all",
            "--quantize", "all", "--calibration", str(model_path.with_suffix(".npz")), "--out", str(out)]


def staging_folders(out: Path) -> list[Path]:
    """Artifact staging folders (not the temporary SavedModels converters write beside them)."""
    return [p for p in out.glob("*/.tmp-*") if ".savedmodel." not in p.name]


def leftovers(out: Path) -> list[Path]:
    """Every temporary an export writes: staging folders, temporary SavedModels, retired folders."""
    return list(out.glob("*/.tmp-*")) + list(out.glob("*/.old-*"))


def kill_when_staging_seen(command, out: Path, nth: int, timeout_s: float = 120, env=None) -> bool:
    """Start the export and SIGKILL it while it writes its nth artifact; False if it finished first."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    seen: set[str] = set()
    deadline = time.monotonic() + timeout_s
    try:
        while process.poll() is None and time.monotonic() < deadline:
            seen.update(p.name for p in staging_folders(out))
            if len(seen) >= nth:
                process.send_signal(signal.SIGKILL)
                process.wait()
                return True
            time.sleep(0.01)
        return False
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def complete_artifacts(model_dir: Path) -> set[str]:
    """Artifact folders present; each must be complete (manifest present and matching disk)."""
    names = set()
    for folder in model_dir.iterdir() if model_dir.exists() else []:
        if folder.name.startswith("."):
            continue
        manifest = read_manifest(folder)
        assert manifest is not None, f"{folder} exists without a manifest: a partial artifact"
        assert manifest_problems(folder, manifest) == [], f"{folder} is incomplete"
        names.add(folder.name)
    return names


@pytest.fixture(scope="module")
def small_user_model(tmp_path_factory):
    import keras
    import numpy as np

    folder = tmp_path_factory.mktemp("killme")
    inputs = keras.Input((8,), name="x")
    outputs = keras.layers.Dense(4, activation="softmax", name="y")(keras.layers.Dense(8, activation="gelu")(inputs))
    path = folder / "killme.keras"
    keras.Model(inputs, outputs).save(path)
    np.savez(path.with_suffix(".npz"), x=np.random.default_rng(0).standard_normal((8, 8)).astype("float32"))
    return path


@pytest.mark.parametrize("nth", [1, 4, 8])
def test_sigkill_during_export_leaves_no_partial_artifact(small_user_model, tmp_path, nth):
    out, private_tmp = tmp_path / "out", tmp_path / "tmp"
    private_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(private_tmp)}  # a killed export must leave nothing here either
    command = export_command(small_user_model, out)
    killed = kill_when_staging_seen(command, out, nth, env=env)
    assert killed, "the export finished before it could be killed"
    before = complete_artifacts(out / "killme")
    # Artifacts are written one after another: the nth staging folder means n-1 finished ones, whole.
    assert nth - 1 <= len(before) < len(ALL_ARTIFACTS), sorted(before)
    # The next run sweeps the killed writer's staging folder, reuses what was complete, writes the rest.
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert complete_artifacts(out / "killme") == ALL_ARTIFACTS
    assert not leftovers(out)
    # No temporary folder (a SavedModel is about twice the model's size) in $TMPDIR; small files some
    # libraries keep there (TensorFlow's ".ses") are not the toolkit's.
    assert not [p for p in private_tmp.iterdir() if p.is_dir()], "the export left folders in $TMPDIR"
    assert finished.stdout.count("up to date") == len(before), finished.stdout


def test_one_failing_converter_does_not_stop_the_others(small_user_model, tmp_path, capsys):
    """opset 1 makes tf2onnx fail for real; the other targets still export and exit code is 3."""
    from toolkit.cli import main

    code = main(["export", "--model", str(small_user_model), "--target", "all", "--opset", "1", "--out", str(tmp_path)])
    output = capsys.readouterr().out
    assert code == EXIT_EXPORT_FAILED
    assert "FAILED" in output and "onnx" in output
    assert complete_artifacts(tmp_path / "killme") == {"saved_model", "tfjs", "tflite"}


def test_hung_runtime_is_reported_and_the_others_still_run(loaded_models, exports):
    name = "functional_mlp"
    artifacts = [exports[(name, target, "none")] for target in ("saved_model", "tflite", "tfjs")]
    impatient = RuntimeVariant("tfjs-node-cpu", "tfjs-node", "tfjs", (("backend", "cpu"), ("timeout_s", 0.001)))
    variants = [*runtime_variants(["tf_savedmodel", "litert"]), impatient]
    rows = check_parity(loaded_models[name], artifacts, variants)
    by_runtime = {}
    for row in rows:
        by_runtime.setdefault(row.runtime, []).append(row)
    assert all(r.passed for r in by_runtime["tf_savedmodel"] + by_runtime["litert"])
    assert by_runtime["tfjs-node-cpu"] and not any(r.passed for r in by_runtime["tfjs-node-cpu"])
    assert all("did not answer" in r.error for r in by_runtime["tfjs-node-cpu"])
    # The server restarts on the next request with the normal timeout.
    healthy = check_parity(loaded_models[name], artifacts[2:], runtime_variants(["tfjs-node-cpu"]))
    assert all(r.passed for r in healthy)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_interrupted_keyboard_export_exits_130(small_user_model, tmp_path):
    out = tmp_path / "out"
    process = subprocess.Popen(export_command(small_user_model, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not staging_folders(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err
    complete_artifacts(out / "killme")
    assert not leftovers(out)
