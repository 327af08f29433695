"""Shared step for converters that read a SavedModel (TFLite, ONNX, TF.js): write one, temporarily."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from exporters.saved_model import write_saved_model
from toolkit.model.loading import LoadedModel


@contextlib.contextmanager
def temporary_saved_model(loaded: LoadedModel) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="toolkit-sm-") as folder:
        write_saved_model(loaded, Path(folder))
        yield Path(folder)
