"""The tfjs-node runtime: every reference model on TF.js's cpu and wasm backends, in real Node.js.

One Node process serves the whole session (the runtime's shared server); the last tests
kill it on purpose and check that the next request restarts it.
"""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from toolkit.errors import (
    InferenceError,
    InferenceTimeoutError,
    InputsError,
    RuntimeUnavailableError,
    UsageError,
)
from toolkit.export.golden import read_golden
from toolkit.export.manifest import read_manifest
from toolkit.model.calling import predict
from toolkit.parity.tolerances import DEFAULT_FLOAT32
from toolkit.runtimes import tfjs_node
from toolkit.runtimes.tfjs_node import TfjsNodeRuntime, check_node_setup, encode_tensor, shared_server

BACKENDS = ("cpu", "wasm")
# Keras and TF.js both compute in float32 but fuse and order operations differently: toolkit parity's bound.
ATOL, RTOL = DEFAULT_FLOAT32.atol, DEFAULT_FLOAT32.rtol


def _node_ready() -> str | None:
    try:
        check_node_setup()
    except RuntimeUnavailableError as error:
        return str(error)
    return None


requires_node = pytest.mark.skipif(_node_ready() is not None, reason=str(_node_ready()))


# --- helpers ----------------------------------------------------------------
def assert_matches(got: dict, want: dict) -> None:
    """Same output names, then same values (by name, never by position)."""
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], atol=ATOL, rtol=RTOL, err_msg=name)


def max_abs_errors(got: dict, want: dict) -> dict[str, float]:
    return {name: float(np.max(np.abs(got[name] - want[name]))) for name in want}


@pytest.fixture
def make_runtime():
    """TfjsNodeRuntime for (model, backend, quantization), activated; closed after the test."""
    opened = []

    def make(artifact, backend="cpu", **options):
        runtime = TfjsNodeRuntime(artifact, backend=backend, **options).activate()
        opened.append(runtime)
        return runtime

    yield make
    for runtime in opened:
        try:
            runtime.close()
        except InferenceError:  # the kill tests leave some runtimes on a dead server
            pass


# --- parity with Keras: every model x backend x quantization is in test_parity_matrix.py ---------
@requires_node
@pytest.mark.parametrize("backend", BACKENDS)
def test_control_flow_runs_both_branches(backend, loaded_models, exports, make_runtime, tmp_path):
    """dynamic_branch (Switch/Merge) needs executeAsync; feed inputs that take each branch."""
    loaded = loaded_models["dynamic_branch"]
    artifact = exports[("dynamic_branch", "tfjs", "none")].path
    # The exporter splits the fused Tanh TF.js cannot run; the manifest records it.
    assert any("fused Tanh split" in rewrite for rewrite in read_manifest(artifact)["rewrites"])
    runtime = make_runtime(artifact, backend)
    base = loaded.reference.sample_inputs(loaded.signature.inputs, 3, seed=3)["inputs"]
    for shift in (-2.0, 2.0):  # mean(x) < 0 takes one path, > 0 the other
        feeds = {"inputs": (base + shift).astype("float32")}
        assert_matches(runtime.infer(feeds), predict(loaded.model, loaded.signature, feeds))


# --- options, errors and the server's life ---------------------------------------
@requires_node
def test_time_runs_measures_inside_node(exports, make_runtime):
    artifact = exports[("functional_mlp", "tfjs", "none")].path
    inputs, _ = read_golden(artifact)
    latencies = make_runtime(artifact, "wasm").measure_runs({k: v[:1] for k, v in inputs.items()}, warmup=2, runs=5)
    assert len(latencies) == 5 and all(0 < ms < 10_000 for ms in latencies)


