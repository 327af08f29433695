"""Many models at once: `--models DIR`, `--jobs N` worker processes and a real local Ray instance give the
rows a serial run gives, in its order; a killed worker becomes error rows; Ctrl+C and bad input leave
nothing behind. The models are parity_tests/user_zoo.py's (two inputs, a GRU, a custom layer, a Conv1D)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from parity_tests.user_zoo import NAMES, write_user_zoo
from toolkit.cli import main
from toolkit.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

SMALL_MATRIX = ["--target", "onnx,tflite", "--quantize", "none", "--runtime", "litert,onnxruntime"]


@pytest.fixture(scope="module")
def user_zoo(tmp_path_factory) -> tuple[Path, Path]:
    """(folder of four .keras files, their custom-objects file)."""
    folder = tmp_path_factory.mktemp("user_zoo")
    return folder, write_user_zoo(folder)


def parity(user_zoo, out: Path, *extra: str) -> tuple[int, list[dict]]:
    folder, layers = user_zoo
    report = out.with_suffix(".json")
    code = main(["parity", "--models", str(folder), "--custom-objects", str(layers), *SMALL_MATRIX, "--out", str(out),
                 "--json", str(report), *extra])
    return code, json.loads(report.read_text())["results"] if report.exists() else []


def verdicts(rows: list[dict]) -> list[tuple]:
    return [(r["model"], r["target"], r["quantization"], r["runtime"], r["batch"], r["passed"], r["error_kind"])
            for r in rows]


@pytest.fixture(scope="module")
def serial_rows(user_zoo, tmp_path_factory) -> list[dict]:
    code, rows = parity(user_zoo, tmp_path_factory.mktemp("serial") / "out", "--jobs", "1")
    assert code == EXIT_OK
    return rows


def test_serial_run_covers_every_model_in_folder_order(serial_rows):
    # 4 rows per model: onnx in onnxruntime and tflite in litert, batches 1 and 4
    assert [r["model"] for r in serial_rows[::4]] == sorted(NAMES)
    assert len(serial_rows) == 4 * 4 and all(r["passed"] for r in serial_rows)


def test_jobs_2_gives_the_serial_rows_in_the_serial_order(user_zoo, serial_rows, tmp_path):
    code, rows = parity(user_zoo, tmp_path / "out", "--jobs", "2")
    assert code == EXIT_OK
    assert verdicts(rows) == verdicts(serial_rows)
    for spread, serial in zip(rows, serial_rows):  # the same artifacts on the same seeded inputs
        assert spread["max_abs_err"] == pytest.approx(serial["max_abs_err"], abs=1e-7)
    artifacts = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").glob("*/*/manifest.json"))
    assert len(artifacts) == 8


def test_a_local_ray_instance_gives_the_same_verdicts(user_zoo, serial_rows, tmp_path):
    pytest.importorskip("ray")
    code, rows = parity(user_zoo, tmp_path / "out", "--ray")
    assert code == EXIT_OK
    assert verdicts(rows) == verdicts(serial_rows)


def test_jobs_2_reuses_what_a_serial_run_exported(user_zoo, tmp_path):
    """Workers resolve paths to absolute ones: the artifacts of a serial run with relative paths are up to date."""
    folder, layers = user_zoo
    out = tmp_path / "out"
    assert main(["export", "--models", str(folder), "--custom-objects", str(layers), "--target", "tflite",
                 "--out", str(out), "--jobs", "1"]) == EXIT_OK
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("*/tflite/model.tflite")}
    assert main(["export", "--models", str(folder), "--custom-objects", str(layers), "--target", "tflite",
                 "--out", str(out), "--jobs", "2"]) == EXIT_OK
    assert len(stamps) == 4 and stamps == {p: p.stat().st_mtime_ns for p in out.glob("*/tflite/model.tflite")}


def test_a_worker_killed_mid_run_becomes_error_rows(user_zoo, tmp_path):
    """SIGKILL one worker just after it took a unit (as the out-of-memory killer would): that unit's rows say
    so, every other unit still runs on a fresh worker, and its staging folder is swept."""
    from toolkit.api.scaling import _perform, unit_request
    from toolkit.export.layout import plan_exports
    from toolkit.scale.run import Callbacks, Scale, run_units

    folder, layers = user_zoo
    models = [str(folder / f"{name}.keras") for name in sorted(NAMES)]
    killed = []

    def kill_third(unit: dict, pid: int) -> None:
        if unit["index"] == 2 and not killed:
            killed.append(unit)
            threading.Timer(0.05, os.kill, (pid, signal.SIGKILL)).start()

    request = unit_request(tmp_path / "out", custom_objects=layers, runtimes=["litert", "onnxruntime"])
    exports, rows = run_units(models, plan_exports(["onnx", "tflite"], ["none"]), "parity", request, Scale(jobs=2),
                              _perform(), lambda target: ["onnxruntime" if target == "onnx" else "litert"],
                              Callbacks(on_dispatch=kill_third))
    lost = [r for r in rows if r.error_kind == "worker"]
    assert killed and len(rows) == 4 * 2 * 2
    assert {(r.model, r.target) for r in lost} == {(Path(killed[0]["model"]).stem, killed[0]["target"])}
    assert len(lost) == 2 and all("killed by SIGKILL" in r.error for r in lost)
    assert all(r.passed for r in rows if r.error_kind != "worker")
    assert [e.error is not None for e in exports].count(True) == 1
    assert not list((tmp_path / "out").glob("*/.tmp-*"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_ctrl_c_stops_every_worker_and_leaves_nothing_partial(user_zoo, tmp_path):
    import psutil

    folder, layers = user_zoo
    out = tmp_path / "out"
    command = [sys.executable, "-m", "toolkit.cli", "export", "--models", str(folder), "--custom-objects", str(layers),
               "--target", "all", "--out", str(out), "--jobs", "2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    workers: set[psutil.Process] = set()
    deadline = time.monotonic() + 180
    while process.poll() is None and time.monotonic() < deadline:
        workers.update(c for c in psutil.Process(process.pid).children() if "toolkit.scale.worker" in " ".join(c.cmdline()))
        if len(workers) == 2 and list(out.glob("*/.tmp-*")):
            break
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == EXIT_INTERRUPTED, err
    assert "interrupted" in err
    assert len(workers) == 2 and not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in workers)
    assert not list(out.glob("*/.tmp-*")) and not list(out.glob("*/.old-*"))
    for manifest in out.glob("*/*/manifest.json"):  # what was published is complete
        assert json.loads(manifest.read_text())["main_file"]


def test_bad_input_of_one_model_fails_before_anything_is_exported(user_zoo, tmp_path, capsys):
    code, _ = parity(user_zoo, tmp_path / "out", "--jobs", "2", "--task", "tag=classification")
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert err.startswith("toolkit: error:") and len(err.strip().splitlines()) == 1 and "tag" in err
    assert not list((tmp_path / "out").glob("*/*/manifest.json"))


@pytest.mark.parametrize("argv, message", [
    (["--jobs", "0"], "is not a number of worker processes"),
    (["--jobs", "many"], "is not a number of worker processes"),
])
def test_bad_jobs_is_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["parity", "--model", "digits", *argv])
    assert stopped.value.code == EXIT_USAGE and message in capsys.readouterr().err


def test_models_folder_without_keras_files_is_a_usage_error(tmp_path, capsys):
    assert main(["export", "--models", str(tmp_path), "--jobs", "2"]) == EXIT_USAGE
    assert "holds no .keras file" in capsys.readouterr().err


def test_two_models_with_one_name_are_refused_before_any_work(user_zoo, tmp_path, capsys):
    folder, _ = user_zoo
    twin = tmp_path / "elsewhere" / "gru_tagger.keras"
    twin.parent.mkdir()
    twin.write_bytes((folder / "gru_tagger.keras").read_bytes())
    code = main(["export", "--model", f"{folder / 'gru_tagger.keras'},{twin}", "--out", str(tmp_path / "out"), "--jobs", "2"])
    assert code == EXIT_USAGE
    assert "both named 'gru_tagger'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_ray_without_a_cluster_at_the_address_is_a_usage_error(user_zoo, tmp_path, capsys):
    pytest.importorskip("ray")
    folder, layers = user_zoo
    code = main(["export", "--models", str(folder), "--custom-objects", str(layers), "--out", str(tmp_path / "out"),
                 "--ray", "127.0.0.1:1"])
    assert code == EXIT_USAGE, capsys.readouterr()
    assert "no Ray cluster answers" in capsys.readouterr().err


def test_run_spreads_parity_and_times_serially(user_zoo, tmp_path, capsys):
    """`toolkit run --models DIR --jobs 2` on user models with a custom layer: the parity half in workers,
    reported model by model in the given order; the benchmark in this process, with each row's verdict."""
    folder, layers = user_zoo
    chosen = tmp_path / "chosen"
    chosen.mkdir()
    for name in ("gated_user", "conv1d_regressor"):
        (chosen / f"{name}.keras").write_bytes((folder / f"{name}.keras").read_bytes())
    reports = tmp_path / "reports"
    code = main(["run", "--models", str(chosen), "--custom-objects", str(layers), "--jobs", "2",
                 "--out", str(tmp_path / "out"), "--reports", str(reports)])
    out = capsys.readouterr().out
    assert code == EXIT_OK, out
    assert out.index("conv1d_regressor: ") < out.index("gated_user: ")  # per model, in folder order
    saved = json.loads((reports / "parity.json").read_text())["results"]
    assert [r["model"] for r in saved] == sorted(r["model"] for r in saved)
    assert not [r for r in saved if not r["passed"] and r["error_kind"] not in ("skipped", "unavailable")]
    timed = json.loads((reports / "bench" / "bench.json").read_text())["results"]
    assert {r["model"] for r in timed} == {"gated_user", "conv1d_regressor"}


