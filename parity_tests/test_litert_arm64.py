"""The litert-arm64 runtime: LiteRT's aarch64 build under qemu-user, in one long-lived emulated worker.

These tests run the real emulated worker; they never skip: `make setup` (as root, which CI is) builds
.arm64/, and without it they fail with the runtime's own one-line reason. Parity with Keras for every
small reference model x .tflite quantization is in test_parity_matrix.py.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

from toolkit.errors import InferenceError, InputsError, RuntimeUnavailableError, UsageError
from toolkit.export.golden import read_golden
from toolkit.runtimes import line_worker
from toolkit.runtimes.litert import LiteRTRuntime
from toolkit.runtimes.litert_arm64 import Arm64Worker, LiteRTArm64Runtime, check_arm64_setup, shared_worker
from toolkit.runtimes.timing import TimingPlan
from toolkit.runtimes.wire import encode_array

QUANTIZATIONS = ("none", "fp16", "dynamic", "int8")


@pytest.fixture
def make_runtime():
    opened = []

    def make(artifact, **options):
        runtime = LiteRTArm64Runtime(artifact, **options).activate()
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        runtime.close()


def test_setup_is_built():
    """CI builds .arm64/ in `make setup`; a missing or failed build fails here with its reason and fix."""
    qemu, sysroot = check_arm64_setup()
    assert Path(qemu).is_file() and (sysroot / "usr" / "bin" / "python3.11").is_file()


def test_worker_is_an_emulated_aarch64_python(exports, make_runtime):
    runtime = make_runtime(exports[("digits", "tflite", "none")].path)
    about = runtime.describe()
    assert about["machine"] == "aarch64"
    assert (about["litert"], about["numpy"]) == ("2.3.0", np.__version__)  # the host's versions: only kernels differ
    assert about["cpu_part"] == "0xd0b"  # Cortex-A76, as qemu is told to emulate
    pid, description = runtime.inference_process()
    assert "qemu-aarch64" in os.readlink(f"/proc/{pid}/exe") and "qemu-user" in description


@pytest.mark.parametrize("quantization", QUANTIZATIONS)
@pytest.mark.parametrize("xnnpack", [True, False], ids=["xnnpack", "builtin"])
def test_aarch64_kernels_compute_what_x86_computes(quantization, xnnpack, exports, make_runtime):
    """Same file, same inputs, ARM and x86 kernels: near-equal outputs by name, both near Keras's.

    ARM's NEON kernels sum in another order than x86's AVX ones (float32 outputs differ by ulps); quantized
    kernels may round one step apart, so the bound is one int8 step of a [0, 1] probability (1/256)."""
    artifact = exports[("digits", "tflite", quantization)].path
    feeds, keras_outputs = read_golden(artifact)
    arm = make_runtime(artifact, xnnpack=xnnpack).infer(feeds)
    with LiteRTRuntime(artifact, xnnpack=xnnpack) as x86:
        expected = x86.infer(feeds)
    assert set(arm) == set(expected) == set(keras_outputs)
    bound = 1e-6 if quantization in ("none", "fp16") else 1 / 256
    for name, value in expected.items():
        assert arm[name].dtype == value.dtype and arm[name].shape == value.shape
        np.testing.assert_allclose(arm[name], value, atol=bound, rtol=0, err_msg=name)
        assert np.array_equal(np.argmax(arm[name], -1), np.argmax(keras_outputs[name], -1))


def test_two_input_model_is_fed_by_name(exports, make_runtime):
    """TFLite orders a two-input model's inputs unlike Keras; the worker's signature runner takes names."""
    artifact = exports[("multi_input_regression", "tflite", "none")].path
    feeds, keras_outputs = read_golden(artifact)
    got = make_runtime(artifact, threads=2).infer(feeds)
    for name, value in keras_outputs.items():
        np.testing.assert_allclose(got[name], value, atol=1e-4, rtol=1e-3, err_msg=name)


def test_bad_input_is_one_clear_line_and_the_worker_survives(exports, make_runtime):
    artifact = exports[("digits", "tflite", "none")].path
    runtime = make_runtime(artifact)
    feeds, keras_outputs = read_golden(artifact)
    worker = shared_worker()
    pid = worker.pid
    refusals = [  # (call, error type, its one line)
        (lambda: runtime.infer({"image": feeds["pixels"]}), InputsError, "'image' is not an input"),
        # The same mistake sent straight to the worker, past the Python-side check.
        (lambda: worker.request("infer", id=runtime.model_id, inputs={"image": encode_array(feeds["pixels"])}),
         InputsError, r"litert-arm64: got inputs \['image'\], the model takes \['pixels'\]"),
        (lambda: worker.request("explode"), RuntimeUnavailableError, "unknown command 'explode'"),
        (lambda: LiteRTArm64Runtime(artifact, gpu=True).activate(), UsageError, "unknown option.*gpu.*known: xnnpack"),
    ]
    for call, error_type, line in refusals:
        with pytest.raises(error_type, match=line) as raised:
            call()
        assert "\n" not in str(raised.value)
    assert shared_worker().pid == pid
    np.testing.assert_allclose(runtime.infer(feeds)["probabilities"], keras_outputs["probabilities"], atol=1e-4, rtol=1e-3)


def test_killed_worker_is_reported_then_restarted(exports, make_runtime):
    artifact = exports[("digits", "tflite", "int8")].path
    runtime = make_runtime(artifact)
    feeds, _ = read_golden(artifact)
    before = runtime.infer(feeds)
    pid = shared_worker().pid
    os.kill(pid, signal.SIGKILL)
    shared_worker().process.wait()
    with pytest.raises(InferenceError, match="emulated LiteRT worker had exited.*signal 9.*restarts on the next request"):
        runtime.infer(feeds)
    after = runtime.infer(feeds)  # a new worker, the model loaded again
    assert shared_worker().pid not in (None, pid)
    np.testing.assert_array_equal(after["probabilities"], before["probabilities"])


def test_reports_no_latency(exports, make_runtime):
    """Emulated wall time says nothing about an ARM core: timing declines in one line (the bench row says why)."""
    runtime = make_runtime(exports[("digits", "tflite", "none")].path)
    feeds, _ = read_golden(runtime.artifact)
    with pytest.raises(RuntimeUnavailableError, match="reports no latency.*qemu-user emulation"):
        runtime.time_runs(feeds, TimingPlan(runs=5, time_budget_s=0.1, warmup=0))


def test_unbuilt_or_failed_setup_is_reported_with_the_fix(monkeypatch, tmp_path, exports):
    artifact = exports[("digits", "tflite", "none")].path
    monkeypatch.setenv("TOOLKIT_ARM64_DIR", str(tmp_path))
    monkeypatch.delitem(line_worker._SHARED, Arm64Worker, raising=False)  # a fresh worker, which must find the setup missing
    with pytest.raises(RuntimeUnavailableError, match=r"litert-arm64: the emulated aarch64 Python is not built .*make setup"):
        LiteRTArm64Runtime(artifact).activate()
    (tmp_path / "UNAVAILABLE").write_text("qemu-aarch64-static is missing and apt needs root; then run `make setup`\n")
    with pytest.raises(RuntimeUnavailableError, match="^litert-arm64: qemu-aarch64-static is missing and apt needs root"):
        LiteRTArm64Runtime(artifact).activate()
