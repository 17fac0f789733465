"""Sigmoid cross-entropy: every entry is its own binary problem (multi-label classification).

For a logit x and a label z in [0, 1], with ``softplus(t) = log(1 + exp(t))``:

    loss = -z log σ(x) - (1-z) log(1 - σ(x)) = z·softplus(-x) + (1-z)·softplus(x)
         = max(x, 0) - x·z + log1p(exp(-|x|))                  (TF's overflow-free form)

``pos_weight`` q scales the positive term only:

    weighted loss = q·z·softplus(-x) + (1-z)·softplus(x)

Gradients of the summed loss: ``d/dx = σ(x) - z`` (weighted: ``(1-z)σ(x) - q·z·σ(-x)``),
``d/dz = -x`` (weighted: ``q·softplus(-x) - softplus(x)``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import (
    check_broadcasts_to,
    check_same_shape,
    compute_dtype,
    finite_array,
    float_array,
    labels_like,
)
from course_lib.nn.activations import sigmoid, softplus


def _binary_inputs(labels: ArrayLike, logits: ArrayLike):
    """Checked (labels, logits, work dtype): same shape, labels cast to the logits' dtype."""
    x = float_array(logits, "logits")
    z = labels_like(labels, x)
    check_same_shape(z, x.shape, "labels")
    work = compute_dtype(x.dtype)
    return z.astype(work, copy=False), x, x.astype(work, copy=False)


def _pos_weight(pos_weight: ArrayLike, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    q = finite_array(pos_weight, "pos_weight")
    check_broadcasts_to(q, x.shape, "pos_weight")
    return q.astype(dtype, copy=False)


def sigmoid_cross_entropy_with_logits(labels: ArrayLike, logits: ArrayLike) -> np.ndarray:
    """``max(x, 0) - x·z + log1p(exp(-|x|))``, elementwise; labels have the logits' shape.

    Mirrors ``tf.nn.sigmoid_cross_entropy_with_logits(labels, logits)``.
    """
    z, x, w = _binary_inputs(labels, logits)
    loss = np.maximum(w, 0) - w * z + np.log1p(np.exp(-np.abs(w)))
    return loss.astype(x.dtype, copy=False)


def sigmoid_cross_entropy_with_logits_grad(
        labels: ArrayLike, logits: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(d_labels, d_logits) = (-x, σ(x) - z)`` of the summed loss (as ``tf.GradientTape``)."""
    z, x, w = _binary_inputs(labels, logits)
    return (-w).astype(x.dtype), (sigmoid(w) - z).astype(x.dtype, copy=False)


def weighted_cross_entropy_with_logits(labels: ArrayLike, logits: ArrayLike,
                                       pos_weight: ArrayLike) -> np.ndarray:
    """``q·z·softplus(-x) + (1-z)·softplus(x)``; ``pos_weight`` q a scalar or per class.

    Mirrors ``tf.nn.weighted_cross_entropy_with_logits(labels, logits, pos_weight)``. TF's
    documented form ``(1-z)·x + l·(log1p(exp(-|x|)) + max(-x, 0))``, ``l = 1 + (q-1)·z``,
    cancels for z = 0 and x << 0 (float32 TF returns 0.0 for x <= -15); this one does not.
    """
    z, x, w = _binary_inputs(labels, logits)
    q = _pos_weight(pos_weight, x, w.dtype)
    loss = q * z * softplus(-w) + (1 - z) * softplus(w)
    return loss.astype(x.dtype, copy=False)


def weighted_cross_entropy_with_logits_grad(
        labels: ArrayLike, logits: ArrayLike,
        pos_weight: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(d_labels, d_logits) = (q·softplus(-x) - softplus(x), (1-z)σ(x) - q·z·σ(-x))``."""
    z, x, w = _binary_inputs(labels, logits)
    q = _pos_weight(pos_weight, x, w.dtype)
    d_labels = q * softplus(-w) - softplus(w)
    d_logits = (1 - z) * sigmoid(w) - q * z * sigmoid(-w)
    return (np.broadcast_to(d_labels, x.shape).astype(x.dtype),
            np.broadcast_to(d_logits, x.shape).astype(x.dtype))
