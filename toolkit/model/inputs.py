"""User-supplied input files (--inputs, --calibration): .npz keyed by input name, checked against the model."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from toolkit.errors import InputsError
from toolkit.model.spec import ModelSignature, check_feeds


def load_inputs_file(path: Path, signature: ModelSignature) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise InputsError(f"inputs file {path} does not exist; pass an .npz with one array per input name")
    try:
        with np.load(path, allow_pickle=False) as archive:
            feeds = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise InputsError(f"{path} is not a readable .npz file ({error}); save it with numpy.savez") from error
    problems = check_feeds(signature.inputs, feeds)
    if problems:
        raise InputsError(f"{path}: " + "; ".join(problems))
    sizes = {len(value) for value in feeds.values()}
    if len(sizes) != 1:
        raise InputsError(f"{path}: inputs have different batch sizes {sorted(sizes)}; give every input the same first dimension")
    return feeds
