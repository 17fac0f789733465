"""Tiny, deterministic training for the lessons: multi-label digit targets and a linear model.

A lesson that compares two losses should change nothing but the loss. ``fit_linear`` trains
the linear model ``logits = X·W + b`` by full-batch gradient descent from zero weights, so
there is no random initialisation, no shuffling and no mini-batch order: the same inputs give
bit-for-bit the same weights in every process. The loss enters only through its gradient with
respect to the logits, which is what ``course_lib.nn``'s exact ``*_grad`` functions return:

    sigmoid CE        d Σloss / d logits = σ(x) - z
    softmax CE        d Σloss / d logits = softmax(x)·Σz - z
    sparse softmax    d Σloss / d logits = softmax(x) - onehot(y)
    weighted CE       d Σloss / d logits = (1-z)σ(x) - q·z·σ(-x)

``digit_properties`` turns digit classes (e.g. scikit-learn's bundled ``load_digits().target``)
into multi-label targets: several yes/no properties of the same digit, any number of which may
hold at once.

This module imports NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import finite_array

__all__ = ["DIGIT_PROPERTIES", "digit_properties", "fit_linear", "linear_gradient_step"]

# Yes/no properties of the digits 0-9: the label names of a multi-label problem.
# "closed loop" counts the digits usually written with one (4 is usually written open).
DIGIT_PROPERTIES: dict[str, frozenset[int]] = {
    "even": frozenset({0, 2, 4, 6, 8}),
    "greater than 4": frozenset({5, 6, 7, 8, 9}),
    "prime": frozenset({2, 3, 5, 7}),
    "closed loop": frozenset({0, 6, 8, 9}),
}

LogitsGrad = Callable[[np.ndarray, np.ndarray], np.ndarray]


def digit_properties(digits: ArrayLike,
                     properties: Mapping[str, frozenset[int]] = DIGIT_PROPERTIES) -> np.ndarray:
    """Multi-hot labels ``Y[n, j] = 1.0 if digits[n] ∈ properties[j] else 0.0``, float64.

    ``digits`` holds integer digit classes of any shape ``[...]``; the result has shape
    ``[..., len(properties)]``, one column per property in the mapping's order.
    """
    d = np.asarray(digits)
    if d.dtype.kind not in "iu":
        raise TypeError(f"`digits` must hold integer digit classes; got dtype {d.dtype}.")
    if not properties:
        raise ValueError("`properties` must name at least one property.")
    members = [sorted(int(k) for k in digits_with) for digits_with in properties.values()]
    return np.stack([np.isin(d, m) for m in members], axis=-1).astype(np.float64)


def _checked(weights: ArrayLike, bias: ArrayLike, features: ArrayLike, labels: ArrayLike,
             learning_rate: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(W, b, X, labels) checked: X ``[B, D]``, W ``[D, C]``, b ``[C]``, labels ``B`` rows."""
    x = finite_array(features, "features")
    w = finite_array(weights, "weights")
    b = finite_array(bias, "bias")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"`features` must have shape [batch, features] with batch >= 1; "
                         f"got {x.shape}.")
    if w.ndim != 2 or w.shape[0] != x.shape[1]:
        raise ValueError(f"`weights` must have shape [features, classes] = [{x.shape[1]}, C] "
                         f"for `features` of shape {x.shape}; got {w.shape}.")
    if b.shape != (w.shape[1],):
        raise ValueError(f"`bias` must have shape [classes] = ({w.shape[1]},); got {b.shape}.")
    y = np.asarray(labels)
    if y.ndim == 0 or y.shape[0] != x.shape[0]:
        raise ValueError(f"`labels` must have one row per example ({x.shape[0]}); "
                         f"got shape {y.shape}.")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"`learning_rate` must be a positive finite number; got {learning_rate}.")
    return w, b, x, y


def _step(w: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray, logits_grad: LogitsGrad,
          learning_rate: float) -> tuple[np.ndarray, np.ndarray]:
    g = np.asarray(logits_grad(y, x @ w + b))  # G = d Σloss / d logits, [B, C]
    if g.shape != (x.shape[0], w.shape[1]):
        raise ValueError(f"`logits_grad` must return d loss / d logits of shape "
                         f"{(x.shape[0], w.shape[1])}; got {g.shape}.")
    scale = learning_rate / x.shape[0]
    return w - scale * (x.T @ g), b - scale * g.sum(axis=0)


def linear_gradient_step(weights: ArrayLike, bias: ArrayLike, features: ArrayLike,
                         labels: ArrayLike, logits_grad: LogitsGrad,
                         learning_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """One gradient-descent step on the mean loss ``L = Σ loss(labels, X·W + b) / B``.

    With ``G = logits_grad(labels, X·W + b)``, the gradient of the *summed* loss with respect
    to the logits ``[B, C]`` (as ``tf.GradientTape`` gives it)::

        W ← W - η·Xᵀ·G / B        b ← b - η·Σ_rows G / B

    ``features`` X is ``[B, D]``, ``weights`` W ``[D, C]``, ``bias`` b ``[C]``; ``labels``
    has one row per example in whatever form ``logits_grad`` takes (multi-hot ``[B, C]``,
    class ids ``[B]``). Returns new arrays ``(W, b)``; the inputs are not modified.
    """
    w, b, x, y = _checked(weights, bias, features, labels, learning_rate)
    return _step(w, b, x, y, logits_grad, learning_rate)


def fit_linear(features: ArrayLike, labels: ArrayLike, logits_grad: LogitsGrad,
               learning_rate: float = 0.5, steps: int = 300,
               num_classes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(W, b)`` after ``steps`` of ``linear_gradient_step`` from ``W = 0, b = 0``.

    Full-batch and zero-initialised, so deterministic. ``logits_grad(labels, logits)`` returns
    ``d Σloss / d logits``. The number of classes C is ``labels.shape[1]`` for ``[B, C]``
    labels (multi-hot, one-hot, soft); pass ``num_classes`` for class ids ``[B]``. Example::

        fit_linear(X, Y, lambda z, x: nn.sigmoid_cross_entropy_with_logits_grad(z, x)[1])
        fit_linear(X, ids, nn.sparse_softmax_cross_entropy_with_logits_grad, num_classes=10)
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise TypeError(f"`steps` must be an int; got {steps!r}.")
    if steps < 0:
        raise ValueError(f"`steps` must be >= 0; got {steps}.")
    x = finite_array(features, "features")
    y = np.asarray(labels)
    if num_classes is None:
        if y.ndim != 2:
            raise ValueError(f"`labels` of shape {y.shape} do not say how many classes there "
                             "are; pass `num_classes` (or labels of shape [batch, classes]).")
        num_classes = y.shape[1]
    if isinstance(num_classes, bool) or not isinstance(num_classes, int | np.integer):
        raise TypeError(f"`num_classes` must be an int; got {num_classes!r}.")
    if num_classes < 1:
        raise ValueError(f"`num_classes` must be >= 1; got {num_classes}.")
    if x.ndim != 2:
        raise ValueError(f"`features` must have shape [batch, features]; got {x.shape}.")
    w, b, x, y = _checked(np.zeros((x.shape[1], num_classes), x.dtype),
                          np.zeros(num_classes, x.dtype), x, y, learning_rate)
    for _ in range(int(steps)):
        w, b = _step(w, b, x, y, logits_grad, learning_rate)
    return w, b
