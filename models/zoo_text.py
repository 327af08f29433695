"""The zoo tier's text models, over integer token ids: a causal decoder and a convolutional classifier.

Both are trained briefly on synthetic sequences a model can learn (no download): the decoder
predicts the next term of arithmetic progressions modulo the vocabulary, the classifier whether a
marker token occurs. Their samples are token sequences of the same kind.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from models.registry import reference_model
from models.zoo import PositionEmbedding, transformer_block

DECODER_VOCAB, DECODER_LENGTH, DECODER_WIDTH = 32, 12, 32
CNN_VOCAB, CNN_LENGTH, MARKER = 100, 20, 7


def progressions(count: int, seed: int) -> np.ndarray:
    """(count, DECODER_LENGTH + 1) int32: start + step * position, modulo the vocabulary."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, DECODER_VOCAB, (count, 1))
    step = rng.integers(1, 5, (count, 1))
    return ((start + step * np.arange(DECODER_LENGTH + 1)) % DECODER_VOCAB).astype("int32")


def _decoder_training_data(seed: int):
    sequences = progressions(2048, seed)
    return {"tokens": sequences[:, :-1]}, sequences[:, 1:]


def _decoder_samples(batch: int, seed: int) -> dict:
    return {"tokens": progressions(batch, seed + 10_000)[:, :-1]}


@reference_model(name="text_decoder", api="functional", tier="zoo",
                 summary="decoder-style transformer over 12 tokens: embedding + position embedding, "
                 "MultiHeadAttention with a causal mask, exact-gelu MLP, next-token logits",
                 training_data=_decoder_training_data,
                 losses={"next_token": keras.losses.SparseCategoricalCrossentropy(from_logits=True)},
                 train_steps=200, learning_rate=3e-3, batch_size=64, classifier_outputs=("next_token",),
                 sample_inputs_fn=_decoder_samples)
def build_text_decoder():
    tokens = keras.Input((DECODER_LENGTH,), dtype="int32", name="tokens")
    x = layers.Embedding(DECODER_VOCAB, DECODER_WIDTH, name="embed")(tokens)
    x = PositionEmbedding(DECODER_LENGTH, name="positions")(x)
    x = transformer_block(x, heads=2, width=DECODER_WIDTH, name="block0", causal=True)
    x = layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
    return keras.Model(tokens, layers.Dense(DECODER_VOCAB, name="next_token")(x), name="text_decoder")


def marked_sequences(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (count, CNN_LENGTH) int32 in [1, CNN_VOCAB), labels 1 where MARKER occurs): half marked."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(1, CNN_VOCAB, (count, CNN_LENGTH)).astype("int32")
    tokens[tokens == MARKER] = MARKER + 1
    marked = rng.random(count) < 0.5
    tokens[marked, rng.integers(0, CNN_LENGTH, marked.sum())] = MARKER
    return tokens, marked.astype("int32")


def _cnn_training_data(seed: int):
    tokens, labels = marked_sequences(2048, seed)
    return {"tokens": tokens}, labels


@reference_model(name="text_cnn", api="functional", tier="zoo",
                 summary="text CNN: Embedding 100x16, Conv1D 32 relu, global max pooling, Dense 2 softmax",
                 training_data=_cnn_training_data, losses={"label": "sparse_categorical_crossentropy"},
                 train_steps=150, learning_rate=1e-2, batch_size=64, classifier_outputs=("label",),
                 sample_inputs_fn=lambda batch, seed: {"tokens": marked_sequences(batch, seed + 10_000)[0]})
def build_text_cnn():
    tokens = keras.Input((CNN_LENGTH,), dtype="int32", name="tokens")
    x = layers.Embedding(CNN_VOCAB, 16, name="embed")(tokens)
    x = layers.Conv1D(32, 3, activation="relu", name="conv")(x)
    x = layers.GlobalMaxPooling1D(name="pool")(x)
    return keras.Model(tokens, layers.Dense(2, activation="softmax", name="label")(x), name="text_cnn")
