"""Session-scoped fixtures: one TensorFlow import, each reference model trained and exported once.

Exports go to $TOOLKIT_CACHE_DIR/test-artifacts and are reused across runs when the
source model's hash and options are unchanged (the exporter's own up-to-date check); a
cached artifact of an older source model is replaced, since the cache belongs to the suite.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from toolkit.plugins import load_plugins
from toolkit.tf_env import import_tf

import_tf()
load_plugins()  # what toolkit.api does: every exporter and runtime registered

from models import reference_names  # noqa: E402
from toolkit.files import cache_dir  # noqa: E402

MODEL_NAMES = reference_names("small")  # the zoo tier has its own tests: parity_tests/test_zoo.py


@pytest.fixture(scope="session")
def artifacts_root() -> Path:
    root = cache_dir() / "test-artifacts"
    root.mkdir(parents=True, exist_ok=True)
    return root


class _Loaded(dict):
    def __missing__(self, name):
        from toolkit.model.loading import resolve_model

        self[name] = resolve_model(name)
        return self[name]


@pytest.fixture(scope="session")
def loaded_models():
    """name -> LoadedModel, loaded on first use and kept for the session."""
    return _Loaded()


class _Exports(dict):
    def __init__(self, loaded_models, root):
        super().__init__()
        self.loaded_models = loaded_models
        self.root = root

    def __missing__(self, key):
        from toolkit.export.run import export_model

        name, target, quantization = key
        loaded = self.loaded_models[name]
        (result,) = export_model(loaded, [(target, quantization)], self.root, replace_conflicts=True)
        self[key] = result
        return result


@pytest.fixture(scope="session")
def exports(loaded_models, artifacts_root):
    """(model, target, quantization) -> ExportResult, exported once per session (cached on disk)."""
    return _Exports(loaded_models, artifacts_root)
