"""Exact op rewrites (exporters/rewrites.py) and the one-line errors where no rewrite exists.

Each case is a small Functional model with random non-trivial weights, saved to .keras,
exported once per session (cached by content hash under $TOOLKIT_CACHE_DIR) and checked
with check_parity at the float32 tolerances: a rewrite must change the graph, never the
numbers. Which layers need which rewrite was found by benchmarks/probe_ops.py.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from benchmarks.probe_ops import parity_variants, randomize_weights
from parity_tests.test_browser import needs_browser
from toolkit.export.manifest import read_manifest
from toolkit.files import cache_dir, sha256_file

SEQ = (8, 6)
VOCAB, TOKENS = 30, 10
# TF.js backends differ in which kernels they have and get right: each rewrite is checked in all of them;
# ONNX rewrites also in ONNX Runtime Web, whose shape inference is stricter than onnxruntime's.
TFJS_RUNTIMES = ("tfjs-node-cpu", "tfjs-node-wasm", "tfjs-browser", "ort-web")


# --- models that need a rewrite -------------------------------------------------------------
def recurrent():
    import keras

    inputs = keras.Input(SEQ, name="x")
    x = keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True), name="bi_lstm")(inputs)
    x = keras.layers.GRU(4, return_sequences=True, name="gru")(x)
    last = keras.layers.SimpleRNN(3, name="rnn")(x)
    return keras.Model(inputs, [last, keras.layers.GRU(2, name="gru_last")(x)], name="recurrent")


def masked_lstm():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    vectors = keras.layers.Embedding(VOCAB, 6, mask_zero=True)(inputs)
    return keras.Model(inputs, keras.layers.LSTM(4, name="lstm")(vectors), name="masked_lstm")


def _dense_then(activation_layer, op):
    import keras

    def build():
        inputs = keras.Input((12,), name="x")
        x = keras.layers.Dense(12, activation=activation_layer, name="dense")(inputs * 2.0)
        x = keras.layers.Activation(activation_layer, name="act")(x * 2.0)
        return keras.Model(inputs, op(x), name=f"{activation_layer}_model")

    return build


def _ops():
    from keras import ops

    return ops


gelu = _dense_then("gelu", lambda x: _ops().gelu(x, approximate=False))
softsign = _dense_then("softsign", lambda x: _ops().softsign(x))
celu = _dense_then("celu", lambda x: _ops().celu(x, alpha=0.5))


def category_encoding():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    multi = keras.layers.CategoryEncoding(VOCAB, output_mode="multi_hot", name="multi")(inputs)
    count = keras.layers.CategoryEncoding(VOCAB, output_mode="count", name="count")(inputs)
    return keras.Model(inputs, keras.layers.Dense(3, name="head")(multi + count), name="category_encoding")


def discretization():
    import keras

    inputs = keras.Input((12,), name="x")
    bins = keras.layers.Discretization(bin_boundaries=[-1.0, -0.25, 0.0, 0.5, 1.5], name="bins")(inputs)
    return keras.Model(inputs, bins, name="discretization")


def hard_swish():
    """MobileNetV3's hard-swish: grappler fuses it into _FusedConv2D, which TF.js cannot run."""
    import keras

    return keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), alpha=0.75, weights=None, classes=10,
                                               include_preprocessing=False, name="mobilenet_v3")


def attention():
    """A ViT-style encoder block (patches, MultiHeadAttention, exact gelu) and GroupQueryAttention: Einsum."""
    import keras

    inputs = keras.Input((16, 16, 3), name="pixels")
    x = keras.layers.Reshape((16, 16))(keras.layers.Conv2D(16, 4, strides=4, name="patches")(inputs))
    y = keras.layers.LayerNormalization(name="norm_1")(x)
    x = x + keras.layers.MultiHeadAttention(num_heads=2, key_dim=8, name="mha")(y, y)
    y = keras.layers.Dense(16, name="mlp_out")(keras.layers.Dense(32, activation="gelu", name="mlp")(
        keras.layers.LayerNormalization(name="norm_2")(x)))
    x = x + y
    x = keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2, name="gqa")(x, x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling1D()(x), name="attention")


def causal_attention():
    import keras

    inputs = keras.Input(SEQ, name="x")
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="causal_mha")
    return keras.Model(inputs, mha(inputs, inputs, use_causal_mask=True), name="causal_attention")


def attention_over_two_axes():
    """attention_axes=(1, 2): Einsum equations with several free letters per operand (Reshape needed)."""
    import keras

    inputs = keras.Input((3, 4, 6), name="grid")
    mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, attention_axes=(1, 2), name="mha_2d")
    return keras.Model(inputs, mha(inputs, inputs), name="attention_over_two_axes")


