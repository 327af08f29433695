"""Sample values for string inputs: words of the vocabulary of the lookup layer an input feeds.

A StringLookup gets single vocabulary words plus one out-of-vocabulary word; a TextVectorization
(which splits) gets short phrases of 1 to output_sequence_length + 2 words, some capitalised (its
standardize lowercases), so padding, truncation and the OOV path all occur in parity's samples.
Other string inputs fall back to toolkit.model.spec.FALLBACK_WORDS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

MAX_SAMPLE_WORDS = 16  # vocabulary entries kept (the most frequent come first in an adapted vocabulary)
OUT_OF_VOCABULARY = "zzzunseen"  # one sample outside the vocabulary, to exercise the OOV path too


def string_samples(model: keras.Model, input_tensors: dict[int, str]) -> dict[str, tuple[str, ...]]:
    """Input name -> sample strings, for the inputs (`input_tensors`: id(tensor) -> name) that feed a
    StringLookup or TextVectorization directly."""
    import keras

    samples = {}
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.StringLookup, keras.layers.TextVectorization)):
            continue
        try:
            vocabulary = [str(w) for w in layer.get_vocabulary(include_special_tokens=False)][:MAX_SAMPLE_WORDS]
        except Exception:  # a layer not adapted yet has no vocabulary: the fallback words apply
            continue
        if not vocabulary:
            continue
        words = _phrases(layer, vocabulary) if isinstance(layer, keras.layers.TextVectorization) else _words(layer, vocabulary)
        for node in layer._inbound_nodes:
            for tensor in node.input_tensors:
                if id(tensor) in input_tensors:
                    samples[input_tensors[id(tensor)]] = words
    return samples


def _words(layer: keras.layers.StringLookup, vocabulary: list[str]) -> tuple[str, ...]:
    # With num_oov_indices=0 an unknown word is an error in TF, not an index: no OOV sample then.
    return tuple(vocabulary + ([OUT_OF_VOCABULARY] if layer.num_oov_indices > 0 else []))


def _phrases(layer: keras.layers.TextVectorization, vocabulary: list[str]) -> tuple[str, ...]:
    config = layer.get_config()
    if config.get("split") is None:  # no splitting: each value is one token
        return tuple(vocabulary + [OUT_OF_VOCABULARY])
    longest = (config.get("output_sequence_length") or 4) + 2
    words = vocabulary + [OUT_OF_VOCABULARY]
    phrases = []
    for i in range(MAX_SAMPLE_WORDS):
        phrase = [words[(i * 7 + k * 3) % len(words)] for k in range(1 + i % longest)]
        phrases.append(" ".join(phrase).capitalize() if i % 3 == 0 else " ".join(phrase))
    return tuple(phrases)
