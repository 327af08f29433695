"""`toolkit explain`: the layer where an artifact starts to diverge, found in the real artifacts and runtimes.

The outlier model is the classic int8 failure: one output channel of a middle Dense layer is about 1000x the
others, so one int8 grid per tensor leaves the other channels about one level and the next layer reads noise.
The broken artifacts are real exports with one layer's weights changed inside the artifact file.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from toolkit import api
from toolkit.cli import main
from toolkit.errors import EXIT_PARITY_FAILED, EXIT_USAGE
from toolkit.explain.measure import OUTLIER_RATIO, channel_outliers
from toolkit.explain.names import resolve_components, tensor_owners
from toolkit.explain.run import explain_artifact
from toolkit.parity.judgement import judgement_feeds
from toolkit.runtimes.variants import parity_variant

OUTLIER_CHANNEL = 5


def build_outlier_model(path: Path) -> None:
    """features -> outlier (channel 5 about 1000x the others) -> mixer -> head; the head reads channel 5 at 1/1000,
    so in float it matters no more than any other channel."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16,), name="x")
    x = keras.layers.Dense(32, activation="relu", name="features")(inputs)
    x = keras.layers.Dense(32, activation="relu", name="outlier")(x)
    x = keras.layers.Dense(16, activation="relu", name="mixer")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs, name="outlier_mlp")
    kernel, bias = model.get_layer("outlier").get_weights()
    kernel[:, OUTLIER_CHANNEL] *= 1000.0
    bias[OUTLIER_CHANNEL] = 1000.0
    model.get_layer("outlier").set_weights([kernel, bias])
    kernel, bias = model.get_layer("mixer").get_weights()
    kernel[OUTLIER_CHANNEL] /= 1000.0
    model.get_layer("mixer").set_weights([kernel, bias])
    model.save(path)


@pytest.fixture(scope="session")
def outlier(tmp_path_factory):
    folder = tmp_path_factory.mktemp("outlier")
    build_outlier_model(folder / "outlier.keras")
    rng = np.random.default_rng(0)
    np.savez(folder / "calibration.npz", x=rng.normal(size=(128, 16)).astype(np.float32))
    return folder


@pytest.fixture(scope="session")
def outlier_int8(outlier):
    return api.explain(outlier / "outlier.keras", "tflite", "int8", "litert", outlier / "artifacts",
                       options={"calibration": outlier / "calibration.npz"})


def test_int8_outlier_channel_is_named_with_its_range(outlier_int8):
    layers = {layer.layer: layer for layer in outlier_int8.layers}
    assert layers["head"].top1_agreement < 0.5  # the int8 artifact lost most of its answers
    # The outlier layer itself keeps its SQNR (channel 5 carries the energy); the next layer reads the crushed rest.
    assert outlier_int8.first_divergent in ("outlier", "mixer")
    flagged = layers["outlier"]
    assert flagged.outlier_channels == [OUTLIER_CHANNEL] and flagged.channel_ratio > 10 * OUTLIER_RATIO
    assert flagged.value_range[1] > 1000 and flagged.scale > 1.0  # the int8 grid spans the outlier: steps of > 1
    assert layers["features"].outlier_channels == [] and layers["features"].within_budget
    assert "outlier channel(s) [5]" in outlier_int8.summary


@pytest.mark.parametrize("target,runtime", [("tflite", "litert"), ("tfjs", "tfjs-node-cpu")])
def test_float32_artifacts_of_the_outlier_model_do_not_diverge(outlier, target, runtime):
    explanation = api.explain(outlier / "outlier.keras", target, "none", runtime, outlier / "artifacts")
    assert explanation.first_divergent is None
    assert {r.layer for r in explanation.layers if r.within_budget} == {"features", "outlier", "mixer", "head"}


# --- broken artifacts: one layer's weights scaled by 1.5 inside the artifact file ------------------------
BROKEN_LAYER = "conv2d"  # residual_cnn's second convolution, after the residual block
SCOPE = f"/{BROKEN_LAYER}_1/"  # its name scope in every converter's tensor names