def einsum_equations():
    import keras

    inputs = keras.Input((4, 6), name="x")
    return keras.Model(inputs, _register_custom_layers()["Einsums"](name="einsums")(inputs), name="einsum_equations")


def cumsum_last_axis():
    import keras

    cumulative = _register_custom_layers()["CumulativeSum"]
    inputs = keras.Input((7,), name="x")
    return keras.Model(inputs, cumulative(name="running_total")(keras.layers.Dense(7)(inputs)), name="cumsum_last_axis")


def max_pool_3d():
    import keras

    inputs = keras.Input((6, 6, 6, 2), name="volume")
    # Shifted down so that most windows hold only negative values (TF.js wasm returned ~1e-38 there).
    pooled = keras.layers.MaxPooling3D(2, name="pool")(inputs - 3.0)
    same = keras.layers.MaxPooling3D(3, strides=2, padding="same", name="pool_same")(inputs - 3.0)
    return keras.Model(inputs, [pooled, same], name="max_pool_3d")


def bool_where():
    import keras

    inputs = keras.Input((6,), name="x")
    return keras.Model(inputs, _register_custom_layers()["BoolWhere"](name="pick")(inputs), name="bool_where")


def one_hot():
    import keras

    inputs = keras.Input((1,), dtype="int32", name="ids")
    return keras.Model(inputs, keras.layers.CategoryEncoding(VOCAB, output_mode="one_hot", name="hot")(inputs), name="one_hot")
def grouped_conv():
    import keras

    image, seq = keras.Input((6, 6, 4), name="image"), keras.Input(SEQ, name="seq")
    depthwise = keras.layers.Conv2D(8, 3, groups=4, padding="same", name="depthwise_like")(image)
    grouped = keras.layers.Conv2D(8, 3, groups=2, activation="relu", name="grouped")(depthwise)
    grouped_1d = keras.layers.Conv1D(6, 3, groups=3, padding="causal", name="grouped_1d")(seq)
    return keras.Model([image, seq], [grouped, grouped_1d], name="grouped_conv")


def conv_3d():
    import keras

    volume = keras.Input((4, 4, 4, 4), name="volume")
    grouped = keras.layers.Conv3D(4, 2, groups=2, name="grouped_3d")(volume)
    first = keras.layers.Conv3D(3, 2, data_format="channels_first", name="channels_first_3d")(volume)
    return keras.Model(volume, [grouped, first], name="conv_3d")


def conv_transpose():
    import keras

    image = keras.Input((5, 5, 3), name="image")
    padded = keras.layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, name="output_padding")(image)
    sparse = keras.layers.Conv2DTranspose(2, 2, strides=3, padding="same", name="kernel_below_stride")(image)
    return keras.Model(image, [padded, sparse], name="conv_transpose")


def pooling_3d():
    import keras

    volume = keras.Input((4, 6, 6, 3), name="volume")
    peak = keras.layers.MaxPooling3D(2, name="max_3d")(volume)
    mean = keras.layers.AveragePooling3D((2, 3, 2), strides=(1, 2, 2), padding="same", name="avg_3d")(volume)
    pooled = [keras.layers.GlobalAveragePooling3D()(volume), keras.layers.GlobalMaxPooling3D()(volume)]
    flat = [keras.layers.Flatten()(t) for t in (peak, mean)]
    return keras.Model(volume, keras.layers.Concatenate(name="pooled")(flat + pooled), name="pooling_3d")


def conv_lstm():
    import keras

    frames, signals = keras.Input((4, 5, 5, 2), name="frames"), keras.Input((4, 6, 2), name="signals")
    lstm_2d = keras.layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True, name="conv_lstm_2d")(frames)
    lstm_1d = keras.layers.ConvLSTM1D(3, 3, name="conv_lstm_1d")(signals)
    return keras.Model([frames, signals], [lstm_2d, lstm_1d], name="conv_lstm")


def gelu_feeds_relu():
    import keras

    inputs = keras.Input((6,), name="x")
    dense = keras.layers.Dense(6, activation="gelu", name="dense")(inputs)
    relu6 = keras.layers.Activation("relu6", name="r6")(keras.layers.Dropout(0.2, name="drop")(dense))
    relu = keras.layers.Activation("relu", name="r")(keras.layers.Activation("gelu", name="g")(inputs * 2.0))
    return keras.Model(inputs, [relu6, relu], name="gelu_feeds_relu")


def bicubic():
    import keras

    image = keras.Input((5, 4, 3), name="image")
    resized = keras.layers.Resizing(8, 9, interpolation="bicubic", name="resize")(image)
    upsampled = keras.layers.UpSampling2D((2, 3), interpolation="bicubic", name="upsample")(image)
    return keras.Model(image, [resized, upsampled], name="bicubic")


