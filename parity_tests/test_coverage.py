"""Fails when a registered model, target or runtime has no test case in the collected suite."""

import pytest

from models import REFERENCE_MODELS

# test function -> parameter that must take every reference model name
PER_MODEL_TESTS = {
    "test_training_loss_decreases": "name",
    "test_keras_round_trip_is_identical": "name",
    "test_saved_model_reproduces_keras": "name",
    "test_export_writes_artifact_and_manifest": "name",
    "test_parity": "name",
}


def _collected(request):
    if request.config.option.keyword or request.config.option.markexpr:
        pytest.skip("coverage is judged on the whole suite, not a -k/-m selection")
    return [item for item in request.session.items if hasattr(item, "callspec")]


def test_every_reference_model_has_cases(request):
    items = _collected(request)
    for function, param in PER_MODEL_TESTS.items():
        covered = {item.callspec.params[param] for item in items if item.originalname == function}
        if not covered:
            pytest.skip(f"{function} was not collected in this run")
        missing = set(REFERENCE_MODELS) - covered
        assert not missing, f"{function} has no case for {sorted(missing)}"


def test_every_target_runtime_and_quantization_has_cases(request):
    """Adding a target means an exporter, a runtime and a tolerance entry: catch the one forgotten."""
    from toolkit.compare import QUANTIZED
    from toolkit.registry import load_exporters, load_runtimes

    items = [item for item in _collected(request) if item.originalname == "test_parity"]
    if not items:
        pytest.skip("test_parity was not collected in this run")
    exporters = load_exporters()
    covered_targets = {item.callspec.params["target"] for item in items}
    covered_runtimes = {item.callspec.params["variant"].runtime for item in items}
    assert covered_targets == set(exporters), f"targets without a parity case: {set(exporters) - covered_targets}"
    runtimes = {name for name, entry in load_runtimes().items() if entry.target != "keras"}
    assert runtimes <= covered_runtimes, f"runtimes without a parity case: {sorted(runtimes - covered_runtimes)}"
    for target, entry in exporters.items():
        covered = {item.callspec.params["quantization"] for item in items if item.callspec.params["target"] == target}
        assert covered == set(entry.quantizations), f"{target}: quantizations without a case"
        missing = [q for q in entry.quantizations if q != "none" and q not in QUANTIZED]
        assert not missing, f"{target}: no tolerance entry in toolkit/compare.py for {missing}"
