"""Which page a model gets, decided from its signature, and the value range of an image input.

- "digits": one (N, 64) float input and one (N, 10) output: the drawing pad and the held-out digits.
- "image": one float32 input (N, H, W, C) with C 1 (grey) or 3 (RGB), channels last: an image picker.
- "other": anything else: the page runs the golden inputs and steps through them.

Image value range: the range the toolkit itself samples that input from (read from the model's first
Rescaling or Normalization layer, so [0, 255] when it rescales raw pixels, or set with --input-range),
and [0, 1] otherwise, the usual convention for models trained on x / 255. config.json carries the
range and the reason, and the page shows both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.model.loading import LoadedModel

DIGITS, IMAGE, OTHER = "digits", "image", "other"
IMAGE_CHANNELS = (1, 3)
UNIT_RANGE = (0.0, 1.0)
UNIT_RULE = "[0, 1]: the model does not rescale raw pixels itself (no leading Rescaling layer), so pixels / 255"


def is_digit_like(signature: dict) -> bool:
    """One (N, 64) float input and one (N, 10) output: the drawing pad and samples apply."""
    inputs, outputs = signature["inputs"], signature["outputs"]
    return (
        len(inputs) == 1 and len(outputs) == 1
        and inputs[0]["shape"][1:] == [64] and inputs[0]["dtype"] == "float32"
        and outputs[0]["shape"][1:] == [10]
    )


def is_image_like(signature: dict) -> bool:
    """One float32 input shaped (N, H, W, C), H and W fixed, C 1 or 3: a picture can be resized into it."""
    inputs = signature["inputs"]
    if len(inputs) != 1 or inputs[0]["dtype"] != "float32":
        return False
    shape = inputs[0]["shape"]
    return len(shape) == 4 and all(isinstance(d, int) for d in shape[1:]) and shape[3] in IMAGE_CHANNELS


def model_kind(signature: dict) -> str:
    if is_digit_like(signature):
        return DIGITS
    return IMAGE if is_image_like(signature) else OTHER


def image_input(signature: dict, value_range: tuple[tuple[float, float], str]) -> dict:
    """What the picker needs: the input's name, height, width, channels and value range (with its reason)."""
    spec = signature["inputs"][0]
    (low, high), rule = value_range
    _, height, width, channels = spec["shape"]
    return {"input": spec["name"], "height": height, "width": width, "channels": channels,
            "range": [low, high], "range_rule": rule}


def image_value_range(loaded: LoadedModel | None) -> tuple[tuple[float, float], str]:
    """((low, high), reason): the range the toolkit samples the image input from (the model's own
    preprocessing layer, see toolkit/model/input_ranges.py, or --input-range), else [0, 1]."""
    spec = loaded.signature.inputs[0] if loaded is not None and loaded.signature.inputs else None
    if spec is None or spec.value_range is None:
        return UNIT_RANGE, UNIT_RULE
    low, high = spec.value_range
    return (low, high), f"[{low:g}, {high:g}]: from {spec.range_source}, which takes this range"