def test_ray_tasks_declare_memory_by_model_size(tmp_path, monkeypatch):
    from toolkit.scale.ray_cluster import BASE_MEMORY, unit_memory

    small, large = tmp_path / "small.keras", tmp_path / "large.keras"
    small.write_bytes(b"\0" * 1_000_000)
    with open(large, "wb") as handle:  # sparse: 100 MB without writing them
        handle.truncate(100 * 2**20)
    monkeypatch.setenv("TOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache" / "reference_models").mkdir(parents=True)
    (tmp_path / "cache" / "reference_models" / "resnet50-0123.keras").write_bytes(b"\0" * 2_000_000)
    assert unit_memory({"model": str(small)}) == BASE_MEMORY + 68 * 1_000_000  # converters in this process
    assert unit_memory({"model": str(large)}) == BASE_MEMORY + 25 * 100 * 2**20  # each converter in a child
    assert unit_memory({"model": "resnet50"}) == BASE_MEMORY + 68 * 2_000_000  # the cached trained file
    assert unit_memory({"model": "never_trained"}) == BASE_MEMORY


class _FakeWorker:
    """What the scheduler reads of a worker: the targets and models it has warm."""

    def __init__(self, *warm: str):
        self.warm = set(warm)


def _unit(model: str, target: str) -> dict:
    return {"model": model, "target": target}


