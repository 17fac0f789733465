"""NumPy mirrors of ``tf.compat.v1.losses`` (TF 1's ``tf.losses``): weighted, reduced CE losses.

Each loss computes a per-element loss ``l`` with ``course_lib.nn``, multiplies it by ``weights``
``w`` and reduces the product as ``reduction`` says (``w`` is broadcast to ``l``'s shape first):

    NONE                      w·l                  the weighted losses, shape of ``l``
    SUM                       Σ w·l
    MEAN                      Σ w·l / Σ w          (deprecated in TF)
    SUM_OVER_BATCH_SIZE       Σ w·l / size(l)
    SUM_BY_NONZERO_WEIGHTS    Σ w·l / count(w ≠ 0)  the default

Every division is TF's ``div_no_nan``: a zero denominator (e.g. all weights 0) gives 0.0, not NaN.
The per-element loss ``l`` has shape ``[B]`` for the softmax losses (one per example) and
``[B, C]`` for the sigmoid loss and ``log_loss`` (one per entry). ``weights`` must be a scalar or
have ``l``'s rank with every dimension 1 or equal to ``l``'s, so softmax takes ``[B]`` weights
but not ``[B, 1]``, and sigmoid takes ``[B, 1]`` or ``[1, C]`` but not ``[B]``.

Precision: TF's ``compute_weighted_loss`` casts the losses and weights to float32 (and
``log_loss`` casts its inputs), so TF's result carries float32 error even for float64 input;
``log_loss`` even returns float32. These functions compute in the input's dtype (float16 in
float32, as TF's kernels do) and return that dtype, so float64 stays accurate to ~1e-16.
Compare them with TF at float32 tolerance.

Stricter than TF, on purpose: ``label_smoothing`` must lie in [0, 1] (TF silently ignores a
negative value and applies one above 1) and ``epsilon`` must be > 0 (TF accepts anything).
TF's ``scope`` and ``loss_collection`` arguments have no meaning here and are left out.
"""

from __future__ import annotations

import enum

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import check_same_shape, compute_dtype, float_array, labels_like
from course_lib.nn import (
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
)

__all__ = [
    "Reduction",
    "compute_weighted_loss",
    "log_loss",
    "sigmoid_cross_entropy",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
]


class Reduction(enum.StrEnum):
    """How the weighted losses are reduced; the values are ``tf.compat.v1.losses.Reduction``'s.

    A ``str`` enum, so plain strings such as ``"weighted_sum"`` are accepted wherever a
    ``Reduction`` is. Keras's names (``"sum_over_batch_size"``, ``"sum"``) are not these.
    """

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    # TF's deprecated alias: the same value, so Enum makes it another name for the member above.
    SUM_OVER_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"

    @classmethod
    def all(cls) -> tuple[Reduction, ...]:
        """The valid values, in TF's order (the alias included, as TF lists it twice)."""
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE,
                cls.SUM_OVER_NONZERO_WEIGHTS, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: object) -> Reduction:
        """``key`` as a ``Reduction``; ``ValueError`` naming the valid values otherwise."""
        try:
            return cls(key)
        except (ValueError, TypeError):
            valid = ", ".join(repr(r.value) for r in cls)
            raise ValueError(f"`reduction` must be one of tf.compat.v1.losses.Reduction's values "
                             f"({valid}); got {key!r}. (Keras's reduction names are different.)"
                             ) from None


# ---------------------------------------------------------------------------------------------
# Argument checks specific to the weighted losses.

def _real_scalar(value: object, name: str) -> float:
    arr = np.asarray(value)
    if arr.ndim != 0 or arr.dtype.kind not in "iuf":
        raise TypeError(f"`{name}` must be a real number; got {value!r}.")
    return float(arr)


def _label_smoothing(value: object) -> float:
    ls = _real_scalar(value, "label_smoothing")
    if not 0 <= ls <= 1:  # also rejects NaN
        raise ValueError(f"`label_smoothing` must be in [0, 1] (the weight moved from the labels "
                         f"to the uniform distribution); got {value!r}.")
    return ls


def _epsilon(value: object) -> float:
    eps = _real_scalar(value, "epsilon")
    if not 0 < eps < np.inf:  # also rejects NaN
        raise ValueError(f"`epsilon` must be a finite number > 0 (it keeps log(p + epsilon) "
                         f"finite at p = 0 and p = 1); got {value!r}.")
    return eps


