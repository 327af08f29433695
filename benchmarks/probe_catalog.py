"""The probe rows of benchmarks/probe_ops.py for core, activation, attention, convolution, pooling, recurrent,
normalization, regularization, merging and reshaping layers: row name -> builder of a tiny Functional model.
Preprocessing, text and audio layers are in benchmarks/probe_preprocessing.py.

Each row is one layer in one configuration that changes what gets converted (masks, return_state,
groups, 1D/2D/3D, causal masks, ...); benchmarks/probe_coverage.py checks that every public
keras.layers class appears in some row or is excluded with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.probe_models import (
    SEQ,
    VOCAB,
    activation,
    both,
    chain,
    flat,
    image,
    k,
    masked,
    merge,
    model,
    recurrent,
    sequence,
    tokens,
    two_inputs,
    volume,
    zero_gated,
)


def _attention(**call_kwargs: object) -> Callable:
    """MultiHeadAttention(2 heads) self-attention; call_kwargs such as use_causal_mask, return_attention_scores."""

    def call(x):
        import keras

        x = keras.layers.Dense(16)(x)
        out = keras.layers.MultiHeadAttention(num_heads=2, key_dim=8)(x, x, **call_kwargs)
        return list(out) if isinstance(out, tuple) else out

    return lambda: model(call)


def _cross_attention(a, b):
    import keras

    return keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(a, b)


def _gqa(**call_kwargs: object) -> Callable:
    def call(x):
        import keras

        gqa = keras.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
        return gqa(x, x, **call_kwargs)

    return lambda: model(call)


def _dot_attention(kind: str, **kwargs: object) -> Callable:
    """Attention / AdditiveAttention on [query, value] = [x, x]; kwargs split between the layer and its call."""
    call_keys = {"use_causal_mask", "return_attention_scores"}
    layer_kwargs = {key: v for key, v in kwargs.items() if key not in call_keys}
    call_kwargs = {key: v for key, v in kwargs.items() if key in call_keys}

    def call(x):
        out = k(kind, **layer_kwargs)()([x, x], **call_kwargs)
        return list(out) if isinstance(out, tuple) else out

    return lambda: model(call)


def _encoder_decoder():
    """A seq2seq LSTM: the encoder's final states start the decoder (initial_state)."""
    import keras

    source, target = keras.Input(SEQ, name="source"), keras.Input((5, 4), name="target")
    _, h, c = keras.layers.LSTM(5, return_state=True)(source)
    decoded = keras.layers.LSTM(5, return_sequences=True)(target, initial_state=[h, c])
    return keras.Model([source, target], decoded, name="probe")


def _stacked_cells():
    """RNN over StackedRNNCells of the three cell classes."""
    import keras

    cells = keras.layers.StackedRNNCells([keras.layers.LSTMCell(4), keras.layers.GRUCell(4), keras.layers.SimpleRNNCell(3)])
    return model(lambda x: keras.layers.RNN(cells, return_sequences=True)(x))


def _time_distributed():
    """TimeDistributed(Conv2D) over 4 frames of 6x6x2."""
    import keras

    return model(lambda x: keras.layers.TimeDistributed(keras.layers.Conv2D(3, 3))(x), (4, 6, 6, 2))


def _reversible_embedding():
    """ReversibleEmbedding: ids -> vectors, then vectors -> logits over the vocabulary (reverse=True)."""
    import keras

    def call(ids):
        embed = keras.layers.ReversibleEmbedding(VOCAB, 8)
        return embed(embed(ids), reverse=True)

    return tokens(call)()


def _embedding_pooled(ids):
    import keras

    return keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(VOCAB, 8)(ids))


def _softmax_with_mask():
    def call(x):
        import keras

        return keras.layers.Softmax()(x, mask=x > -0.5)

    return model(call)


def _lambda():
    import keras

    return model(lambda x: keras.layers.Lambda(lambda t: t * 2.0 + 1.0)(x))


def _spectral_normalization():
    import keras

    return model(lambda x: keras.layers.SpectralNormalization(keras.layers.Dense(4))(x), (16,))


def _bidirectional(x):
    import keras

    return keras.layers.Bidirectional(keras.layers.LSTM(4))(x)


