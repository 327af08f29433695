"""Exact rewrites of convolution, pooling and resizing layers: (serialized layer entry, target) ->
description, or None when the layer does not need one. exporters/rewrites.py holds the table that
says which target needs which; the layers put in place are in exporters/replacement_layers.py.
"""

from __future__ import annotations

from exporters.config_surgery import channels_last, input_shape, named, shown, spatial_dims, swap_class
from exporters.replacement_layers import transpose_crop
from toolkit.errors import UnsupportedOpError


def grouped_conv(entry: dict, target: str) -> str | None:
    """Conv1D/2D/3D(groups > 1), and channels_first Conv3D: Keras's TF backend runs them as an
    XLA-compiled nested function (StatefulPartitionedCall) that tf2onnx and TF.js cannot convert
    and whose grouped CONV_3D LiteRT cannot run. -> depthwise, or per-group convolutions."""
    config, class_name = entry["config"], entry["class_name"]
    groups = int(config.get("groups", 1))
    layout_only = groups == 1 and class_name == "Conv3D" and not channels_last(entry)
    if groups == 1 and not layout_only:
        return None
    swap_class(entry, f"Toolkit{class_name}")
    if layout_only:
        return f"{named(entry, class_name)}: channels_first convolution computed in channels_last between two transposes"
    shape = input_shape(entry)
    channels = None if not shape else shape[-1] if channels_last(entry) else shape[1]
    if channels == groups and class_name != "Conv3D":
        how = f"a depthwise convolution (multiplier {config['filters'] // groups})"
    else:
        how = f"{groups} convolutions over {'its' if channels is None else channels // groups} channels each, concatenated"
    return f"{named(entry, class_name)}: groups={groups} computed as {how}"


def full_conv_transpose(entry: dict, target: str) -> str | None:
    """Conv*DTranspose whose output is longer than the full transposed convolution (output_padding with
    padding="valid", or a kernel shorter than the stride): tf2onnx writes a ConvTranspose with negative
    pads, which ONNX Runtime refuses to load. -> the full convolution, cropped, then padded with zeros."""
    class_name = entry["class_name"]
    rank = int(class_name[4])  # Conv2DTranspose, Conv3DTranspose
    before, after, extra = zip(*(transpose_crop(entry["config"], axis) for axis in range(rank)))
    if not any(extra):
        return None
    swap_class(entry, f"Toolkit{class_name}")
    cropped = f"cropped by {before} at the start and {after} at the end, " if any(before + after) else ""
    return f"{named(entry, class_name)}: transposed convolution computed at its full size, {cropped}then {extra} zeros appended"


def separable_pooling_3d(entry: dict, target: str) -> str | None:
    """MaxPooling3D/AveragePooling3D -> 2D pooling over (height, width), then over depth (same windows)."""
    class_name = entry["class_name"]
    swap_class(entry, f"Toolkit{class_name}")
    return f"{named(entry, class_name)}: 3D pooling computed as a 2D pooling over height and width, then one over depth"


def bicubic_resize(entry: dict, target: str) -> str | None:
    """Resizing/UpSampling2D(interpolation="bicubic"): TF's ResizeBicubic -> the same linear map per axis,
    as two products with constant matrices built from TF's own kernel table."""
    config, class_name = entry["config"], entry["class_name"]
    if config.get("interpolation") != "bicubic":
        return None
    if config.get("crop_to_aspect_ratio") or config.get("pad_to_aspect_ratio") or config.get("antialias"):
        raise _bicubic_refused(entry, target, "covers plain bicubic resizing only (no crop_to_aspect_ratio, "
                               "pad_to_aspect_ratio or antialias)", "crop or pad before the layer")
    dims = spatial_dims(entry)
    if dims is None or None in dims:
        raise _bicubic_refused(entry, target, "(constant interpolation matrices) needs a fixed image size, but the "
                               f"layer's input shape is {shown(input_shape(entry))}", "give keras.Input a fixed height and width")
    swap_class(entry, f"ToolkitBicubic{class_name}")
    return (f"{named(entry, class_name)}: bicubic resize of {dims[0]}x{dims[1]} images computed as two matrix "
            "products with TF's ResizeBicubic weights (half-pixel centers, Keys a=-0.5)")


def _bicubic_refused(entry: dict, target: str, limit: str, fix: str) -> UnsupportedOpError:
    config, class_name = entry["config"], entry["class_name"]
    op = "ScaleAndTranslate" if config.get("antialias") else "ResizeBicubic"  # tf.image.resize's choice
    lacks = ("does not match TF in ONNX Runtime (exact cubic weights; TF's come from a 1024-step table)"
             if target == "onnx" else f"is not supported by {target}")
    return UnsupportedOpError(
        f"{target}: op {op} (from Keras layer '{config['name']}' ({class_name})) {lacks}, and the exact rewrite "
        f"{limit}; {fix}, or use interpolation='bilinear'"
    )
