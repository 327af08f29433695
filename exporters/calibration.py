"""Calibration data for static (int8) quantization, shared by every target that quantizes activations.

`--calibration` is checked by the CLI before any export (0 samples, NaN, wrong keys are usage
errors); here it is turned into the one-sample feeds that converters' calibrators iterate over.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from toolkit.errors import InputsError, UnsupportedOpError
from toolkit.model.loading import LoadedModel

CALIBRATION_BATCHES = 32  # reference models without --calibration: this many of their own sample inputs


def representative_batches(loaded: LoadedModel, options: dict) -> list[dict[str, np.ndarray]]:
    """Calibration feeds for int8: --calibration FILE.npz, else the reference model's sample inputs."""
    strings = [spec.name for spec in loaded.signature.inputs if spec.is_string]
    if strings:  # measured (TF 2.19): str arrays -> "ValueError: basic_string::_M_create"; object/bytes -> segfault
        raise UnsupportedOpError(
            f"int8: the calibrator cannot feed string input {', '.join(repr(n) for n in strings)}; "
            "use --quantize dynamic or fp16, or do the vocabulary lookup in the input pipeline and feed integer ids"
        )
    calibration = options.get("calibration")
    if calibration:
        from toolkit.model.inputs import load_inputs_file

        feeds = load_inputs_file(Path(calibration), loaded.signature, "--calibration")
        count = len(next(iter(feeds.values())))
        return [{name: value[i : i + 1] for name, value in feeds.items()} for i in range(count)]
    if loaded.reference is None:
        raise InputsError(f"int8 quantization of {loaded.name} needs representative inputs: pass --calibration FILE.npz (keys = input names)")
    return [loaded.reference.sample_inputs(loaded.signature.inputs, 1, seed=1000 + i) for i in range(CALIBRATION_BATCHES)]