ACTIVATIONS: dict[str, Callable] = {
    "gelu (exact)": activation("gelu"),
    "gelu (approximate)": activation("gelu_approximate"),
    "swish/silu": activation("silu"),
    "hard_swish": activation("hard_swish"),
    "mish": activation("mish"),
    "softplus": activation("softplus"),
    "elu": activation("elu"),
    "selu": activation("selu"),
    "relu6": activation("relu6"),
    "hard_sigmoid": activation("hard_sigmoid"),
    "softsign": activation("softsign"),
    "log_softmax": activation("log_softmax"),
    "celu": activation("celu"),
    "gelu (exact) -> relu": activation("gelu", then="relu"),
    "leaky_relu": sequence(k("Dense", 6), k("LeakyReLU", negative_slope=0.2)),
    "ELU (layer)": flat(k("Dense", 16), k("ELU", alpha=0.7)),
    "PReLU": image(k("Conv2D", 4, 3), k("PReLU", shared_axes=[1, 2])),
    "ReLU (max_value/negative_slope/threshold)": flat(k("Dense", 16), k("ReLU", max_value=1.5, negative_slope=0.1, threshold=0.2)),
    "Softmax": flat(k("Dense", 16), k("Softmax")),
    "Softmax (mask)": _softmax_with_mask,
}

CORE: dict[str, Callable] = {
    "Dense (on a sequence)": sequence(k("Dense", 5, activation="tanh")),
    "EinsumDense": sequence(k("EinsumDense", "abc,cd->abd", output_shape=(None, 4), bias_axes="d")),
    "Embedding (int32) + GlobalAveragePooling1D": tokens(_embedding_pooled),
    "ReversibleEmbedding (embed then reverse)": _reversible_embedding,
    "Identity": sequence(k("Dense", 4), k("Identity")),
    "Lambda": _lambda,
    "Masking + LSTM": zero_gated(chain(k("LSTM", 5))),
    "TimeDistributed(Conv2D)": _time_distributed,
}

ATTENTION: dict[str, Callable] = {
    "MultiHeadAttention": _attention(),
    "MultiHeadAttention (causal mask)": _attention(use_causal_mask=True),
    "MultiHeadAttention (return_attention_scores)": _attention(return_attention_scores=True),
    "MultiHeadAttention (cross-attention to another length)": two_inputs(_cross_attention, second=(5, 4)),
    "Embedding(mask_zero) + MultiHeadAttention": masked(lambda x: k("MultiHeadAttention", num_heads=2, key_dim=4)()(x, x)),
    "GroupQueryAttention": _gqa(),
    "GroupQueryAttention (causal mask)": _gqa(use_causal_mask=True),
    "Attention (dot-product)": _dot_attention("Attention"),
    "Attention (scaled + causal + scores)": _dot_attention("Attention", use_scale=True, use_causal_mask=True,
                                                         return_attention_scores=True),
    "Attention (score_mode=concat)": _dot_attention("Attention", score_mode="concat"),
    "AdditiveAttention": _dot_attention("AdditiveAttention"),
    "Embedding(mask_zero) + Attention": masked(lambda x: k("Attention")()([x, x])),
}

