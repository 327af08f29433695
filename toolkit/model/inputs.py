"""User-supplied inputs (--inputs, --calibration): an .npz keyed by input name, or a folder of images for a
model with one image input (toolkit/model/image_folder.py); checked against the model."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import numpy as np

from toolkit.errors import InputsError
from toolkit.model.image_folder import is_image_folder, load_image_folder
from toolkit.model.spec import ModelSignature, check_feeds


def load_inputs_file(path: Path, signature: ModelSignature, flag: str = "--inputs",
                     announce: bool = True) -> dict[str, np.ndarray]:
    """Arrays by input name, checked: names, dtypes, shapes, one batch size, at least one sample, finite values.

    `flag` names the option in messages (--inputs or --calibration). Non-finite values are refused:
    as inputs they make every comparison meaningless, and a calibrator fed NaN writes an
    "int8" model whose ranges are garbage. A folder of images is decoded and scaled for the model's
    image input; with `announce`, one line on stderr says how (size, scaling), since the scaling is
    a guess the user should see.
    """
    path = Path(path)
    if is_image_folder(path):
        images = load_image_folder(path, signature, flag)
        if announce:
            print(f"toolkit: note: {images.description}", file=sys.stderr, flush=True)
        return images.feeds
    if not path.is_file():
        raise InputsError(f"{flag} file {path} does not exist; pass an .npz with one array per input name "
                          "or a folder of images")
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
    if sizes == {0}:
        raise InputsError(f"{flag} {path} holds 0 samples; give each input at least one row")
    for name, value in feeds.items():
        if np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
            count = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
            raise InputsError(f"{flag} {path}: input '{name}' has {count} NaN or infinite value(s); "
                              "replace them with real samples")
    return feeds