def encoder_decoder():
    """A decoder LSTM called with initial_state: its build config records shapes_dict, not input_shape."""
    import keras

    source, target = keras.Input(SEQ, name="source"), keras.Input((5, 4), name="target")
    _, h, c = keras.layers.LSTM(5, return_state=True, name="encoder")(source)
    decoded = keras.layers.LSTM(5, return_sequences=True, name="decoder")(target, initial_state=[h, c])
    return keras.Model([source, target], decoded, name="encoder_decoder")


def augmentation():
    """Augmentation layers whose inference graph still updates their seed: the identity at inference."""
    import keras

    image = keras.Input((6, 6, 3), name="image")
    x = keras.layers.RandomHue(0.5, name="hue")(keras.layers.RandomGrayscale(name="gray")(image))
    return keras.Model(image, keras.layers.Conv2D(2, 3, name="conv")(keras.layers.MixUp(name="mix")(x)), name="augmentation")


def lookups():
    """IntegerLookup (int and count, with a mask token) and a multi-hot StringLookup on strings."""
    import keras

    ids, words = keras.Input((TOKENS,), dtype="int32", name="ids"), keras.Input((4,), dtype="string", name="words")
    looked_up = keras.layers.IntegerLookup(vocabulary=[3, 7, 11, 19], name="int_lookup")(ids)
    counted = keras.layers.IntegerLookup(vocabulary=[3, 7], mask_token=0, output_mode="count", name="int_count")(ids)
    hot = keras.layers.StringLookup(vocabulary=["the", "cat", "sat"], mask_token="", output_mode="multi_hot",
                                    name="str_hot")(words)
    return keras.Model([ids, words], [looked_up, counted, hot], name="lookups")


def conv_3d_transpose():
    import keras

    volume = keras.Input((3, 4, 4, 2), name="volume")
    strided = keras.layers.Conv3DTranspose(3, (2, 3, 2), strides=(2, 1, 2), name="strided")(volume)
    same = keras.layers.Conv3DTranspose(2, 3, strides=2, padding="same", output_padding=1, name="same")(volume)
    return keras.Model(volume, [strided, same], name="conv_3d_transpose")


def adaptive_pooling_3d():
    import keras

    volume = keras.Input((5, 6, 7, 2), name="volume")
    peak = keras.layers.AdaptiveMaxPooling3D((2, 4, 3), name="adaptive_max")(volume)
    return keras.Model(volume, [peak, keras.layers.AdaptiveAveragePooling3D(3, name="adaptive_avg")(volume)], name="adaptive_3d")


def mel_spectrogram():
    import keras

    audio = keras.Input((300,), name="audio")
    mel = keras.layers.MelSpectrogram(fft_length=64, sequence_stride=24, sequence_length=48, num_mel_bins=8,
                                      sampling_rate=8000, name="mel")(audio)
    return keras.Model(audio, mel, name="mel_spectrogram")


def resize_sizes():
    """Output sizes whose float32 ratio to the input undershoots (10/12, 7/12): ONNX Resize gets sizes."""
    import keras

    image = keras.Input((12, 12, 3), name="image")
    bilinear = keras.layers.Resizing(16, 10, name="bilinear")(image)
    return keras.Model(image, [bilinear, keras.layers.Resizing(7, 9, interpolation="nearest", name="nearest")(image)],
                       name="resize_sizes")


def string_ids():
    """A StringLookup's int64 ids as the output: tf2onnx writes that output without a shape."""
    import keras

    words = keras.Input((4,), dtype="string", name="words")
    return keras.Model(words, keras.layers.StringLookup(vocabulary=["the", "cat"], name="word_ids")(words), name="string_ids")