RECURRENT: dict[str, Callable] = {
    "LSTM (sequences)": recurrent("LSTM", return_sequences=True),
    "LSTM (last)": recurrent("LSTM"),
    "LSTM (return_state)": recurrent("LSTM", return_sequences=True, return_state=True),
    "LSTM (go_backwards)": recurrent("LSTM", go_backwards=True),
    "LSTM encoder -> decoder (initial_state)": _encoder_decoder,
    "GRU (sequences)": recurrent("GRU", return_sequences=True),
    "GRU (last)": recurrent("GRU"),
    "GRU (return_state)": recurrent("GRU", return_state=True),
    "GRU (reset_after=False)": recurrent("GRU", reset_after=False),
    "SimpleRNN (sequences)": recurrent("SimpleRNN", return_sequences=True),
    "SimpleRNN (last)": recurrent("SimpleRNN"),
    "SimpleRNN (return_state)": recurrent("SimpleRNN", return_sequences=True, return_state=True),
    "Bidirectional LSTM (sequences)": recurrent("LSTM", bidirectional=True, return_sequences=True),
    "Bidirectional GRU (last)": recurrent("GRU", bidirectional=True),
    "Bidirectional SimpleRNN (last)": recurrent("SimpleRNN", bidirectional=True),
    "Bidirectional LSTM (return_state)": recurrent("LSTM", bidirectional=True, return_state=True),
    "RNN(StackedRNNCells of LSTMCell/GRUCell/SimpleRNNCell)": _stacked_cells,
    "Embedding(mask_zero) + LSTM": masked(chain(k("LSTM", 5))),
    "Embedding(mask_zero) + GRU (sequences)": masked(chain(k("GRU", 4, return_sequences=True))),
    "Embedding(mask_zero) + Bidirectional LSTM": masked(_bidirectional),
    "ConvLSTM1D": sequence(k("ConvLSTM1D", 3, 3), shape=(4, 6, 2)),
    "ConvLSTM2D": image(k("ConvLSTM2D", 3, 3, padding="same"), shape=(4, 6, 6, 2)),
    "ConvLSTM3D": volume(k("ConvLSTM3D", 2, 2), shape=(3, 4, 4, 4, 2)),
}

CONVOLUTION: dict[str, Callable] = {
    "Conv1D": sequence(k("Conv1D", 4, 3, padding="same")),
    "Conv1D (causal + dilated)": sequence(k("Conv1D", 4, 3, padding="causal", dilation_rate=2)),
    "Conv1D (groups=2)": sequence(k("Conv1D", 4, 3, groups=2)),
    "Conv1DTranspose": sequence(k("Conv1DTranspose", 4, 3, strides=2)),
    "DepthwiseConv1D": sequence(k("DepthwiseConv1D", 3, depth_multiplier=2)),
    "SeparableConv1D": sequence(k("SeparableConv1D", 4, 3, padding="same")),
    "Conv2D": image(k("Conv2D", 4, 3, strides=2)),
    "Conv2D (dilated + same)": image(k("Conv2D", 4, 3, dilation_rate=2, padding="same")),
    "Conv2D (groups=channels)": image(k("Conv2D", 6, 3, groups=3, padding="same")),
    "Conv2D (groups=2)": image(k("Conv2D", 4, 1), k("Conv2D", 6, 3, groups=2)),
    "DepthwiseConv2D": image(k("DepthwiseConv2D", 3, depth_multiplier=2)),
    "SeparableConv2D": image(k("SeparableConv2D", 4, 3, padding="same")),
    "Conv2DTranspose": image(k("Conv2DTranspose", 4, 3, strides=2, padding="same")),
    "Conv2DTranspose (output_padding)": image(k("Conv2DTranspose", 4, 3, strides=2, output_padding=1)),
    "Conv3D": volume(k("Conv3D", 3, 2, padding="same")),
    "Conv3D (groups=2)": volume(k("Conv3D", 4, 2, groups=2)),
    "Conv3DTranspose": volume(k("Conv3DTranspose", 3, 2, strides=2)),
}

POOLING: dict[str, Callable] = {
    "MaxPooling1D / AveragePooling1D": sequence(k("MaxPooling1D"), k("AveragePooling1D", 2)),
    "MaxPooling2D / AveragePooling2D": image(k("MaxPooling2D"), k("AveragePooling2D", 2)),
    "MaxPooling2D / AveragePooling2D (same)": image(k("MaxPooling2D", 3, 2, padding="same"), k("AveragePooling2D", 3, 2, padding="same")),
    "MaxPooling3D / AveragePooling3D": volume(k("MaxPooling3D"), k("AveragePooling3D", 2, padding="same")),
    "GlobalAveragePooling1D / GlobalMaxPooling1D": lambda: model(both(k("GlobalAveragePooling1D"), k("GlobalMaxPooling1D"))),
    "GlobalAveragePooling2D / GlobalMaxPooling2D": image(lambda: both(k("GlobalAveragePooling2D"), k("GlobalMaxPooling2D"))),
    "GlobalAveragePooling3D / GlobalMaxPooling3D": volume(lambda: both(k("GlobalAveragePooling3D"), k("GlobalMaxPooling3D"))),
    "Embedding(mask_zero) + GlobalAveragePooling1D": masked(chain(k("GlobalAveragePooling1D"))),
    "AdaptiveAveragePooling1D / AdaptiveMaxPooling1D": lambda: model(both(
        k("AdaptiveAveragePooling1D", 3), k("AdaptiveMaxPooling1D", 3))),
    "AdaptiveAveragePooling2D / AdaptiveMaxPooling2D": image(lambda: both(
        k("AdaptiveAveragePooling2D", (5, 4)), k("AdaptiveMaxPooling2D", (5, 4)))),
    "AdaptiveAveragePooling3D / AdaptiveMaxPooling3D": volume(lambda: both(
        k("AdaptiveAveragePooling3D", (3, 4, 4)), k("AdaptiveMaxPooling3D", (3, 4, 4)))),
}