def test_scheduler_keeps_each_target_on_the_worker_that_runs_it():
    from toolkit.scale.pool import _pick

    onnx_worker, tflite_worker = _FakeWorker("target:onnx", "model:a"), _FakeWorker("target:tflite", "model:a")
    workers = [onnx_worker, tflite_worker]
    pending = [_unit("b", "tflite"), _unit("b", "onnx"), _unit("c", "tflite"), _unit("c", "onnx")]
    assert _pick(pending, onnx_worker, workers, {}) == _unit("b", "onnx")
    # The last tflite unit waits for the busy tflite worker rather than start qemu here, while units are short...
    assert _pick([_unit("c", "tflite")], onnx_worker, workers, {"target:tflite": [0.5, 0.7]}) is None
    # ...but not when they are long, nor when there are more than the warm workers can take next.
    assert _pick([_unit("c", "tflite")], onnx_worker, workers, {"target:tflite": [30.0]}) == _unit("c", "tflite")
    two = [_unit("c", "tflite"), _unit("d", "tflite")]
    assert _pick(two, onnx_worker, workers, {"target:tflite": [0.5]}) == _unit("c", "tflite")
    # A fresh worker prefers a target nobody runs yet.
    fresh = _FakeWorker()
    assert _pick([_unit("a", "onnx"), _unit("a", "tfjs")], fresh, [*workers, fresh], {}) == _unit("a", "tfjs")