# case -> (builder, {target: substrings every rewrite description of that target must show})
REWRITTEN = {
    "recurrent": (recurrent, {
        t: ["LSTM 'forward_lstm'", "LSTM 'backward_lstm'", "GRU 'gru'", "SimpleRNN 'rnn'", "unrolled over its 8"]
        for t in ("tflite", "tfjs")
    }),
    "masked_lstm": (masked_lstm, {t: ["LSTM 'lstm': recurrent loop unrolled"] for t in ("tflite", "tfjs")}),
    "gelu": (gelu, {t: ["Dense 'dense'", "Activation 'act'", "keras.ops.gelu", "erf"] for t in ("onnx", "tfjs")}),
    "softsign": (softsign, {t: ["Dense 'dense'", "Activation 'act'", "keras.ops.softsign"] for t in ("tflite", "tfjs")}),
    "celu": (celu, {"onnx": ["Dense 'dense'", "Activation 'act'", "keras.ops.celu", "exp("]}),
    "category_encoding": (category_encoding, {"tflite": ["CategoryEncoding 'multi'", "CategoryEncoding 'count'"]}),
    "discretization": (discretization, {t: ["Discretization 'bins'", "Bucketize"] for t in ("onnx", "tfjs")}),
    # Rewrites of the converted TF.js graph (exporters/tfjs_graph.py and the modules it calls).
    "hard_swish": (hard_swish, {"tfjs": ["_FusedHardSwish split into _FusedConv2D + x*relu6(x+3)/6"]}),
    "attention": (attention, {"tfjs": ["Einsum 'BTNH,BSNH->BNTS'", "Einsum 'BNTS,BSNH->BTNH'", "/mha", "/gqa"]}),
    "attention_over_two_axes": (attention_over_two_axes, {"tfjs": ["Einsum 'abcde,afgde->adfgbc'", "BatchMatMul + Reshape"]}),
    # At batch 1 TF.js wasm caches a matmul per right-hand buffer: 'abc,abc->a' and 'abc,abd->acd' share y.
    "einsum_equations": (einsum_equations, {"tfjs": ["Einsum 'abc,abc->a'", "Einsum 'abc,abd->acd'", "Einsum 'abcd,adc->ab'"]}),
    "causal_attention": (causal_attention, {"tfjs": ["MatrixBandPart(lower=-1, upper=0)", "/causal_mha", "Einsum"]}),
    "cumsum_last_axis": (cumsum_last_axis, {"tfjs": ["Cumsum axis -1 given as 1", "running_total"]}),
    "max_pool_3d": (max_pool_3d, {"tfjs": ["MaxPool3D computed as two MaxPool", "/pool_1/", "/pool_same_1/"]}),
    "one_hot": (one_hot, {"tfjs": ["OneHot computed as a select", "/hot_1/"]}),
    "bool_where": (bool_where, {"tfjs": ["SelectV2 on bool computed as (c AND a) OR (NOT c AND b)", "/pick_1/"]}),
    "grouped_conv": (grouped_conv, {t: [
        "Conv2D 'depthwise_like': groups=4 computed as a depthwise convolution (multiplier 2)",
        "Conv2D 'grouped': groups=2 computed as 2 convolutions", "Conv1D 'grouped_1d': groups=3 computed as 3 convolutions",
    ] for t in ("onnx", "tfjs")}),
    "conv_3d": (conv_3d, {t: ["Conv3D 'grouped_3d': groups=2", "Conv3D 'channels_first_3d': channels_first"]
                          for t in ("tflite", "onnx", "tfjs")}),
    "conv_transpose": (conv_transpose, {"onnx": [
        "Conv2DTranspose 'output_padding'", "Conv2DTranspose 'kernel_below_stride'", "zeros appended", "negative",
    ]}),
    "pooling_3d": (pooling_3d, {"tflite": ["MaxPooling3D 'max_3d'", "AveragePooling3D 'avg_3d'", "2D pooling"]}),
    "conv_lstm": (conv_lstm, {t: ["ConvLSTM2D 'conv_lstm_2d'", "ConvLSTM1D 'conv_lstm_1d'", "unrolled over its 4"]
                              for t in ("tflite", "tfjs")}),
    "gelu_feeds_relu": (gelu_feeds_relu, {"tflite": ["Dense 'dense'", "Activation 'g'", "identity reshape"]}),
    "bicubic": (bicubic, {t: ["Resizing 'resize'", "UpSampling2D 'upsample'", "ResizeBicubic"]
                          for t in ("tflite", "onnx", "tfjs")}),
    "encoder_decoder": (encoder_decoder, {t: ["LSTM 'decoder': recurrent loop unrolled over its 5"] for t in ("tflite", "tfjs")}),
    "augmentation": (augmentation, {"tfjs": [f"{name}: computed as the identity" for name in (
        "RandomHue 'hue'", "RandomGrayscale 'gray'", "MixUp 'mix'")]}),
    "lookups": (lookups, {
        "tflite": ["IntegerLookup 'int_lookup': ids found by comparing", "IntegerLookup 'int_count': count as sum",
                   "StringLookup 'str_hot': multi_hot as max over one_hot"],
        "onnx": ["IntegerLookup 'int_lookup': ids found by comparing", "IntegerLookup 'int_count': ids found",
                 "StringLookup 'str_hot': mask token '' looked up in the vocabulary table"],
        "tfjs": ["IntegerLookup 'int_lookup': ids found by comparing", "StringLookup 'str_hot': mask token ''"],
    }),
    "conv_3d_transpose": (conv_3d_transpose, {"tfjs": ["Conv3DTranspose 'strided'", "Conv3DTranspose 'same'", "flipped kernel"]}),
    "adaptive_pooling_3d": (adaptive_pooling_3d, {"tflite": ["AdaptiveMaxPooling3D 'adaptive_max'",
                                                             "AdaptiveAveragePooling3D 'adaptive_avg'"]}),
    "mel_spectrogram": (mel_spectrogram, {t: ["MelSpectrogram 'mel': STFT computed as framing"] for t in ("onnx", "tfjs")}),
    # Rewrites of the converted ONNX graph (exporters/onnx_graph.py).
    "resize_sizes": (resize_sizes, {"onnx": ["Resize to [16, 10] given by sizes", "Resize to [7, 9] given by sizes"]}),
    "string_ids": (string_ids, {"onnx": ["output 'word_ids' given its shape from the Keras signature"]}),
}


