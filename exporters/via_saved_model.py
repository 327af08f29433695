"""Shared step for converters that read a SavedModel (TFLite, ONNX, TF.js): write one, temporarily.

It is written beside the artifact's staging folder, named after it, not in $TMPDIR: a killed export
then leaves it where the next export of that artifact sweeps it (toolkit.files.sweep_stale_temporaries).
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from exporters.saved_model import write_saved_model
from toolkit.model.loading import LoadedModel


@contextlib.contextmanager
def temporary_saved_model(loaded: LoadedModel, staging: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=f"{staging.name}.savedmodel.", dir=staging.parent) as folder:
        write_saved_model(loaded, Path(folder))
        yield Path(folder)
