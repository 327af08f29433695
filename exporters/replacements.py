"""What exact rewrites put in a model's place: formulas and layer classes that compute the same function
with ops a target has. Built on first use (keras is imported lazily); exporters/rewrites.py uses them.
Replacements of convolution, pooling and resizing layers live in exporters/replacement_layers.py, of
lookup and spectrogram layers in exporters/replacement_preprocessing.py.
"""

from __future__ import annotations

import functools

from exporters.replacement_layers import layer_classes
from exporters.replacement_preprocessing import preprocessing_classes

FORMULAS = {
    "gelu_erf": "x*(0.5+0.5*erf(x/sqrt(2)))",
    "softsign": "x/(1+|x|)",
    "celu": "max(x,0)+alpha*(exp(min(x,0)/alpha)-1)",
    "gelu_reshaped": "gelu(x) (exact), then an identity reshape",
}


@functools.cache
def custom_objects() -> dict:
    """Name -> function or layer class, as Keras deserialization takes custom objects."""
    import keras
    from keras import ops

    def identity_reshape(y):
        """y reshaped to its own shape, in a form the TFLite converter keeps (measured: it folds
        reshape(y, shape(y)) away when only the batch is dynamic, but not (-1, *static dims))."""
        dims = tuple(y.shape[1:])
        return ops.reshape(y, ops.shape(y) if None in dims else (-1, *dims))

    functions = {
        # Not 0.5*x*(1+erf(..)): grappler's remapper fuses that exact pattern after a MatMul into
        # _FusedMatMul[GeluExact], which TF.js has no kernel for. Same function, another order.
        "gelu_erf": lambda x: x * (0.5 + 0.5 * ops.erf(x * 0.7071067811865476)),
        "softsign": lambda x: x / (1.0 + ops.abs(x)),
        "celu": lambda x, alpha=1.0: ops.maximum(x, 0.0) + alpha * (ops.exp(ops.minimum(x, 0.0) / alpha) - 1.0),
        "gelu_reshaped": lambda x: identity_reshape(ops.gelu(x, approximate=False)),
    }

    class ToolkitFormula(keras.layers.Layer):
        """A weightless layer computing one of FORMULAS (stands in for a keras.ops node)."""

        def __init__(self, formula, params=None, **kwargs):
            super().__init__(**kwargs)
            self.formula, self.params = formula, dict(params or {})

        def call(self, x):
            return functions[self.formula](x, **self.params)

    class ToolkitCategoryEncoding(keras.layers.CategoryEncoding):
        def _encode(self, inputs, count_weights=None):
            hot = ops.one_hot(ops.convert_to_tensor(inputs), self.num_tokens, dtype=self.dtype)
            if self.output_mode == "multi_hot":
                return ops.max(hot, axis=-2)
            if count_weights is not None:
                hot = hot * ops.expand_dims(ops.cast(count_weights, self.dtype), -1)
            return ops.sum(hot, axis=-2)

    class ToolkitDiscretization(keras.layers.Discretization):
        def call(self, inputs):
            inputs = ops.convert_to_tensor(inputs)
            if "float" not in str(inputs.dtype):
                inputs = ops.cast(inputs, "float32")  # as Bucketize compares with float boundaries
            boundaries = ops.cast(ops.convert_to_tensor(self.bin_boundaries, dtype="float32"), inputs.dtype)
            above = ops.cast(ops.expand_dims(inputs, -1) >= boundaries, "int32")
            return ops.cast(ops.sum(above, axis=-1), self.output_dtype)

    return {
        **functions,
        "ToolkitFormula": ToolkitFormula,
        "ToolkitCategoryEncoding": ToolkitCategoryEncoding,
        "ToolkitDiscretization": ToolkitDiscretization,
        **layer_classes(),
        **preprocessing_classes(),
    }
