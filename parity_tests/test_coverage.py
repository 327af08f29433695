"""Fails when a registered model, target or runtime has no test case in the collected suite.

The per-model tests are named by importing them, so renaming one renames it here too; on a
run of the whole suite a missing test is a failure, never a skip. A run of a selection (-k,
-m, or some files) cannot judge coverage and skips.
"""

from pathlib import Path

import pytest

import parity_tests.test_exporters as exporter_tests
import parity_tests.test_models as model_tests
import parity_tests.test_parity_matrix as matrix_tests
import parity_tests.test_saved_model as saved_model_tests
from models import reference_names
from toolkit.parity.tolerances import QUANTIZED_BUDGETS
from toolkit.registry import exporters, runtimes

SUITE = Path(__file__).resolve().parent
# Tests that must take every reference model as their `name` parameter (modules imported under other
# names, so pytest does not collect their tests a second time here).
PER_MODEL_TESTS = (model_tests.test_training_loss_decreases, model_tests.test_keras_round_trip_is_identical,
                   saved_model_tests.test_saved_model_reproduces_keras,
                   exporter_tests.test_export_writes_artifact_and_manifest, matrix_tests.test_parity)


def _whole_suite(config: pytest.Config) -> bool:
    if config.option.keyword or config.option.markexpr not in ("", "not slow"):
        return False
    paths = [Path(arg.split("::")[0]).resolve() for arg in config.args]
    return all(path in (SUITE, SUITE.parent) for path in paths)


@pytest.fixture
def collected(request):
    if not _whole_suite(request.config):
        pytest.skip("coverage is judged on the whole suite, not on a selection of it")
    return [item for item in request.session.items if hasattr(item, "callspec")]


def _cases(items, function) -> list:
    found = [item for item in items if item.originalname == function.__name__]
    assert found, f"{function.__module__}.{function.__name__} was not collected: the suite lost it"
    return found


@pytest.mark.parametrize("function", PER_MODEL_TESTS, ids=lambda f: f.__name__)
def test_every_reference_model_has_cases(collected, function):
    covered = {item.callspec.params["name"] for item in _cases(collected, function)}
    missing = set(reference_names("small")) - covered
    assert not missing, f"{function.__name__} has no case for {sorted(missing)}"


def test_every_target_runtime_and_quantization_has_cases(collected):
    """Adding a target means an exporter, a runtime and a tolerance entry: catch the one forgotten."""
    items = _cases(collected, matrix_tests.test_parity)
    covered_targets = {item.callspec.params["target"] for item in items}
    covered_runtimes = {item.callspec.params["variant"].runtime for item in items}
    assert covered_targets == set(exporters()), f"targets without a parity case: {set(exporters()) - covered_targets}"
    registered = {name for name, entry in runtimes().items() if entry.target != "keras"}
    assert registered <= covered_runtimes, f"runtimes without a parity case: {sorted(registered - covered_runtimes)}"
    for target, entry in exporters().items():
        covered = {item.callspec.params["quantization"] for item in items if item.callspec.params["target"] == target}
        assert covered == set(entry.quantizations), f"{target}: quantizations without a case"
        missing = [q for q in entry.quantizations if q != "none" and q not in QUANTIZED_BUDGETS]
        assert not missing, f"{target}: no tolerance entry in toolkit/parity/tolerances.py for {missing}"