def test_bad_options_fail_before_node_starts(tmp_path, exports):
    artifact = exports[("functional_mlp", "tfjs", "none")].path
    with pytest.raises(UsageError, match="unknown backend 'webgl'"):
        TfjsNodeRuntime(artifact, backend="webgl").activate()
    with pytest.raises(UsageError, match="single-threaded"):
        TfjsNodeRuntime(artifact, threads=4, backend="wasm").activate()
    with pytest.raises(UsageError, match="unknown option"):
        TfjsNodeRuntime(artifact, provider="cuda").activate()


def test_missing_setup_says_how_to_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(tfjs_node, "NODE_DIR", tmp_path)
    with pytest.raises(RuntimeUnavailableError, match="make setup"):
        check_node_setup()
    monkeypatch.setattr(tfjs_node.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeUnavailableError, match="`node` is not on PATH.*make setup"):
        check_node_setup()


@requires_node
def test_bad_request_is_clear_and_server_survives(exports, make_runtime):
    artifact = exports[("multitask", "tfjs", "none")].path
    runtime = make_runtime(artifact)
    inputs, keras_outputs = read_golden(artifact)
    pid = shared_server().pid
    with pytest.raises(InputsError, match="'pixels' is not an input"):
        runtime.infer({"pixels": inputs["features"]})
    # The same mistake sent straight to Node, past the Python-side check.
    with pytest.raises(InputsError, match="unknown input.*pixels.*inputs are features"):
        shared_server().request("infer", id=runtime.model_id, inputs={"pixels": encode_tensor(inputs["features"])})
    with pytest.raises(RuntimeUnavailableError, match="unknown command 'explode'"):
        shared_server().request("explode")
    assert shared_server().pid == pid
    assert_matches(runtime.infer(inputs), keras_outputs)


@requires_node
def test_server_serves_a_second_model(exports, make_runtime):
    """Two models on two backends in one process keep their own weights and names."""
    first_artifact = exports[("siamese", "tfjs", "none")].path
    second_artifact = exports[("residual_cnn", "tfjs", "none")].path
    first = make_runtime(first_artifact, "cpu")
    pid = shared_server().pid
    second = make_runtime(second_artifact, "wasm")
    for runtime, artifact in [(first, first_artifact), (second, second_artifact), (first, first_artifact)]:
        inputs, keras_outputs = read_golden(artifact)
        assert_matches(runtime.infer(inputs), keras_outputs)
    assert shared_server().pid == pid


@requires_node
def test_killed_server_gives_clean_error_then_restarts(exports, make_runtime):
    artifact = exports[("digits", "tfjs", "none")].path
    runtime = make_runtime(artifact, "wasm")
    inputs, keras_outputs = read_golden(artifact)
    pid = shared_server().pid
    # Killed while a request is in flight: a long timing run.
    killer = threading.Timer(0.5, os.kill, (pid, signal.SIGKILL))
    killer.start()
    with pytest.raises(InferenceError, match="exited during 'time'.*signal 9.*restarts on the next request"):
        runtime.measure_runs(inputs, warmup=0, runs=10_000_000)
    killer.join()
    # The next request starts a new server and loads the model again.
    assert_matches(runtime.infer(inputs), keras_outputs)
    assert shared_server().pid not in (None, pid)
    # Killed between requests: reported once, then restarted.
    os.kill(shared_server().pid, signal.SIGKILL)
    shared_server().process.wait()
    with pytest.raises(InferenceError, match="had exited"):
        runtime.infer(inputs)
    assert_matches(runtime.infer(inputs), keras_outputs)


@requires_node
def test_timeout_kills_and_restarts(exports, make_runtime):
    artifact = exports[("digits", "tfjs", "none")].path
    runtime = make_runtime(artifact)
    inputs, keras_outputs = read_golden(artifact)
    feeds = {name: encode_tensor(value) for name, value in inputs.items()}
    with pytest.raises(InferenceTimeoutError, match="did not answer 'time' within 0.5 s; it was killed"):
        shared_server().request("time", timeout_s=0.5, id=runtime.model_id, inputs=feeds, warmup=0, runs=10_000_000)
    assert shared_server().process is None
    assert_matches(runtime.infer(inputs), keras_outputs)
