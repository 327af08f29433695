"""A folder of images as the inputs of a model with one image input (--calibration DIR, --inputs DIR).

Real pictures are the best calibration data and the best parity inputs, and people have folders of
them, not .npz files. Each image is decoded with Pillow (first frame), converted to the input's
channels (L or RGB), resized to its (H, W) with bilinear filtering, and its 0..255 pixels are mapped
linearly onto the range the model expects: the one toolkit/model/input_ranges.py read from its
Rescaling/Normalization layer, or --input-range; [0, 1] when neither says (the usual x / 255).
Files are taken in sorted name order, so the same folder always gives the same feeds.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from toolkit.errors import InputsError
from toolkit.model.spec import ModelSignature, TensorSpec

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
IMAGE_CHANNELS = {1: "L", 3: "RGB"}  # channels of the input -> the Pillow mode images are converted to
UNIT_RANGE_REASON = "the model declares no input range (no leading Rescaling/Normalization, no --input-range): [0, 1] assumed"


@dataclass(frozen=True)
class ImageFeeds:
    """Decoded images by input name, and one line saying how they were prepared."""

    feeds: dict[str, np.ndarray]
    description: str


def is_image_folder(path: Path) -> bool:
    return Path(path).is_dir()


def image_files(folder: Path) -> list[Path]:
    """The image files directly in `folder`, in sorted name order (other files are ignored)."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def folder_sha256(folder: Path) -> str:
    """Hash of the image files' names and bytes: an edited, added, removed or renamed image changes it."""
    digest = hashlib.sha256()
    for path in image_files(folder):
        digest.update(path.name.encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_input(signature: ModelSignature, where: str) -> TensorSpec:
    """The model's one image input: float, (N, H, W, C) with H and W fixed and C 1 or 3 (channels last)."""
    specs = signature.inputs
    spec = specs[0] if len(specs) == 1 else None
    if spec is None or not _is_image_spec(spec):
        shown = ", ".join(f"{s.name} {tuple(s.shape)} {s.dtype}" for s in specs)
        raise InputsError(f"{where}: a folder of images needs a model with one image input; pass FILE.npz "
                          f"(the model takes {shown}; an image input is (H, W, C) float with C 1 or 3)")
    return spec


def _is_image_spec(spec: TensorSpec) -> bool:
    shape = tuple(spec.shape)
    return (not spec.is_string and np.issubdtype(np.dtype(spec.dtype), np.floating) and len(shape) == 4
            and all(isinstance(d, int) for d in shape[1:]) and shape[3] in IMAGE_CHANNELS)


def pixel_range(spec: TensorSpec) -> tuple[float, float, str]:
    """(low, high, where it came from) that pixel values 0..255 are mapped onto."""
    if spec.value_range is None:
        return 0.0, 1.0, UNIT_RANGE_REASON
    low, high = spec.value_range
    return float(low), float(high), f"from {spec.range_source or 'the model'}"


def load_image_folder(folder: Path, signature: ModelSignature, flag: str) -> ImageFeeds:
    """Every image of `folder` prepared for the model's image input, as one batch."""
    where = f"{flag} {folder}"
    spec = image_input(signature, where)
    files = image_files(folder)
    if not files:
        raise InputsError(f"{where} holds 0 images ({', '.join(s[1:] for s in IMAGE_SUFFIXES)}); "
                          "add images or pass FILE.npz")
    _, height, width, channels = spec.shape
    low, high, _ = pixel_range(spec)
    pixels = np.stack([_decode(path, (width, height), IMAGE_CHANNELS[channels], where) for path in files])
    values = low + pixels.astype(np.float64) * ((high - low) / 255.0)
    feeds = {spec.name: values.reshape(len(files), height, width, channels).astype(spec.dtype)}
    return ImageFeeds(feeds, describe_image_folder(folder, signature, flag))


def describe_image_folder(folder: Path, signature: ModelSignature, flag: str) -> str:
    """One line: how many images, the size and mode they are resized to, and the scaling (with its reason)."""
    spec = image_input(signature, f"{flag} {folder}")
    _, height, width, channels = spec.shape
    low, high, reason = pixel_range(spec)
    return (f"{flag} {folder}: {len(image_files(folder))} images -> {height}x{width} {IMAGE_CHANNELS[channels]} "
            f"(bilinear), pixels 0..255 -> [{low:g}, {high:g}] ({reason})")


def _decode(path: Path, size: tuple[int, int], mode: str, where: str) -> np.ndarray:
    """One image's first frame in `mode`, resized to `size` (width, height), as uint8."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.seek(0)
            return np.asarray(image.convert(mode).resize(size, Image.Resampling.BILINEAR), dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        # UnidentifiedImageError is an OSError; truncated files raise OSError or SyntaxError.
        text = " ".join(str(error).split())
        raise InputsError(f"{where}: {path.name} is not an image Pillow can decode ({text}); "
                          "remove or re-save it") from error