NORMALIZATION: dict[str, Callable] = {
    "LayerNormalization": sequence(k("LayerNormalization")),
    "LayerNormalization (rms_scaling)": sequence(k("LayerNormalization", rms_scaling=True)),
    "BatchNormalization": image(k("Conv2D", 4, 3), k("BatchNormalization")),
    "GroupNormalization": image(k("Conv2D", 8, 3), k("GroupNormalization", groups=4)),
    "RMSNormalization": sequence(k("RMSNormalization")),
    "UnitNormalization": sequence(k("UnitNormalization")),
    "SpectralNormalization(Dense)": _spectral_normalization,
}

REGULARIZATION: dict[str, Callable] = {
    "Dropout": sequence(k("Dense", 6), k("Dropout", 0.5)),
    "SpatialDropout1D": sequence(k("SpatialDropout1D", 0.5)),
    "SpatialDropout2D": image(k("SpatialDropout2D", 0.5)),
    "SpatialDropout3D": volume(k("SpatialDropout3D", 0.5)),
    "GaussianDropout": sequence(k("GaussianDropout", 0.3)),
    "GaussianNoise": sequence(k("GaussianNoise", 0.3)),
    "AlphaDropout": sequence(k("AlphaDropout", 0.3)),
    "ActivityRegularization": sequence(k("ActivityRegularization", l1=0.1, l2=0.1)),
}

MERGING: dict[str, Callable] = {
    **{name: merge(name) for name in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")},
    "Concatenate (axis=1)": merge("Concatenate", axis=1),
    "Dot (axes=2)": merge("Dot", axes=2),
    "Dot (normalize=True)": merge("Dot", axes=(2, 2), normalize=True),
}

RESHAPING: dict[str, Callable] = {
    "Flatten": image(k("Flatten")),
    "Reshape": sequence(k("Reshape", (4, 12))),
    "Permute": image(k("Permute", (3, 1, 2))),
    "RepeatVector": flat(k("RepeatVector", 3), width=6),
    "Cropping1D": sequence(k("Cropping1D", (1, 2))),
    "Cropping2D": image(k("Cropping2D", ((1, 2), (2, 1)))),
    "Cropping3D": volume(k("Cropping3D", ((1, 0), (1, 2), (0, 1)))),
    "ZeroPadding1D": sequence(k("ZeroPadding1D", (1, 2))),
    "ZeroPadding2D": image(k("ZeroPadding2D", ((1, 2), (2, 1)))),
    "ZeroPadding3D": volume(k("ZeroPadding3D", (1, 2, 1))),
    "UpSampling1D": sequence(k("UpSampling1D", 2)),
    "UpSampling2D (nearest)": image(k("UpSampling2D")),
    "UpSampling2D (bilinear)": image(k("UpSampling2D", interpolation="bilinear")),
    "UpSampling2D (bicubic)": image(k("UpSampling2D", interpolation="bicubic")),
    "UpSampling3D": volume(k("UpSampling3D", 2)),
}

PROBES: dict[str, Callable] = {
    **CORE, **ACTIVATIONS, **ATTENTION, **RECURRENT, **CONVOLUTION, **POOLING, **NORMALIZATION, **REGULARIZATION,
    **MERGING, **RESHAPING,
}
# Rows whose model holds Python code (Lambda): loading it needs safe_mode=False.
UNSAFE = {"Lambda"}