# --- models that no rewrite reaches ---------------------------------------------------------
@functools.cache
def _register_custom_layers():
    """Classes whose ops live in Python `call` code, where no config rewrite reaches (graph rewrites do)."""
    import keras

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class SoftsignGate(keras.layers.Layer):
        def call(self, x):
            return keras.ops.softsign(x) * x

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class GroupedBlock(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = keras.layers.Conv2D(4, 3, groups=2, name="inner_grouped")

        def build(self, input_shape):
            self.conv.build(input_shape)

        def call(self, x):
            return self.conv(x)

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class SubclassedRecurrent(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.lstm = keras.layers.LSTM(4, name="inner_lstm")

        def call(self, x):
            return self.lstm(x)

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class CumulativeSum(keras.layers.Layer):
        def call(self, x):
            return keras.ops.cumsum(x, axis=-1)

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class BoolWhere(keras.layers.Layer):
        def call(self, x):
            return keras.ops.cast(keras.ops.where(x[:, :1] > 0, x > 0.5, x < -0.5), "float32")

    @keras.saving.register_keras_serializable(package="test_rewrites")
    class Einsums(keras.layers.Layer):
        """Equations with no free letter, shared right operands and several contracted letters."""

        def call(self, x):
            y, e = x * 2.0 + 1.0, keras.ops.einsum
            pairs = keras.ops.stack([x, y], -1)
            return [e("bij,bij->b", x, y), e("bij,bkj->bik", x, y), e("bij,bik->bjk", x, y),
                    e("bij,bi->bj", x, y[:, :, 0]), e("bijk,bkj->bi", pairs, keras.ops.stack([x[:, 0], y[:, 0]], 1))]

    return {cls.__name__: cls for cls in (SoftsignGate, SubclassedRecurrent, CumulativeSum, BoolWhere, Einsums, GroupedBlock)}


def softsign_in_custom_layer():
    import keras

    gate = _register_custom_layers()["SoftsignGate"]
    inputs = keras.Input((12,), name="x")
    return keras.Model(inputs, gate(name="gate")(keras.layers.Dense(12)(inputs)), name="custom_softsign")


def subclassed_lstm():
    import numpy as np

    subclassed = _register_custom_layers()["SubclassedRecurrent"]
    model = subclassed(name="subclassed_lstm")
    model(np.zeros((1, *SEQ), "float32"))
    return model


def grouped_conv_in_custom_layer():
    import keras

    block = _register_custom_layers()["GroupedBlock"]
    image = keras.Input((6, 6, 4), name="image")
    return keras.Model(image, block(name="block")(image), name="custom_grouped_conv")


def bicubic_any_size():
    import keras

    image = keras.Input((None, None, 3), name="image")
    return keras.Model(image, keras.layers.Resizing(6, 6, interpolation="bicubic", name="resize")(image), name="bicubic_any_size")


def hashing():
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    return keras.Model(inputs, keras.layers.Hashing(num_bins=8, name="hasher")(inputs), name="hashing")


def integer_lookup():
    """Two OOV indices (unknown values spread over them): the comparison rewrite covers one OOV index only."""
    import keras

    inputs = keras.Input((TOKENS,), dtype="int32", name="tokens")
    lookup = keras.layers.IntegerLookup(vocabulary=[3, 7, 11, 19], num_oov_indices=2, name="ids")
    return keras.Model(inputs, lookup(inputs), name="integer_lookup")


# case -> (builder, {target: substrings the one-line error must contain: op, layer, target})
UNSUPPORTED = {
    "softsign_in_custom_layer": (softsign_in_custom_layer, {
        "tflite": ["tflite:", "op Softsign", "'gate' (SoftsignGate)"],
        "tfjs": ["tfjs:", "op Softsign", "'gate' (SoftsignGate)"],
    }),
    "subclassed_lstm": (subclassed_lstm, {
        "tflite": ["tflite:", "op TensorListReserve", "'inner_lstm' (LSTM)", "unroll=True"],
    }),
    "hashing": (hashing, {
        "tflite": ["tflite:", "AsString, StringToHashBucketFast", "'hasher' (Hashing)"],
        "onnx": ["onnx (opset 17):", "op StringToHashBucketFast", "'hasher' (Hashing)"],
        "tfjs": ["tfjs:", "op AsString", "'hasher' (Hashing)"],
    }),
    "grouped_conv_in_custom_layer": (grouped_conv_in_custom_layer, {
        "onnx": ["onnx (opset 17):", "op StatefulPartitionedCall", "'inner_grouped' (Conv2D)", "grouped convolutions"],
        "tfjs": ["tfjs:", "op StatefulPartitionedCall", "'inner_grouped' (Conv2D)", "grouped convolutions"],
    }),
    "bicubic_any_size": (bicubic_any_size, {
        t: [f"{t}: op ResizeBicubic", "'resize' (Resizing)", "fixed image size", "(None, None, None, 3)"]
        for t in ("tflite", "onnx", "tfjs")
    }),
    "integer_lookup": (integer_lookup, {
        t: [f"{t}", "LookupTableFindV2", "'ids' (IntegerLookup)", "input pipeline"] for t in ("tflite", "onnx", "tfjs")
    }),
}


# --- fixtures: each case built, saved and exported once per session -------------------------
class _CaseExports(dict):
    """case -> (LoadedModel, {target: ExportResult}); models and artifacts cached by content hash."""

    def __init__(self, root: Path):
        super().__init__()
        self.root = root

    def __missing__(self, case):
        from toolkit import api
        from toolkit.export.run import export_model

        builder, expected = {**REWRITTEN, **UNSUPPORTED}[case]
        path = self.root / "models" / f"{case}.keras"
        if not path.exists():
            import keras

            keras.utils.set_random_seed(11)
            model = builder()
            randomize_weights(model)
            path.parent.mkdir(parents=True, exist_ok=True)
            model.save(path)
        else:
            builder()  # registers the custom classes a cached file needs
        loaded = api.load(str(path))
        results = export_model(loaded, [(t, "none") for t in expected], self.root / "artifacts")
        self[case] = (loaded, {r.target: r for r in results})
        return self[case]


@pytest.fixture(scope="session")
def case_exports():
    # Keyed by this file and the probe helpers: changing a model builds and exports it afresh.
    here = Path(__file__)
    key = sha256_file(here)[:8] + sha256_file(here.parents[1] / "benchmarks" / "probe_ops.py")[:8]
    return _CaseExports(cache_dir() / "test-rewrites" / key)


@pytest.fixture(scope="session")
def variants():
    return parity_variants(TFJS_RUNTIMES)


def _params(cases):
    return [pytest.param(case, target, id=f"{case}-{target}") for case, (_, expected) in cases.items() for target in expected]


# --- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case, target", _params(REWRITTEN))
def test_rewrite_exports_with_parity(case, target, case_exports, variants):
    loaded, results = case_exports[case]
    result = results[target]
    assert result.ok, result.error
    rewrites = read_manifest(result.path)["rewrites"]
    for expected in REWRITTEN[case][1][target]:
        assert any(expected in line for line in rewrites), f"no rewrite mentions {expected!r}: {rewrites}"
    mine = [v for v in variants if v.target == target and not v.runtime_class.is_browser]
    if not mine:
        pytest.skip(f"no runtime for {target} here (tfjs-node needs Node and its packages)")
    _assert_parity(loaded, result, mine)


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize("case", [case for case, (_, expected) in REWRITTEN.items() if "tfjs" in expected])
def test_tfjs_rewrite_has_parity_in_the_browser(case, case_exports, variants):
    loaded, results = case_exports[case]
    assert results["tfjs"].ok, results["tfjs"].error
    _assert_parity(loaded, results["tfjs"], [v for v in variants if v.target == "tfjs" and v.runtime_class.is_browser])


@pytest.mark.browser
@needs_browser
@pytest.mark.parametrize("case", [case for case, (_, expected) in REWRITTEN.items() if "onnx" in expected])
def test_onnx_rewrite_has_parity_in_ort_web(case, case_exports, variants):
    loaded, results = case_exports[case]
    assert results["onnx"].ok, results["onnx"].error
    _assert_parity(loaded, results["onnx"], [v for v in variants if v.target == "onnx" and v.runtime_class.is_browser])


@pytest.mark.parametrize("quantization", ["fp16", "uint8"])
def test_tfjs_graph_rewrites_hold_with_quantized_weights(quantization, case_exports, variants):
    """The constants a graph rewrite adds stay float32 beside fp16/uint8 weights."""
    from toolkit.export.run import export_model

    loaded, _ = case_exports["hard_swish"]
    (result,) = export_model(loaded, [("tfjs", quantization)], case_exports.root / "artifacts")
    assert result.ok, result.error
    assert any("x*relu6(x+3)/6" in line for line in read_manifest(result.path)["rewrites"])
    mine = [v for v in variants if v.target == "tfjs" and not v.runtime_class.is_browser]
    if not mine:
        pytest.skip("no TF.js runtime here (tfjs-node needs Node and its packages)")
    _assert_parity(loaded, result, mine)


def _assert_parity(loaded, result, variants) -> None:
    from toolkit.parity.run import check_parity

    rows = check_parity(loaded, [result], variants)
    assert rows and all(row.passed for row in rows), [(r.runtime, r.batch, r.error) for r in rows if not r.passed]


@pytest.mark.parametrize("case, target", _params(UNSUPPORTED))
def test_unsupported_op_fails_naming_op_layer_and_target(case, target, case_exports):
    _, results = case_exports[case]
    result = results[target]
    assert not result.ok, f"{case} exported on {target}; move it to REWRITTEN or the probe table"
    for expected in UNSUPPORTED[case][1][target]:
        assert expected in result.error, f"{expected!r} missing from: {result.error}"
    assert "\n" not in result.error
    assert not result.path.exists(), "a failed export left an artifact behind"


def test_rewrite_leaves_the_users_model_alone(case_exports):
    from exporters.rewrites import prepare_for_target

    loaded, _ = case_exports["recurrent"]
    rewritten, descriptions = prepare_for_target(loaded, "tflite")
    assert descriptions and rewritten.model is not loaded.model
    assert not any(getattr(layer, "unroll", False) for layer in loaded.model._flatten_layers())
    assert (rewritten.name, rewritten.path, rewritten.signature, rewritten.source_sha256) == (
        loaded.name, loaded.path, loaded.signature, loaded.source_sha256,
    )
    assert prepare_for_target(loaded, "saved_model") == (loaded, [])


def test_variable_length_sequence_cannot_be_unrolled(tmp_path):
    """Unrolling needs a fixed length; without one the export says so instead of writing a loop."""
    import keras

    from toolkit.export.run import export_model
    from toolkit.model.loading import LoadedModel
    from toolkit.model.spec import ModelSignature, TensorSpec

    inputs = keras.Input((None, 3), name="x")
    model = keras.Model(inputs, keras.layers.GRU(2, name="gru")(inputs))
    signature = ModelSignature((TensorSpec("x", (None, None, 3), "float32"),), (TensorSpec("gru", (None, 2), "float32"),))
    loaded = LoadedModel("variable_gru", tmp_path / "variable_gru.keras", model, signature, "0" * 64)
    (result,) = export_model(loaded, [("tflite", "none")], tmp_path)
    assert not result.ok
    for expected in ("tflite:", "While/TensorListReserve", "'gru' (GRU)", "fixed sequence length"):
        assert expected in result.error


# --- the TF.js graph rewrites' edge cases, on small hand-written model.json files ---------------
def _graph_model(folder: Path, nodes: list, weights: list[tuple[str, object]], shards: int = 1) -> Path:
    """model.json with `nodes`, and `weights` (name, int32 values) spread evenly over `shards` shard files."""
    import json

    import numpy as np

    blobs = [np.asarray(values, "<i4") for _, values in weights]
    data = b"".join(b.tobytes() for b in blobs)
    size = -(-len(data) // shards)
    paths = [f"group1-shard{i + 1}of{shards}.bin" for i in range(shards)]
    for i, name in enumerate(paths):
        (folder / name).write_bytes(data[i * size:(i + 1) * size])
    specs = [{"name": name, "shape": list(b.shape), "dtype": "int32"} for (name, _), b in zip(weights, blobs)]
    path = folder / "model.json"
    path.write_text(json.dumps({"modelTopology": {"node": nodes}, "weightsManifest": [{"paths": paths, "weights": specs}]}))
    return path


def _cumsum_graph(folder: Path, input_shape: dict) -> Path:
    nodes = [
        {"name": "x", "op": "Placeholder", "attr": {"shape": {"shape": input_shape}, "dtype": {"type": "DT_FLOAT"}}},
        {"name": "axis", "op": "Const", "attr": {"value": {"tensor": {"dtype": "DT_INT32", "tensorShape": {}}},
                                                 "dtype": {"type": "DT_INT32"}}},
        {"name": "total", "op": "Cumsum", "input": ["x", "axis"], "attr": {"T": {"type": "DT_FLOAT"}}},
    ]
    return _graph_model(folder, nodes, [("axis", -1)])


def test_cumsum_axis_is_made_positive_from_the_input_rank(tmp_path):
    from exporters.tfjs_graph import fix_graph_for_tfjs
    from exporters.tfjs_model import TfjsGraph

    path = _cumsum_graph(tmp_path, {"dim": [{"size": "-1"}, {"size": "3"}, {"size": "5"}]})
    assert fix_graph_for_tfjs(path, ["total"]) == ["tfjs: Cumsum axis -1 given as 2 (TF.js 4.22 does not normalise a "
                                                   "negative axis) at total"]
    graph = TfjsGraph(path)
    assert int(graph.const_value(graph.node("total")["input"][1])) == 2


def test_cumsum_of_unknown_rank_fails_on_one_line(tmp_path):
    from exporters.tfjs_graph import fix_graph_for_tfjs
    from toolkit.errors import UnsupportedOpError

    with pytest.raises(UnsupportedOpError, match=r"tfjs: op Cumsum at total has axis -1 and an input of unknown rank") as info:
        fix_graph_for_tfjs(_cumsum_graph(tmp_path, {"unknownRank": True}), ["total"])
    assert "\n" not in str(info.value)


def test_cumsum_axis_rank_is_followed_through_one_hot(tmp_path):
    """CLAHE: Cumsum(-1) of a sum over OneHot(ids): OneHot adds one axis to its ids' rank."""
    from exporters.tfjs_graph import fix_graph_for_tfjs

    int32 = {"type": "DT_INT32"}
    nodes = [
        {"name": "ids", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": [{"size": "-1"}, {"size": "4"}]}},
                                                       "dtype": int32}},
        *[{"name": n, "op": "Const", "attr": {"value": {"tensor": {"dtype": "DT_INT32", "tensorShape": {}}}, "dtype": int32}}
          for n in ("depth", "on", "off", "axis")],
        {"name": "hot", "op": "OneHot", "input": ["ids", "depth", "on", "off"], "attr": {"axis": {"i": "-1"}, "TI": int32, "T": int32}},
        {"name": "total", "op": "Cumsum", "input": ["hot", "axis"], "attr": {"T": int32}},
    ]
    path = _graph_model(tmp_path, nodes, [("depth", 5), ("on", 1), ("off", 0), ("axis", -1)])
    assert any("Cumsum axis -1 given as 2" in line for line in fix_graph_for_tfjs(path, ["total"]))


def test_constants_added_to_a_model_without_weights(tmp_path):
    """A pooling-only model's weightsManifest has a group without paths: the constants get a shard of their own."""
    import json

    import numpy as np

    from exporters.tfjs_model import TfjsGraph

    path = tmp_path / "model.json"
    path.write_text(json.dumps({"modelTopology": {"node": []}, "weightsManifest": [{"paths": [], "weights": []}]}))
    graph = TfjsGraph(path)
    added = graph.const(np.arange(3), "int32")
    graph.save()
    assert TfjsGraph(path).const_value(added).tolist() == [0, 1, 2]


@pytest.mark.parametrize("equation", ["ii->i", "ab,bc->a", "...ab,abc->...ac", "a,b,c->abc"])
def test_einsum_without_exact_rewrite_names_its_equation(equation):
    from exporters.tfjs_einsum import parse_equation
    from toolkit.errors import UnsupportedOpError

    with pytest.raises(UnsupportedOpError, match=f"Einsum with equation '{equation}' at node"):
        parse_equation(equation, "node")


@pytest.mark.parametrize("shards", [1, 2, 3])  # one shard; equal shards; a shorter last one
def test_added_constants_keep_every_shard_readable(tmp_path, shards):
    """TF.js's loader divides by the first shard's size when the others match it: no larger last shard."""
    import numpy as np

    from exporters.tfjs_model import TfjsGraph

    path = _graph_model(tmp_path, [], [("a", [1, 2]), ("b", [3, 4])], shards=shards)
    graph = TfjsGraph(path)
    graph.nodes += [{"name": n, "op": "Const", "attr": {}} for n in ("a", "b")]
    added = graph.const(np.arange(7), "int32")
    graph.save()
    sizes = [(tmp_path / p).stat().st_size for g in graph.data["weightsManifest"] for p in g["paths"]]
    assert len(set(sizes[:-1])) > 1 or sizes[-1] <= sizes[0], sizes
    reopened = TfjsGraph(path)
    assert reopened.const_value(added).tolist() == list(range(7))
    assert reopened.const_value("b").tolist() == [3, 4]
