"""Shared step for converters that read a SavedModel (TFLite, ONNX, TF.js): write one, temporarily."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from exporters.saved_model import write_saved_model


@contextlib.contextmanager
def temporary_saved_model(loaded):
    with tempfile.TemporaryDirectory(prefix="toolkit-sm-") as folder:
        write_saved_model(loaded, Path(folder))
        yield Path(folder)