def break_tflite(folder: Path) -> None:
    from ai_edge_litert import schema_py_generated as schema

    path = folder / "model.tflite"
    data = bytearray(path.read_bytes())
    model = schema.Model.GetRootAs(data, 0)
    graph = model.Subgraphs(0)
    for index in range(graph.OperatorsLength()):
        op = graph.Operators(index)
        if SCOPE.encode() in graph.Tensors(op.Outputs(0)).Name():
            kernel = graph.Tensors(op.Inputs(1))
            model.Buffers(kernel.Buffer()).DataAsNumpy().view(np.float32)[:] *= 1.5  # a view into `data`
            path.write_bytes(bytes(data))
            return
    raise AssertionError(f"no op of {BROKEN_LAYER} in {path}")


def break_onnx(folder: Path) -> None:
    import onnx
    from onnx import numpy_helper

    path = folder / "model.onnx"
    model = onnx.load(str(path))
    initializers = {t.name: t for t in model.graph.initializer}
    node = next(n for n in model.graph.node if n.op_type == "Conv" and SCOPE in n.name)
    kernel = initializers[node.input[1]]
    kernel.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(kernel) * 1.5, kernel.name))
    onnx.save(model, str(path))


def break_tfjs(folder: Path) -> None:
    manifest = json.loads((folder / "model.json").read_text())
    (group,) = manifest["weightsManifest"]
    (shard,) = group["paths"]
    data = bytearray((folder / shard).read_bytes())
    offset = 0
    for weight in group["weights"]:
        size = int(np.prod(weight["shape"])) * 4  # float32 and int32 weights of a float32 artifact
        if SCOPE in weight["name"] and "convolution" in weight["name"]:
            np.frombuffer(data, np.float32, size // 4, offset)[:] *= 1.5
            (folder / shard).write_bytes(bytes(data))
            return
        offset += size
    raise AssertionError(f"no kernel of {BROKEN_LAYER} in {folder}")


BREAKERS = {"tflite": ("litert", break_tflite), "onnx": ("onnxruntime", break_onnx), "tfjs": ("tfjs-node-cpu", break_tfjs)}


@pytest.mark.parametrize("target", sorted(BREAKERS))
def test_broken_artifact_names_the_broken_layer(target, exports, loaded_models, tmp_path):
    loaded = loaded_models["residual_cnn"]
    runtime, breaker = BREAKERS[target]
    export = exports[("residual_cnn", target, "none")]
    feeds, described = judgement_feeds(loaded, None, None)
    feeds = {name: value[:32] for name, value in feeds.items()}  # one chunk is plenty for a float32 comparison
    intact = explain_artifact(loaded, export, parity_variant(runtime), feeds, described)
    assert intact.first_divergent is None, intact.summary
    broken = tmp_path / target
    shutil.copytree(export.path, broken)
    breaker(broken)
    explanation = explain_artifact(loaded, replace(export, path=broken), parity_variant(runtime), feeds, described)
    assert explanation.first_divergent == BROKEN_LAYER, explanation.summary
    assert explanation.largest_growth == BROKEN_LAYER


def test_subclassed_model_is_compared_through_its_sublayers_and_its_outputs(exports, loaded_models):
    loaded = loaded_models["subclassed_mlp"]
    feeds, described = judgement_feeds(loaded, None, None)
    explanation = explain_artifact(loaded, exports[("subclassed_mlp", "onnx", "none")], parity_variant("onnxruntime"),
                                   {name: value[:32] for name, value in feeds.items()}, described)
    rows = {row.layer: row for row in explanation.layers}
    assert [row.class_name for row in explanation.layers] == ["Dense", "Dense", "model output"]
    assert rows["output_0"].within_budget and explanation.first_divergent is None
    assert "(call body)" in explanation.unreachable  # what call() computes between sublayers has no name


# --- the command line -------------------------------------------------------------------------------------
def test_cli_writes_json_and_report_and_exits_1_on_divergence(outlier, outlier_int8, tmp_path, capsys):
    args = ["explain", "--model", str(outlier / "outlier.keras"), "--target", "tflite", "--quantize", "int8",
            "--calibration", str(outlier / "calibration.npz"), "--out", str(outlier / "artifacts")]
    assert main([*args, "--json", str(tmp_path / "e.json"), "--report", str(tmp_path / "report")]) == EXIT_PARITY_FAILED
    assert "FIRST DIVERGENT" in capsys.readouterr().out
    written = json.loads((tmp_path / "e.json").read_text())
    assert written["first_divergent"] == outlier_int8.first_divergent
    assert [layer["layer"] for layer in written["layers"]] == ["features", "outlier", "mixer", "head"]
    assert {"sqnr_db", "cosine", "rel_err", "scale", "value_range", "outlier_channels"} <= set(written["layers"][1])
    assert (tmp_path / "report" / "error_per_layer.png").stat().st_size > 1000
    assert "| outlier |" in (tmp_path / "report" / "report.md").read_text()


@pytest.mark.parametrize("extra,message", [
    (["--target", "saved_model"], "explain takes one target"),
    (["--target", "onnx", "--runtime", "ort-web"], "pass --runtime onnxruntime"),
    (["--target", "tflite", "--quantize", "int8,fp16"], "one quantization"),
])
def test_bad_arguments_are_one_line_and_write_nothing(extra, message, tmp_path, capsys):
    code = main(["explain", "--model", "functional_mlp", *extra, "--out", str(tmp_path / "out"),
                 "--json", str(tmp_path / "e.json")])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_parity_points_a_failing_row_to_explain_and_runs_it(outlier, outlier_int8, capsys):
    model, calibration, out = outlier / "outlier.keras", outlier / "calibration.npz", outlier / "artifacts"
    args = ["parity", "--model", str(model), "--target", "tflite", "--quantize", "int8", "--runtime", "litert",
            "--calibration", str(calibration), "--out", str(out)]
    assert main([*args, "--explain"]) == EXIT_PARITY_FAILED
    text = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    command = (f"toolkit explain --model {model} --target tflite --quantize int8 --runtime litert "
               f"--calibration {calibration} --out {out}")
    assert text.count(command) == 1  # once for the artifact, not once per batch
    assert "Explain: outlier tflite-int8 in litert" in text and "first divergent layer" in text


# --- units ------------------------------------------------------------------------------------------------
def test_auto_named_layers_resolve_to_one_layer_each():
    # TensorFlow suffixed every scope of the exported graph: layer `dense` is `dense_1`, layer `dense_1` `dense_1_2`.
    layers = ["dense", "dense_1", "dense_2"]
    assert resolve_components(["dense_1", "dense_1_2", "dense_2_1"], layers, "_1") == {
        "dense_1": "dense", "dense_1_2": "dense_1", "dense_2_1": "dense_2"}
    owners = tensor_owners(["m_1/dense_1/MatMul;m_1/dense_1_2/Relu", "m_1/dense_2_1/BiasAdd"], layers, "m")
    assert owners["m_1/dense_1/MatMul;m_1/dense_1_2/Relu"] == ("dense_1", {"dense", "dense_1"})  # fused: the later one


def test_outlier_flag_threshold():
    channels = np.ones((64, 8), np.float32)
    channels[0, 3] = OUTLIER_RATIO * 1.1
    assert channel_outliers(np.abs(channels).max(axis=0))[1] == [3]
    channels[0, 3] = OUTLIER_RATIO * 0.9
    assert channel_outliers(np.abs(channels).max(axis=0))[1] == []


def test_readme_worked_example_is_what_explain_finds(outlier_int8):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Explain"):readme.index("## Benchmarks")]
    assert f"first divergent layer: '{outlier_int8.first_divergent}'" in section
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| ") and " Dense " in line]
    assert [row[0].strip("| ") for row in rows] == [layer.layer for layer in outlier_int8.layers]
    assert [row[-1].strip(" |") for row in rows] == [
        "FIRST DIVERGENT" if layer.layer == outlier_int8.first_divergent else "ok" if layer.within_budget else "over budget"
        for layer in outlier_int8.layers]
