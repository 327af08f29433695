"""Custom training loop with tf.GradientTape (the seed's section 4), shared by all reference models."""

from __future__ import annotations

import numpy as np

from toolkit.model.calling import describe_model, model_args, outputs_by_name


def train_with_gradient_tape(model, entry, seed: int = 0) -> list[float]:
    """Train `model` for entry.train_steps mini-batch steps; returns the loss of every step."""
    import keras
    import tensorflow as tf

    inputs, targets = entry.training_data(seed)
    signature = describe_model(model, entry.input_specs)
    if not isinstance(targets, dict):
        targets = {signature.output_names[0]: targets}
    loss_fns = {name: keras.losses.get(loss) for name, loss in entry.losses.items()}
    optimizer = keras.optimizers.Adam(learning_rate=entry.learning_rate)
    # Build for every variable now: a branching model's first step may touch only one path.
    optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(seed)
    count = len(next(iter(inputs.values())))
    history = []
    for _ in range(entry.train_steps):
        rows = rng.choice(count, size=min(entry.batch_size, count), replace=False)
        batch_x = {name: tf.constant(x[rows]) for name, x in inputs.items()}
        with tf.GradientTape() as tape:
            raw = model(model_args(model, signature, batch_x), training=True)
            predicted = outputs_by_name(raw, signature.output_names)
            loss = tf.add_n(
                [tf.reduce_mean(fn(targets[name][rows], predicted[name])) for name, fn in loss_fns.items()]
            )
        grads = tape.gradient(loss, model.trainable_variables)
        # A data-dependent branch leaves the untaken path without gradients this step.
        pairs = [(g, v) for g, v in zip(grads, model.trainable_variables) if g is not None]
        optimizer.apply_gradients(pairs)
        history.append(float(loss))
    return history