def _check_weights(w: np.ndarray, loss_shape: tuple[int, ...]) -> None:
    """TF's ``assert_broadcastable``: a scalar, or the loss's rank with each dim 1 or equal."""
    if w.ndim == 0:
        return
    if w.ndim == len(loss_shape) and all(
            d in (1, n) for d, n in zip(w.shape, loss_shape, strict=True)):
        return
    hint = ""
    if len(loss_shape) >= 1 and w.shape == loss_shape[:-1]:
        hint = f" For one weight per row, use shape {(*loss_shape[:-1], 1)}."
    elif w.ndim == len(loss_shape) + 1 and w.shape[:-1] == loss_shape:
        hint = f" The loss has one value per row here; use shape {loss_shape}."
    raise ValueError(f"`weights` shape {w.shape} cannot be broadcast to the per-element loss shape "
                     f"{loss_shape}; expected a scalar, or rank {len(loss_shape)} with every "
                     f"dimension 1 or equal to the loss's (tf.compat.v1.losses's rule, stricter "
                     f"than NumPy broadcasting).{hint}")


# ---------------------------------------------------------------------------------------------

def _div_no_nan(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, or 0 where ``den == 0`` (TF's ``div_no_nan``: 0 even if num is inf/NaN)."""
    return num / den if den != 0 else np.zeros_like(num)


def _weighted(losses: np.ndarray, weights: ArrayLike, reduction: Reduction) -> np.ndarray:
    """Weight and reduce checked per-element ``losses``; the result has their dtype."""
    w = float_array(weights, "weights")
    _check_weights(w, losses.shape)
    work = compute_dtype(losses.dtype)
    l = losses.astype(work, copy=False)
    w = np.broadcast_to(w.astype(work, copy=False), l.shape)
    weighted = l * w
    if reduction is Reduction.NONE:
        return weighted.astype(losses.dtype, copy=False)
    total = np.sum(weighted)
    if reduction is Reduction.MEAN:
        total = _div_no_nan(total, np.sum(w))
    elif reduction is Reduction.SUM_BY_NONZERO_WEIGHTS:
        total = _div_no_nan(total, work.type(np.count_nonzero(w)))
    elif reduction is Reduction.SUM_OVER_BATCH_SIZE:
        total = _div_no_nan(total, work.type(l.size))
    return np.asarray(total, dtype=losses.dtype)


def compute_weighted_loss(
        losses: ArrayLike, weights: ArrayLike = 1.0,
        reduction: Reduction | str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> np.ndarray:
    """``w·l`` reduced by ``reduction`` (see the module docstring for the five formulas).

    Mirrors ``tf.compat.v1.losses.compute_weighted_loss(losses, weights, reduction=...)``.
    ``weights``: a scalar, or ``losses``'s rank with every dimension 1 or equal. Returns the
    weighted losses for ``Reduction.NONE``, a scalar (0-d array) otherwise. Integer losses
    are computed and returned as float64 (TF would cast its float32 result back to int).
    """
    reduction = Reduction.validate(reduction)
    return _weighted(float_array(losses, "losses"), weights, reduction)


def softmax_cross_entropy(
        onehot_labels: ArrayLike, logits: ArrayLike, weights: ArrayLike = 1.0,
        label_smoothing: float = 0,
        reduction: Reduction | str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> np.ndarray:
    """``l = Σ_j z'_j (lse - s_j)`` per row with ``z' = z(1 - ls) + ls/C``, then weighted, reduced.

    Mirrors ``tf.compat.v1.losses.softmax_cross_entropy``. Labels and logits are ``[B, C]``
    (classes last) of equal shape: unlike ``tf.nn.softmax_cross_entropy_with_logits`` no
    broadcasting. ``l`` is ``[B]``, so ``weights`` is a scalar or ``[B]`` (not ``[B, 1]``).
    """
    reduction = Reduction.validate(reduction)
    ls = _label_smoothing(label_smoothing)
    x = float_array(logits, "logits")
    z = labels_like(onehot_labels, x, "onehot_labels")
    check_same_shape(z, x.shape, "onehot_labels", "logits", "softmax_cross_entropy")
    if ls > 0 and x.ndim > 0:  # smoothed towards the uniform distribution 1/C, in x's dtype as TF
        z = z * (1 - ls) + ls / x.shape[-1]
    return _weighted(softmax_cross_entropy_with_logits(z, x), weights, reduction)


def sparse_softmax_cross_entropy(
        labels: ArrayLike, logits: ArrayLike, weights: ArrayLike = 1.0,
        reduction: Reduction | str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> np.ndarray:
    """``l = lse - s_y`` per example for integer class ids ``y``, then weighted and reduced.

    Mirrors ``tf.compat.v1.losses.sparse_softmax_cross_entropy``. As TF, ``labels`` may be
    ``[B]`` or ``[B, 1]`` (a trailing 1 is squeezed), and so may ``weights``: weights with one
    more dimension than the labels lose a trailing 1, so scalar, ``[B]`` and ``[B, 1]`` work.
    """
    reduction = Reduction.validate(reduction)
    x = float_array(logits, "logits")
    y = np.asarray(labels)
    if x.ndim > 0 and y.ndim == x.ndim and y.shape[-1] == 1:
        y = y[..., 0]  # TF's remove_squeezable_dimensions: [B, 1] labels become [B]
    losses = sparse_softmax_cross_entropy_with_logits(y, x)
    w = float_array(weights, "weights")
    if w.ndim == y.ndim + 1 and w.shape[-1] == 1:
        w = w[..., 0]  # the same squeeze for weights (TF fails to squeeze other sizes; so do we)
    return _weighted(losses, w, reduction)


def sigmoid_cross_entropy(
        multi_class_labels: ArrayLike, logits: ArrayLike, weights: ArrayLike = 1.0,
        label_smoothing: float = 0,
        reduction: Reduction | str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> np.ndarray:
    """``l = max(x, 0) - x·z' + log1p(exp(-|x|))``, ``z' = z(1 - ls) + ls/2``; weighted, reduced.

    Mirrors ``tf.compat.v1.losses.sigmoid_cross_entropy``. Labels are cast to the logits'
    dtype (int labels work, unlike ``tf.nn``) and must have their shape. ``l`` has the
    logits' shape ``[B, C]``: ``weights`` is a scalar, ``[B, 1]``, ``[1, C]`` or ``[B, C]``.
    """
    reduction = Reduction.validate(reduction)
    ls = _label_smoothing(label_smoothing)
    x = float_array(logits, "logits")
    z = labels_like(multi_class_labels, x, "multi_class_labels")
    check_same_shape(z, x.shape, "multi_class_labels", "logits", "sigmoid_cross_entropy")
    if ls > 0:  # smoothed towards 1/2, in x's dtype as TF
        z = z * (1 - ls) + 0.5 * ls
    return _weighted(sigmoid_cross_entropy_with_logits(z, x), weights, reduction)


def log_loss(
        labels: ArrayLike, predictions: ArrayLike, weights: ArrayLike = 1.0,
        epsilon: float = 1e-7,
        reduction: Reduction | str = Reduction.SUM_BY_NONZERO_WEIGHTS) -> np.ndarray:
    """``l = -z·log(p + ε) - (1 - z)·log(1 - p + ε)`` elementwise, then weighted and reduced.

    Mirrors ``tf.compat.v1.losses.log_loss``: ``predictions`` are probabilities, not logits.
    ε is added inside the logs (no clipping), so a perfect prediction gives a loss of about
    -ε (float32: -1.19e-7) and p = 0 with z = 1 gives -log ε = 16.118. Labels are cast to
    the predictions' dtype and must have their shape. TF computes (and returns) float32.
    """
    reduction = Reduction.validate(reduction)
    eps = _epsilon(epsilon)
    p = float_array(predictions, "predictions")
    z = labels_like(labels, p, "labels")
    check_same_shape(z, p.shape, "labels", "predictions", "log_loss")
    work = compute_dtype(p.dtype)  # float16 would round ε = 1e-7 to a subnormal
    pw, zw = p.astype(work, copy=False), z.astype(work, copy=False)
    losses = -zw * np.log(pw + eps) - (1 - zw) * np.log(1 - pw + eps)  # TF's order of operations
    return _weighted(losses.astype(p.dtype, copy=False), weights, reduction)
