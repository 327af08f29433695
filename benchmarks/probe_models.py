"""Building blocks of the probe models of benchmarks/probe_ops.py: tiny Functional models around one layer.

keras is imported inside the functions: importing this module (the coverage test does) costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable

SEQ = (8, 6)  # fixed sequence length x features for the recurrent and attention probes
IMAGE = (12, 12, 3)
VOLUME = (4, 6, 6, 4)  # depth, height, width, channels
VOCAB, TOKENS = 50, 10
MASK_VOCAB = 4  # small, so that sample ids hit the masked id 0 often (about one token in four)
WORDS = ("the", "cat", "dog", "sat", "on", "mat", "a", "bird")


def k(name: str, *args: object, **kwargs: object) -> Callable:
    """A factory of keras.layers.<name>(*args, **kwargs), called when the probe is built."""

    def factory():
        import keras

        return getattr(keras.layers, name)(*args, **kwargs)

    return factory


def chain(*factories: Callable) -> Callable:
    """Apply the layers the factories make, in order: a tiny Sequential-like chain."""

    def call(x):
        for factory in factories:
            x = factory()(x)
        return x

    return call


def model(layer_fn: Callable, shape: tuple = SEQ, dtype: str = "float32", name: str = "x"):
    """keras.Model(Input(shape), layer_fn(Input)); layer_fn may return one tensor, a list or a dict."""
    import keras

    inputs = keras.Input(shape, dtype=dtype, name=name)
    return keras.Model(inputs, layer_fn(inputs), name="probe")


def sequence(*factories: Callable, shape: tuple = SEQ) -> Callable:
    return lambda: model(chain(*factories), shape)


def image(*factories: Callable, shape: tuple = IMAGE) -> Callable:
    return lambda: model(chain(*factories), shape)


def volume(*factories: Callable, shape: tuple = VOLUME) -> Callable:
    return lambda: model(chain(*factories), shape)


def flat(*factories: Callable, width: int = 16) -> Callable:
    return lambda: model(chain(*factories), (width,))


def tokens(layer_fn: Callable, length: int = TOKENS, dtype: str = "int32") -> Callable:
    """int32 token ids (or strings: dtype="string") into layer_fn."""
    return lambda: model(layer_fn, (length,), dtype, name="tokens")


def activation(name: str, then: str | None = None) -> Callable:
    """Dense(16) spreads the inputs over the activation's interesting range; Activation(name) (then Activation(then))."""

    def build():
        import keras

        def call(x):
            hidden = keras.layers.Dense(16)(x) * 3.0
            if name == "gelu_approximate":  # an op node: Activation("gelu") has no approximate option
                return keras.ops.gelu(hidden, approximate=True)
            out = keras.layers.Activation(name)(hidden)
            return keras.layers.Activation(then)(out) if then else out

        return model(call, (16,))

    return build


def concat(*tensors):
    import keras

    return keras.layers.Concatenate()(list(tensors))


def both(first: Callable, second: Callable) -> Callable:
    """Two layers on the same input, concatenated (e.g. global average and max pooling)."""
    return lambda x: concat(first()(x), second()(x))


def masked(layer_fn: Callable, vocab: int = MASK_VOCAB) -> Callable:
    """Token ids -> Embedding(mask_zero=True) -> layer_fn: id 0 is masked, and it is frequent."""

    def call(ids):
        import keras

        return layer_fn(keras.layers.Embedding(vocab, 6, mask_zero=True)(ids))

    return tokens(call)


def zero_gated(layer_fn: Callable) -> Callable:
    """Float sequences whose timesteps with x[..., 0] <= 0 are set to zero, then Masking(0.0) -> layer_fn:
    about half the timesteps are masked (random samples are never zero on their own)."""

    def call(x):
        import keras

        gate = keras.ops.cast(x[..., :1] > 0.0, "float32")
        return layer_fn(keras.layers.Masking(0.0)(x * gate))

    return lambda: model(call)


def recurrent(kind: str, bidirectional: bool = False, **kwargs: object) -> Callable:
    """LSTM/GRU/SimpleRNN(5, **kwargs) on SEQ, optionally inside Bidirectional; every output kept."""

    def call(x):
        import keras

        layer = getattr(keras.layers, kind)(5, **kwargs)
        return (keras.layers.Bidirectional(layer) if bidirectional else layer)(x)

    return lambda: model(_listed(call))


def _listed(layer_fn: Callable) -> Callable:
    """return_state layers return a tuple: Functional outputs must be a list."""

    def call(x):
        out = layer_fn(x)
        return list(out) if isinstance(out, tuple) else out

    return call


def two_inputs(layer_fn: Callable, first: tuple = SEQ, second: tuple = SEQ, dtype: str = "float32") -> Callable:
    """Two inputs a, b into layer_fn(a, b) (merging layers, cross-attention, Dot)."""

    def build():
        import keras

        a, b = keras.Input(first, dtype=dtype, name="a"), keras.Input(second, dtype=dtype, name="b")
        out = layer_fn(a, b)
        return keras.Model([a, b], list(out) if isinstance(out, tuple) else out, name="probe")

    return build


def merge(name: str, **kwargs: object) -> Callable:
    """keras.layers.<name>()([a, b]) on two (8, 6) inputs."""
    return two_inputs(lambda a, b: k(name, **kwargs)()([a, b]))
