"""A hand-written training loop: the ``tf.GradientTape`` steps ``model.fit`` takes, on one device
or on the replicas of a ``tf.distribute`` strategy.

One epoch, batches in order (``model.fit(..., shuffle=False)``)::

    for x, y in tf.data.Dataset.from_tensor_slices((features, labels)).batch(batch_size):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

With a strategy (``tf.distribute.MirroredStrategy``), ``strategy.run`` runs the body on every
replica with its share of the global batch, and ``apply_gradients`` adds the replicas' gradients.
So a replica's loss must be its part of the global mean, :math:`\\sum_{i \\in \\text{replica}} l_i /
B_\\text{global}`, which is ``tf.nn.compute_average_loss(per_example, global_batch_size=B)``. A
per-replica mean, ``tf.reduce_mean(per_example)``, gives a step ``num_replicas_in_sync`` times
too large. (A Keras loss object with its default reduction, ``"sum_over_batch_size"``, already
divides by the number of replicas when it runs inside a strategy.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def train_epoch(model: Any, optimizer: Any, loss_fn: Callable[[Any, Any], Any],
                features: ArrayLike, labels: ArrayLike, *, batch_size: int,
                strategy: Any = None) -> np.ndarray:
    """Run one epoch of the loop above over ``features``/``labels`` in order; return the losses.

    ``loss_fn(labels_batch, model_output)`` returns the scalar to differentiate. Without a
    ``strategy`` the loop runs eagerly on the default device; with one, ``model`` and
    ``optimizer`` must have been built in ``strategy.scope()``, each global batch is split over
    the replicas (``strategy.experimental_distribute_dataset``) and the returned loss of a step
    is the sum of the replicas' losses (``strategy.reduce("SUM", ...)``), the number the
    gradients add up to. Returns a float array with one loss per step.
    """
    import tensorflow as tf

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    features, labels = np.asarray(features), np.asarray(labels)
    if len(features) != len(labels):
        raise ValueError(f"features and labels: expected the same number of examples, got "
                         f"{len(features)} and {len(labels)}")

    def step(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(batch_size)
    if strategy is None:
        return np.array([float(step(x, y)) for x, y in dataset])
    losses = []
    for x, y in strategy.experimental_distribute_dataset(dataset):
        per_replica = strategy.run(step, args=(x, y))
        losses.append(float(strategy.reduce("SUM", per_replica, axis=None)))
    return np.array(losses)
