"""Calibration data for static (int8, int16x8) quantization, shared by every target that quantizes activations.

`--calibration` (FILE.npz, or a folder of images for a model with one image input) is checked by the
CLI before any export (0 samples, NaN, wrong keys, undecodable images are usage errors); here it is
turned into the one-sample feeds that converters' calibrators iterate over.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.errors import InputsError, UnsupportedOpError
from toolkit.model.loading import LoadedModel

CALIBRATION_BATCHES = 32  # reference models without --calibration: this many of their own sample inputs


def representative_batches(loaded: LoadedModel, options: dict) -> list[dict[str, np.ndarray]]:
    """Calibration feeds: --calibration FILE.npz or DIR of images, else the reference model's sample inputs."""
    strings = [spec.name for spec in loaded.signature.inputs if spec.is_string]
    if strings:  # measured (TF 2.19): str arrays -> "ValueError: basic_string::_M_create"; object/bytes -> segfault
        raise UnsupportedOpError(
            f"int8: the calibrator cannot feed string input {', '.join(repr(n) for n in strings)}; "
            "use --quantize dynamic or fp16, or do the vocabulary lookup in the input pipeline and feed integer ids"
        )
    calibration = options.get("calibration")
    if calibration:
        from toolkit.model.inputs import load_inputs_file

        # Announced once by the CLI's up-front check (toolkit/export/options.py), not per artifact.
        feeds = load_inputs_file(Path(calibration), loaded.signature, "--calibration", announce=False)
        count = len(next(iter(feeds.values())))
        return [{name: value[i : i + 1] for name, value in feeds.items()} for i in range(count)]
    if loaded.reference is None:
        raise InputsError(f"int8 and int16x8 quantization of {loaded.name} need representative inputs: pass --calibration FILE.npz "
                          "(keys = input names) or a folder of images")
    return [loaded.reference.sample_inputs(loaded.signature.inputs, 1, seed=1000 + i) for i in range(CALIBRATION_BATCHES)]


def calibration_source(loaded: LoadedModel, options: dict) -> str:
    """What calibration ran on, for an artifact's notes."""
    calibration = options.get("calibration")
    if not calibration:
        return f"{CALIBRATION_BATCHES} of the reference model's sample inputs"
    from toolkit.model.image_folder import describe_image_folder, is_image_folder

    if is_image_folder(Path(calibration)):
        return describe_image_folder(Path(calibration), loaded.signature, "--calibration")
    return str(calibration)
