"""Large models export one artifact per child process (toolkit/export/isolation.py).

The toolkit does this by itself from 64 MB of .keras file on; $TOOLKIT_EXPORT_ISOLATION=process
forces it here on a small model, so the path is tested in seconds. The memory it saves is measured
by benchmarks/export_memory.py (a script: it takes minutes and gigabytes), not here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolkit.errors import EXIT_EXPORT_FAILED, EXIT_OK
from toolkit.export.manifest import manifest_problems, read_manifest

FORCED = {**os.environ, "TOOLKIT_EXPORT_ISOLATION": "process"}


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    import keras

    inputs = keras.Input((6,), name="x")
    path = tmp_path_factory.mktemp("isolated") / "isolated.keras"
    keras.Model(inputs, keras.layers.Dense(3, name="y")(keras.layers.Dense(8, activation="tanh")(inputs))).save(path)
    return path


def export_command(model: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "toolkit.cli", "export", "--model", str(model), "--target", "all", "--out", str(out)]


def workers(parent: int) -> list:
    """The export children of `parent` (psutil processes) with the job each one runs."""
    import psutil

    found = []
    for child in psutil.Process(parent).children():
        try:
            argv = child.cmdline()
        except psutil.Error:
            continue
        if "toolkit.worker" in argv:
            job = Path(argv[argv.index("toolkit.worker") + 1])
            found.append((child, json.loads(job.read_text()) if job.exists() else {}))
    return found


def test_children_export_what_the_process_itself_would(small_model, tmp_path):
    """Every artifact made in a child is complete, ran in its runtime at export, and matches Keras."""
    from toolkit import api
    from toolkit.parity.run import check_parity
    from toolkit.runtimes.variants import runtime_variants

    process = subprocess.Popen(export_command(small_model, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=FORCED)
    parent_maps_tensorflow = None
    while process.poll() is None:
        if workers(process.pid) and parent_maps_tensorflow is None:
            maps = Path(f"/proc/{process.pid}/maps").read_text()
            parent_maps_tensorflow = "tensorflow" in maps
        time.sleep(0.05)
    out, err = process.communicate()
    assert process.returncode == EXIT_OK, out + err
    assert parent_maps_tensorflow is False, "the parent loaded TensorFlow: it only needs the model's signature"
    for name in ("saved_model", "tflite", "onnx", "tfjs"):
        folder = tmp_path / "isolated" / name
        assert manifest_problems(folder, read_manifest(folder)) == []
    assert any("in Node (cpu, wasm)" in note for note in read_manifest(tmp_path / "isolated" / "tfjs")["notes"])
    loaded = api.load(small_model)
    exports = api.export(loaded, ["all"], None, tmp_path)  # the children's artifacts, reused as they are
    assert all(e.reused for e in exports)
    rows = check_parity(loaded, exports, runtime_variants(["tf_savedmodel", "litert", "onnxruntime", "tfjs-node"]))
    assert rows and all(r.passed for r in rows), [(r.runtime, r.error) for r in rows if not r.passed]


def test_a_killed_child_is_that_artifacts_error_and_the_others_are_made(small_model, tmp_path):
    """The kernel's OOM killer sends SIGKILL: that artifact fails with the reason, the export goes on."""
    process = subprocess.Popen(export_command(small_model, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=FORCED)
    killed = False
    while process.poll() is None and not killed:
        for child, job in workers(process.pid):
            if job.get("target") == "onnx":
                child.send_signal(signal.SIGKILL)
                killed = True
        time.sleep(0.02)
    out, err = process.communicate(timeout=300)
    assert killed, "the onnx child was never seen"
    assert process.returncode == EXIT_EXPORT_FAILED, out + err
    assert "onnx export failed: the exporter process was killed by SIGKILL" in out
    made = {p.name for p in (tmp_path / "isolated").iterdir() if not p.name.startswith(".")}
    assert made == {"saved_model", "tflite", "tfjs"}
    again = subprocess.run(export_command(small_model, tmp_path), capture_output=True, text=True, env=FORCED)
    assert again.returncode == EXIT_OK and again.stdout.count("up to date") == 3, again.stdout + again.stderr
    assert not list((tmp_path / "isolated").glob(".tmp-*"))
