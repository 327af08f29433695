"""Layer classes that exact rewrites put in place of Keras preprocessing layers: lookups (ids without hash
tables, multi-hot/count without Bincount) and MelSpectrogram (its STFT as matrix products).

Each subclasses the layer it replaces, so the config and the weights carry over unchanged; only `call`
computes the same function with ops the target has. Built on first use (keras is imported lazily);
exporters/replacements.py adds them to custom_objects.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def preprocessing_classes() -> dict:
    """Class name -> replacement layer class, as Keras deserialization takes custom objects."""
    import keras
    from keras import ops

    class OneHotEncodedLookup:
        """StringLookup/IntegerLookup (and TextVectorization without split) multi_hot/count as max/sum over
        one_hot of the looked-up ids, instead of Keras's TF fast path, (Dense)Bincount. Masked ids are int64
        max in these modes, which one_hot turns into a row of zeros: dropped, as bincount drops them.
        IntegerLookup with its vocabulary in the config and one OOV index also finds ids by comparing with
        the vocabulary instead of a hash table (exact: each id matches at most one key); a string lookup's
        mask token is found in its table instead of by a string comparison."""

        def __init__(self, *args, one_hot_counts=False, **kwargs):
            super().__init__(*args, **kwargs)
            self.one_hot_counts = one_hot_counts  # set by the rewrite for targets without (Dense)Bincount
            self.vocabulary_keys = _integer_vocabulary(self)  # eager, at deserialization: numpy constants
            if self.vocabulary_keys is not None:  # the table is unused: drop it, or the SavedModel still
                self._ensure_known_vocab_size()  # initializes it with ops TFLite and TF.js lack
                del self.lookup_table  # deleting (not None) also drops it from TF's object graph
            self.mask_in_table = _put_mask_in_table(getattr(self, "_lookup_layer", self))

        def call(self, inputs):
            lookup = getattr(self, "_lookup_layer", self)  # TextVectorization holds a StringLookup
            mode = getattr(self, "_output_mode", None) or self.output_mode
            x = self._preprocess(inputs) if lookup is not self else inputs  # no split, no ngrams: dense
            own_ids = self.vocabulary_keys is not None or self.mask_in_table
            counted = mode in ("multi_hot", "count") and len(x.shape) == 2
            direct = mode == "int" and lookup is self  # TextVectorization pads or trims int ids itself
            # exporters/layer_rewrites.py swaps in this class only for the cases handled here.
            if lookup.sparse or not ((own_ids and (direct or counted)) or (self.one_hot_counts and counted)):
                return super().call(inputs)
            ids = self.looked_up(lookup, x)
            if direct:
                return ids
            depth = lookup.max_tokens if lookup.pad_to_max_tokens else lookup._frozen_vocab_size
            if not self.one_hot_counts:  # Keras's own encoding, of the ids found without a table or a string Equal
                from keras.src.backend import tensorflow as tf_backend
                from keras.src.utils import numerical_utils

                return numerical_utils.encode_categorical_inputs(ids, mode, depth, lookup._value_dtype,
                                                                 backend_module=tf_backend)
            hot = ops.one_hot(ids, depth, dtype=lookup._value_dtype)
            return ops.max(hot, axis=-2) if mode == "multi_hot" else ops.sum(hot, axis=-2)

        def looked_up(self, lookup, x):
            import tensorflow as tf

            lookup._ensure_known_vocab_size()
            x = tf.convert_to_tensor(x)
            x = x if x.dtype == lookup._key_dtype else tf.cast(x, lookup._key_dtype)  # int32 ids, int64 keys
            if self.mask_in_table:
                return lookup.lookup_table.lookup(x)
            if self.vocabulary_keys is None:
                return lookup._lookup_dense(x)
            keys, oov_index = self.vocabulary_keys
            hit = ops.equal(ops.expand_dims(x, -1), keys[0])
            found = ops.sum(ops.where(hit, keys[1], 0), axis=-1)
            ids = ops.where(ops.any(hit, axis=-1), found, oov_index)
            if lookup.mask_token is not None:
                ids = ops.where(ops.equal(x, lookup._mask_key), lookup._mask_value, ids)
            return ids

    class ToolkitMelSpectrogram(keras.layers.MelSpectrogram):
        """MelSpectrogram whose STFT is framing (a gather) and two products with the windowed DFT's cosine and
        sine matrices, instead of RFFT and complex numbers: the same sums, as Keras's STFTSpectrogram does."""

        def _spectrogram(self, inputs):
            n, half = self.fft_length, self.fft_length // 2
            padding = [(0, 0)] * (len(inputs.shape) - 1) + [(half, half)]
            x = ops.pad(inputs, padding, mode="reflect")  # center=True, as Keras's stft pads
            starts = np.arange(0, x.shape[-1] - n + 1, self.sequence_stride)
            frames = ops.take(x, starts[:, None] + np.arange(n)[None, :], axis=-1)  # (..., frames, n)
            cosine, sine = dft_matrices(n, self.sequence_length or n, self.window)
            real, imag = ops.matmul(frames, cosine), ops.matmul(frames, sine)
            return ops.power(ops.sqrt(ops.square(real) + ops.square(imag)), self.mag_exp)

    layers = keras.layers
    classes = [type(f"Toolkit{base.__name__}", (OneHotEncodedLookup, base), {"__doc__": OneHotEncodedLookup.__doc__})
               for base in (layers.StringLookup, layers.IntegerLookup, layers.TextVectorization)]
    classes.append(ToolkitMelSpectrogram)
    return {cls.__name__: cls for cls in classes}


