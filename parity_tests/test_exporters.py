"""Every reference model x target x quantization exports with a truthful manifest."""

import json

import pytest

from parity_tests.matrix import export_params
from toolkit.export.manifest import manifest_problems, read_manifest


@pytest.mark.parametrize("name, target, quantization", export_params())
def test_export_writes_artifact_and_manifest(name, target, quantization, loaded_models, exports):
    result = exports[(name, target, quantization)]
    assert result.ok, result.error
    manifest = read_manifest(result.path)
    loaded = loaded_models[name]
    assert manifest["format"] == target and manifest["quantization"] == quantization
    assert manifest["source_model"]["sha256"] == loaded.source_sha256
    assert manifest_problems(result.path, manifest) == []
    assert (result.path / manifest["main_file"]).is_file()
    signature = manifest["signature"]
    assert [s["name"] for s in signature["inputs"]] == loaded.signature.input_names
    assert [s["name"] for s in signature["outputs"]] == loaded.signature.output_names
    assert all(s["shape"][0] is None for s in signature["inputs"] + signature["outputs"]), "batch must be dynamic"
    versions = manifest["versions"]
    assert versions["tensorflow"].startswith("2.19") and versions["keras"].startswith("3.")
    assert all(v != "not installed" for v in versions["converter"].values())
    assert not list(result.path.parent.glob(".tmp-*")), "a staging folder was left behind"


def test_manifest_detects_tampering(exports, tmp_path):
    import shutil

    source = exports[("digits", "onnx", "none")].path
    copy = tmp_path / "onnx"
    shutil.copytree(source, copy)
    (copy / "model.onnx").write_bytes(b"garbage")
    (copy / "extra.bin").write_bytes(b"x")
    problems = manifest_problems(copy, json.loads((copy / "manifest.json").read_text()))
    assert "model.onnx differs from its manifest entry" in problems
    assert "extra.bin is on disk but not listed" in problems
