"""Exact rewrites of convolution, pooling, resizing, lookup and spectrogram layers: (serialized layer entry,
target) -> description, or None when the layer does not need one. exporters/rewrites.py holds the table that
says which target needs which; the layers put in place are in exporters/replacement_layers.py and
exporters/replacement_preprocessing.py.
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


def conv_transpose_as_conv(entry: dict, target: str) -> str | None:
    """Conv3DTranspose -> a Conv3D over the input with zeros inserted and around it, with the flipped kernel."""
    swap_class(entry, "ToolkitDirectConv3DTranspose")
    strides = entry["config"]["strides"]
    return f"{named(entry, 'Conv3DTranspose')}: computed as a Conv3D of the input with zeros inserted (strides {tuple(strides)}) and the flipped kernel"


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


def lookup_via_one_hot(entry: dict, target: str) -> str | None:
    """multi_hot/count of StringLookup, IntegerLookup or TextVectorization (no split, no ngrams) on (batch,
    tokens): Keras's TF fast path (Dense)Bincount -> max/sum over one_hot of the ids (the same counts)."""
    config, class_name = entry["config"], entry["class_name"].removeprefix("Toolkit")
    mode, shape = config.get("output_mode"), input_shape(entry)
    if mode not in ("multi_hot", "count") or config.get("sparse") or not shape or len(shape) != 2:
        return None
    if class_name == "TextVectorization" and (config.get("split") is not None or config.get("ngrams")):
        return None
    if not isinstance(config.get("vocabulary"), list):  # an adapted vocabulary is not in the config
        return None
    swap_class(entry, f"Toolkit{class_name}")
    config["one_hot_counts"] = True  # read by the replacement class (exporters/replacement_preprocessing.py)
    reduce = "max" if mode == "multi_hot" else "sum"
    return f"{named(entry, class_name)}: {mode} as {reduce} over one_hot of the ids instead of DenseBincount"


def integer_lookup_via_comparisons(entry: dict, target: str) -> str | None:
    """IntegerLookup (vocabulary in the config, one OOV index): the hash table -> a comparison of each value
    with the vocabulary (each matches at most one key; no match is the OOV id, as the table's default)."""
    config, shape = entry["config"], input_shape(entry)
    vocabulary, mode = config.get("vocabulary"), config.get("output_mode", "int")
    if config.get("invert") or config.get("num_oov_indices", 1) != 1 or not isinstance(vocabulary, list):
        return None
    if mode != "int" and (mode not in ("multi_hot", "count") or config.get("sparse") or not shape or len(shape) != 2):
        return None  # the replacement computes ids, and multi_hot/count of (batch, values)
    swap_class(entry, "ToolkitIntegerLookup")
    described = f"{named(entry, 'IntegerLookup')}: ids found by comparing with its {len(vocabulary)} vocabulary values"
    return described + _masked_counts_on_tfjs(config, target, mode, config.get("mask_token"))


def mel_spectrogram_via_matrices(entry: dict, target: str) -> str | None:
    """MelSpectrogram: its STFT (RFFT, complex values) -> framing and products with the windowed DFT matrices."""
    config, shape = entry["config"], input_shape(entry)
    if config.get("window") not in ("hann", "hamming", None):  # a window tensor: its values are not in the config
        return None
    if not shape or shape[-1] is None:
        raise UnsupportedOpError(
            f"{target}: op RFFT (from Keras layer '{config['name']}' (MelSpectrogram)) is not supported by {target}, "
            f"and the exact rewrite (DFT matrices) needs a fixed signal length, but the layer's input shape is "
            f"{shown(shape)}; give keras.Input a fixed number of samples")
    swap_class(entry, "ToolkitMelSpectrogram")
    return f"{named(entry, 'MelSpectrogram')}: STFT computed as framing and products with the {config['fft_length']}-point DFT's cosine and sine matrices"


def mask_in_table(entry: dict, target: str) -> str | None:
    """StringLookup/TextVectorization with a mask token and one OOV index: Equal(strings, mask) -> the mask token
    as one more key of the vocabulary table (mapped to the mask's id)."""
    config, class_name = entry["config"], entry["class_name"].removeprefix("Toolkit")
    mask = "" if class_name == "TextVectorization" else config.get("mask_token")  # TextVectorization masks ''
    if mask is None or config.get("invert") or config.get("num_oov_indices", 1) != 1 or config.get("sparse"):
        return None
    modes = ("multi_hot", "count") if class_name == "TextVectorization" else ("int", "multi_hot", "count")
    shape, mode = input_shape(entry), config.get("output_mode", "int")
    if mode not in modes or (mode != "int" and (not shape or len(shape) != 2)):
        return None  # the replacement looks up ids, and encodes multi_hot/count of (batch, tokens)
    if class_name == "TextVectorization" and (config.get("split") is not None or config.get("ngrams")):
        return None
    if not isinstance(config.get("vocabulary"), list):  # an adapted vocabulary is not in the config
        return None
    swap_class(entry, f"Toolkit{class_name}")
    described = f"{named(entry, class_name)}: mask token {mask!r} looked up in the vocabulary table instead of compared as a string"
    return described + _masked_counts_on_tfjs(config, target, mode, mask)


def _masked_counts_on_tfjs(config: dict, target: str, mode: str, mask: object) -> str:
    """multi_hot/count with a mask token on tfjs: Keras drops masked ids as int64 max, which TF.js (no int64) reads
    as -1 and its DenseBincount refuses ("Input x must be non-negative"); one_hot drops -1 as well."""
    if target != "tfjs" or mode not in ("multi_hot", "count") or mask is None:
        return ""
    config["one_hot_counts"] = True  # read by the replacement class (exporters/replacement_preprocessing.py)
    return f", and {mode} computed over one_hot (TF.js reads the dropped mask id, int64 max, as -1)"