def dft_matrices(fft_length: int, sequence_length: int, window: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(fft_length, fft_length//2 + 1) float32 matrices: the window (periodic, zero-padded to the center as
    Keras's stft pads it) times cos and -sin of 2*pi*k*t/fft_length, so frames @ them = real and imag of RFFT."""
    t = np.arange(sequence_length)
    shapes = {"hann": 0.5 - 0.5 * np.cos(2 * np.pi * t / sequence_length),
              "hamming": 0.54 - 0.46 * np.cos(2 * np.pi * t / sequence_length), None: np.ones(sequence_length)}
    left = (fft_length - sequence_length) // 2
    padded = np.zeros(fft_length)
    padded[left:left + sequence_length] = shapes[window]
    angles = 2 * np.pi * np.outer(np.arange(fft_length), np.arange(fft_length // 2 + 1)) / fft_length
    return ((padded[:, None] * np.cos(angles)).astype(np.float32),
            (-padded[:, None] * np.sin(angles)).astype(np.float32))


def _put_mask_in_table(lookup) -> bool:
    """A string lookup's mask token as one more key of its table, mapped to the mask's id, so that no string
    Equal is needed (TF.js wasm compares strings wrongly; tf2onnx turns it into a Cast of strings to int64).
    Only with one OOV index: the table's default is then every other string's id, as Keras computes it."""
    import tensorflow as tf

    if lookup.mask_token is None or lookup.invert or lookup.num_oov_indices != 1 or lookup._key_dtype != "string":
        return False
    keys, ids = lookup.lookup_table.export()
    keys = tf.concat([keys, tf.constant([lookup.mask_token])], 0)
    ids = tf.concat([ids, tf.reshape(tf.cast(lookup._mask_value, ids.dtype), [1])], 0)
    del lookup.lookup_table  # deleted, not replaced: the old table also leaves TF's object graph
    with tf.init_scope():
        lookup.lookup_table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, ids),
                                                        lookup._default_value)
    return True


def _integer_vocabulary(layer) -> tuple[tuple[np.ndarray, np.ndarray], int] | None:
    """((keys, ids), OOV id) of an IntegerLookup that maps every unknown value to its one OOV id, else None."""
    import keras

    if not isinstance(layer, keras.layers.IntegerLookup) or layer.invert or layer.num_oov_indices != 1:
        return None
    vocabulary = layer.get_vocabulary(include_special_tokens=True)
    first = layer._token_start_index()  # [mask (int mode only)], the OOV token, then the keys, as the table has them
    keys = np.asarray(vocabulary[first:], np.int64)
    return (keys, np.arange(first, len(vocabulary), dtype=np.int64)), layer._oov_start_index()
