"""NumPy mirrors of the Keras 3 cross-entropy losses (``keras.losses.*``, TF backend, 3.15).

The functions return one loss per sample (no reduction), as the functional Keras losses do,
in the dtype of ``y_pred``. With ``z = y_true`` (cast to that dtype), ε = 1e-7
(``keras.config.epsilon()``) and ``clip(p) = min(max(p, ε), 1 - ε)`` in that dtype:

    categorical_crossentropy         -Σ_j z_j log clip(p_j / Σ_k p_k)
    sparse_categorical_crossentropy  lse(l) - l_y  with  l = log clip(p)  (renormalises)
    binary_crossentropy              mean_axis -[z log clip(p) + (1-z) log(1 - clip(p))]
    binary_focal_crossentropy        mean_axis [α_t] (1 - p_t)^γ · BCE,  p_t = z·p + (1-z)(1-p)
    categorical_focal_crossentropy   Σ_j α (1 - q_j)^γ · (-z_j log q_j),  q = clip(p / Σ_k p_k)

With ``from_logits=True`` the first three call the fused ``course_lib.nn`` ops instead, as
Keras calls ``tf.nn``: no clipping, so the loss is unbounded. On the probability path (the
Keras default) every term is capped at ``-log ε = 16.118``; for BCE with z = 0 and p -> 1 the
cap is ``-log(1 - fl(1 - ε))``, which is 15.942 in float32 because ``1 - 1e-7`` rounds to
``1 - 2^-23``. Logits passed with the default ``from_logits=False`` are silently clipped.

Hidden logits: ``keras.ops.softmax``/``sigmoid`` attach ``_keras_logits`` to their output and
the Keras losses then take the logits path whatever ``from_logits`` says. NumPy arrays carry
no such attribute, so these functions always follow ``from_logits``: they equal Keras given
plain arrays. The focal losses are the exception *inside* Keras: binary focal with logits
computes its BCE part from the logits hidden on ``sigmoid(x)`` (unclipped), while categorical
focal normalises and clips ``softmax(x)`` even when ``from_logits=True``.

The loss classes add a reduction: ``Class(**kw, reduction=r, dtype=d)(y_true, y_pred, w)``
equals ``reduce_loss(function(y_true, y_pred, **kw), w, r)`` for inputs of dtype ``d``.

Stricter than Keras, which checks none of these: ``label_smoothing`` outside [0, 1],
``gamma < 0``, ``alpha`` outside [0, 1] (binary) or negative (categorical), non-bool flags,
sparse float labels that are not whole numbers (Keras truncates 1.7 to 1), and ``y_true``
that only broadcasts to ``y_pred`` in categorical focal. Where Keras does check (shapes,
class ids, ``axis`` for sparse, ``reduction``) these raise ``ValueError`` too. One case is the
other way round: ``tf.nn.softmax_cross_entropy_with_logits`` fails on a negative ``axis``
other than -1 (e.g. -2), so Keras' categorical CE with logits does; here it works.

This module imports NumPy only (no TensorFlow, no Keras).
"""

from __future__ import annotations

import math
import warnings
from numbers import Real

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import (
    check_axis,
    check_broadcasts_to,
    finite_array,
    float_array,
    labels_like,
)
from course_lib.nn import (
    sigmoid,
    sigmoid_cross_entropy_with_logits,
    softmax,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
)

__all__ = [
    "EPSILON",
    "REDUCTIONS",
    "MaskedLosses",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "reduce_loss",
    "sparse_categorical_crossentropy",
]

EPSILON = 1e-7  # keras.config.epsilon()
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class MaskedLosses(np.ndarray):
    """Per-element losses carrying the mask Keras hides on them (``keras_mask``, True = counted).

    ``sparse_categorical_crossentropy(..., ignore_class=k)`` returns one, as Keras attaches
    ``_keras_mask`` to its result, and ``reduce_loss`` reads it as the Keras loss classes do.
    Arrays derived from it (slices, arithmetic) have ``keras_mask = None``, as any TF op on a
    masked tensor returns an unmasked one.
    """

    keras_mask: np.ndarray | None

    def __array_finalize__(self, obj) -> None:
        self.keras_mask = None


# ---------------------------------------------------------------- argument checks
def _flag(value, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"`{name}` must be True or False; got {value!r}.")
    return bool(value)


def _real(value, name: str) -> float:
    """A finite real scalar (not a bool, which Keras would silently read as 0 or 1)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, Real):
        raise TypeError(f"`{name}` must be a real number; got {value!r} "
                        f"of type {type(value).__name__}.")
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite; got {value}.")
    return float(value)


def _label_smoothing(value) -> float:
    ls = _real(value, "label_smoothing")
    if not 0 <= ls <= 1:
        raise ValueError(f"`label_smoothing` must be in [0, 1]; got {ls}.")
    return ls


def _gamma(value) -> float:
    gamma = _real(value, "gamma")
    if gamma < 0:
        raise ValueError(f"`gamma` must be >= 0 (0 turns the focal factor off); got {gamma}.")
    return gamma


def _alpha(value, x: np.ndarray, low: float, high: float) -> np.ndarray:
    """``alpha`` as a float array that broadcasts to ``x``, each entry in [low, high].

    Keras' TF backend turns a Python list into a float32 (floatx) tensor before casting it to
    ``y_pred``'s dtype (categorical focal's ``ops.multiply``), so a list is rounded to float32
    here too; it matters for float64. (Binary focal's ``1 - alpha`` fails on a list in Keras.)
    """
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"`alpha` must be a real number or an array of them; got {value!r}.")
    if isinstance(value, list | tuple):
        value = np.asarray(value, dtype=np.float32)
    alpha = finite_array(value, "alpha")
    check_broadcasts_to(alpha, x.shape, "alpha", "y_pred")
    if alpha.size and not (np.all(alpha >= low) and np.all(alpha <= high)):
        bad = alpha[(alpha < low) | (alpha > high)].flat[0]
        raise ValueError(f"`alpha` must be in [{low}, {high}]; got {bad}.")
    return alpha


def _axis(axis, ndim: int) -> int:
    if isinstance(axis, bool | np.bool_):  # check_axis would take True for 1
        raise TypeError(f"`axis` must be an int; got {axis!r}.")
    return check_axis(axis, ndim, "y_pred")


def _dense_inputs(y_true: ArrayLike, y_pred: ArrayLike, axis) -> tuple[np.ndarray, np.ndarray,
                                                                         int]:
    """(z, x, axis): ``y_true`` cast to ``y_pred``'s dtype and of exactly its shape."""
    x = float_array(y_pred, "y_pred")
    axis = _axis(axis, x.ndim)
    z = labels_like(y_true, x, "y_true")
    if z.shape != x.shape:
        raise ValueError(f"`y_true` shape {z.shape} must equal `y_pred` shape {x.shape}; "
                         "Keras losses do not broadcast their targets.")
    return z, x, axis


def _warn_single_class(x: np.ndarray, fn_name: str) -> None:
    """Keras' warning: with one class the normalised probability is 1 and the loss ~0."""
    if x.shape[-1] == 1:  # Keras tests the last dimension whatever `axis` is
        warnings.warn(f"In loss {fn_name}, expected y_pred.shape to be (batch_size, "
                      f"num_classes) with num_classes > 1. Received: y_pred.shape={x.shape}. "
                      "Consider using 'binary_crossentropy' if you only have 2 classes.",
                      SyntaxWarning, stacklevel=3)


# ---------------------------------------------------------------- shared pieces
def _clip(p: np.ndarray) -> np.ndarray:
    """Keras' ``clip(p, ε, 1 - ε)`` with both bounds rounded to ``p``'s dtype.

    In float32 ``1 - 1e-7`` rounds to ``1 - 2^-23``, so ``1 - clip(p) >= 1.19e-7``: the BCE
    cap for z = 0 is ``-log(1.19e-7) = 15.942`` while every other cap is ``-log(1e-7) = 16.118``.
    """
    t = p.dtype.type
    return np.clip(p, t(EPSILON), t(1.0 - EPSILON))


def _smooth_categorical(z: np.ndarray, label_smoothing: float) -> np.ndarray:
    """``z·(1 - ls) + ls / C`` with ``C = y_true.shape[-1]``, Keras' rounding.

    Keras divides by the *last* dimension even when ``axis`` names another one (so with
    ``axis=1`` on ``[B, C, H, W]`` it spreads ``ls / W``); mirrored, not fixed.
    """
    if not label_smoothing:
        return z
    t = z.dtype.type
    return z * t(1.0 - label_smoothing) + t(label_smoothing) / t(z.shape[-1])


def _smooth_binary(z: np.ndarray, label_smoothing: float) -> np.ndarray:
    """``z·(1 - ls) + ls / 2``: targets squeezed towards 0.5."""
    if not label_smoothing:
        return z
    t = z.dtype.type
    return z * t(1.0 - label_smoothing) + t(0.5 * label_smoothing)


def _bce_from_probabilities(z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``-[z log clip(p) + (1-z) log(1 - clip(p))]``, as ``keras.ops.binary_crossentropy``."""
    p = _clip(p)
    return -(z * np.log(p) + (1 - z) * np.log(1 - p))


# ---------------------------------------------------------------- the five losses
def categorical_crossentropy(y_true: ArrayLike, y_pred: ArrayLike, from_logits: bool = False,
                             label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    """``-Σ_j z_j log clip(p_j / Σ_k p_k)`` over ``axis``; logits: ``Σ_j z_j (lse(x) - x_j)``.

    Mirrors ``keras.losses.categorical_crossentropy``. ``y_true`` (one-hot or probabilities)
    must have ``y_pred``'s shape. Label smoothing uses ``z·(1-ls) + ls/C``, C the last dim.
    """
    z, x, axis = _dense_inputs(y_true, y_pred, axis)
    from_logits = _flag(from_logits, "from_logits")
    label_smoothing = _label_smoothing(label_smoothing)
    _warn_single_class(x, "categorical_crossentropy")
    z = _smooth_categorical(z, label_smoothing)
    if from_logits:
        return softmax_cross_entropy_with_logits(z, x, axis)
    p = _clip(x / np.sum(x, axis=axis, keepdims=True))  # rows renormalised, then clipped
    return -np.sum(z * np.log(p), axis=axis)


def _sparse_class_ids(y_true: ArrayLike, x: np.ndarray, ignore_class: int | None):
    """(class ids as int64 of shape ``x.shape[:-1]``, mask of counted entries or None)."""
    y = np.asarray(y_true)
    if y.dtype.kind not in "iuf":
        raise TypeError(f"`y_true` must hold integer class ids (integer or integer-valued "
                        f"float dtype); got dtype {y.dtype}.")
    if y.ndim == x.ndim and y.ndim and y.shape[-1] == 1:
        y = y[..., 0]  # [B, 1] labels are squeezed, as in Keras
    expected = x.shape[:-1]
    if y.shape != expected:
        raise ValueError(f"`y_true` shape {np.shape(y_true)} must equal `y_pred` shape "
                         f"{x.shape} without its last (class) dimension, i.e. {expected} "
                         f"(or {(*expected, 1)}).")
    if y.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(y) | (y != np.trunc(y))
        if bad.any():
            raise ValueError(f"`y_true` holds {y[bad].flat[0]}, which is not a class id; "
                             "expected integer-valued labels (Keras would silently truncate "
                             "it towards 0).")
    valid = None if ignore_class is None else y != ignore_class
    if valid is not None:
        y = np.where(valid, y, 0)  # ignored entries get class 0, then loss 0, as in Keras
    num_classes = x.shape[-1]
    out_of_range = (y < 0) | (y >= num_classes)
    if out_of_range.any():
        skip = "" if ignore_class is None else f" (other than ignore_class={ignore_class})"
        raise ValueError(f"`y_true` holds the class id {y[out_of_range].flat[0]}{skip}, "
                         f"outside the valid range [0, {num_classes}) for `y_pred` with "
                         f"{num_classes} classes.")
    return y.astype(np.int64), valid


def sparse_categorical_crossentropy(y_true: ArrayLike, y_pred: ArrayLike,
                                    from_logits: bool = False, ignore_class: int | None = None,
                                    axis: int = -1) -> np.ndarray:
    """``lse(l) - l_y`` with ``l = log clip(p)`` (probabilities) or ``l = x`` (logits).

    Mirrors ``keras.losses.sparse_categorical_crossentropy``. Labels ``[B, ...]`` or
    ``[B, ..., 1]``; float labels must be integer-valued and are cast to int64 (Keras would
    truncate 1.7 to 1). Only the last axis may hold the classes (``axis=-1`` or ``ndim-1``),
    as in Keras. Clipped probabilities are renormalised by the lse, unlike categorical CE.

    With ``ignore_class=k`` entries labelled k get loss 0 and the result is a
    ``MaskedLosses`` whose ``keras_mask`` tells ``reduce_loss`` to divide by the number of
    counted entries, as Keras' hidden ``_keras_mask`` does.
    """
    x = float_array(y_pred, "y_pred")
    if isinstance(axis, bool | np.bool_) or not isinstance(axis, int | np.integer):
        raise TypeError(f"`axis` must be an int; got {axis!r}.")
    if x.ndim == 0:
        raise ValueError("`y_pred` must have at least one dimension (the classes); got a scalar.")
    if axis not in (-1, x.ndim - 1):
        raise ValueError(f"`axis`={axis} is not supported: sparse categorical cross-entropy "
                         f"needs the classes last, i.e. axis=-1 (or {x.ndim - 1} here), as "
                         "Keras ('Only axis=-1 is currently supported').")
    from_logits = _flag(from_logits, "from_logits")
    if ignore_class is not None and (isinstance(ignore_class, bool | np.bool_)
                                     or not isinstance(ignore_class, int | np.integer)):
        raise TypeError(f"`ignore_class` must be None or an int class id; got {ignore_class!r}.")
    ids, valid = _sparse_class_ids(y_true, x, ignore_class)
    if valid is not None:
        x = np.where(valid[..., None], x, x.dtype.type(0))  # Keras zeroes the ignored rows
    logits = x if from_logits else np.log(_clip(x))
    loss = sparse_softmax_cross_entropy_with_logits(ids, logits)
    if valid is None:
        return loss
    masked = np.where(valid, loss, loss.dtype.type(0)).view(MaskedLosses)
    masked.keras_mask = valid
    return masked


def _mean_over(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis``, as Keras takes it: NaN for an empty axis (0 / 0), without a warning."""
    with np.errstate(invalid="ignore"):
        return np.sum(values, axis=axis) / values.shape[axis]


def binary_crossentropy(y_true: ArrayLike, y_pred: ArrayLike, from_logits: bool = False,
                        label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    """``mean_axis -[z log clip(p) + (1-z) log(1 - clip(p))]``; logits: mean of sigmoid CE.

    Mirrors ``keras.losses.binary_crossentropy``: the *mean* over ``axis`` (multi-label
    entries averaged, not summed), so ``[B]`` inputs give one scalar. Label smoothing uses
    ``z·(1-ls) + ls/2``.
    """
    z, x, axis = _dense_inputs(y_true, y_pred, axis)
    from_logits = _flag(from_logits, "from_logits")
    z = _smooth_binary(z, _label_smoothing(label_smoothing))
    if from_logits:
        per_entry = sigmoid_cross_entropy_with_logits(z, x)
    else:
        per_entry = _bce_from_probabilities(z, x)
    return _mean_over(per_entry, axis)


def binary_focal_crossentropy(y_true: ArrayLike, y_pred: ArrayLike,
                              apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False,
                              label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    """``mean_axis [α_t] (1-p_t)^γ · BCE``, ``p_t = z·p + (1-z)(1-p)``, ``α_t = z·α + (1-z)(1-α)``.

    Mirrors ``keras.losses.binary_focal_crossentropy``; α_t only with
    ``apply_class_balancing=True``. ``p_t`` uses the *unclipped* p; with ``from_logits=True``
    p = σ(x) and the BCE part is the unclipped sigmoid CE (Keras finds the logits hidden on
    ``sigmoid(x)``), without logits it is the clipped BCE. γ = 0 and no balancing give BCE.
    """
    z, x, axis = _dense_inputs(y_true, y_pred, axis)
    apply_class_balancing = _flag(apply_class_balancing, "apply_class_balancing")
    from_logits = _flag(from_logits, "from_logits")
    alpha = _alpha(alpha, x, 0.0, 1.0)
    gamma = _gamma(gamma)
    z = _smooth_binary(z, _label_smoothing(label_smoothing))
    if from_logits:
        p, bce = sigmoid(x), sigmoid_cross_entropy_with_logits(z, x)
    else:
        p, bce = x, _bce_from_probabilities(z, x)
    p_t = z * p + (1 - z) * (1 - p)
    focal = np.power(1 - p_t, x.dtype.type(gamma)) * bce
    if apply_class_balancing:
        # 1 - α is taken before the cast to y_pred's dtype, as Keras does with a Python float.
        t = x.dtype.type
        focal = (z * alpha.astype(t) + (1 - z) * (1 - alpha).astype(t)) * focal
    return _mean_over(focal, axis)


def categorical_focal_crossentropy(y_true: ArrayLike, y_pred: ArrayLike, alpha: float = 0.25,
                                   gamma: float = 2.0, from_logits: bool = False,
                                   label_smoothing: float = 0.0, axis: int = -1) -> np.ndarray:
    """``Σ_j α (1 - q_j)^γ · (-z_j log q_j)`` over ``axis``, ``q = clip(p / Σ_k p_k)``.

    Mirrors ``keras.losses.categorical_focal_crossentropy``. With ``from_logits=True``,
    ``p = softmax(x)`` and is *still* clipped, so each term is capped at ``α·16.118``
    (categorical CE with logits is not). ``alpha`` (a scalar or per-class weights that
    broadcast to ``y_pred``) multiplies every class: γ = 0 gives ``α · categorical CE``.
    """
    z, x, axis = _dense_inputs(y_true, y_pred, axis)
    alpha = _alpha(alpha, x, 0.0, math.inf)
    gamma = _gamma(gamma)
    from_logits = _flag(from_logits, "from_logits")
    label_smoothing = _label_smoothing(label_smoothing)
    _warn_single_class(x, "categorical_focal_crossentropy")
    z = _smooth_categorical(z, label_smoothing)
    p = softmax(x, axis) if from_logits else x
    q = _clip(p / np.sum(p, axis=axis, keepdims=True))
    cross_entropy = -z * np.log(q)
    weight = np.power(1 - q, x.dtype.type(gamma)) * alpha.astype(x.dtype)
    return np.sum(weight * cross_entropy, axis=axis)


# ---------------------------------------------------------------- reduction (loss classes)
def _squeeze_or_expand_to_same_rank(x1: np.ndarray, x2: np.ndarray):
    """Keras' rank fix-up (``keras.src.losses.loss.squeeze_or_expand_to_same_rank``).

    Ranks differing by one with a trailing 1: a rank-1 partner gets a trailing axis
    (``[B]`` losses with ``[B, 1]`` weights become ``[B, 1]``), otherwise the 1 is squeezed.
    """
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def _weighted(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``values · weight`` with NumPy (= TF) broadcasting, refused with a clear message."""
    try:
        np.broadcast_shapes(values.shape, weight.shape)
    except ValueError:
        raise ValueError(f"`sample_weight` shape {weight.shape} does not broadcast with the "
                         f"losses' shape {values.shape}; expected a scalar, [B] or [B, 1] "
                         "weights for [B] losses, or the losses' own shape.") from None
    return values * weight


def _mask_weights(sample_weight: np.ndarray | None, mask: np.ndarray, dtype: np.dtype,
                  reduction) -> np.ndarray:
    """Keras' ``apply_mask``: the mask becomes (part of) the sample weights.

    For 'sum_over_batch_size' and 'mean' a counted entry weighs ``total/valid`` and an
    ignored one 0, so dividing by the element count ``total`` divides by ``valid``.
    """
    t = dtype.type
    if reduction in ("mean", "sum_over_batch_size"):
        total, valid = t(mask.size), np.sum(mask, dtype=dtype)
        per_entry = total / valid if valid else t(0)  # divide_no_nan
        float_mask = np.where(mask, per_entry, t(0)).astype(dtype)
    else:
        float_mask = mask.astype(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = _squeeze_or_expand_to_same_rank(float_mask, sample_weight)
    return _weighted(float_mask, sample_weight)


def reduce_loss(losses: ArrayLike, sample_weight: ArrayLike | None = None,
                reduction: str | None = "sum_over_batch_size") -> np.ndarray:
    """What the Keras loss classes do after the per-sample loss: weight, then reduce.

    ``l·w`` (``w`` a scalar, ``[B]`` or ``[B, 1]`` for ``[B]`` losses, or any shape that
    broadcasts), then

        'sum_over_batch_size', 'mean'   Σ(l·w) / (number of loss elements)   (not Σw!)
        'mean_with_sample_weight'       Σ(l·w) / Σw
        'sum'                           Σ(l·w)
        'none', None                    l·w, unreduced

    Divisions are ``divide_no_nan`` (0 when the divisor is 0), so zero weights still count in
    'sum_over_batch_size' and all-zero weights give 0 for 'mean_with_sample_weight'.
    Mirrors ``keras.losses.Loss.__call__`` (``reduce_weighted_values``) with the quirks:

    - ``[B]`` losses with ``[B, 1]`` weights are expanded, so 'none' returns ``[B, 1]``.
    - Σw is the sum of the weights *as given*: a scalar weight w gives ``Σ(l·w)/w = Σl``.
    - A ``[B, 1]`` loss with a scalar weight is squeezed to a scalar and returned unreduced;
      ``()`` and ``(0,)``-shaped losses are always returned as they are.
    - Per-pixel ``[B, H, W]`` losses with ``[B]`` weights broadcast against W (an error
      unless W == B, and then silently the wrong weighting): pass ``[B, 1, 1]`` weights.

    A ``MaskedLosses`` (from ``sparse_categorical_crossentropy(..., ignore_class=k)``) is
    reduced as Keras reduces a masked loss: ignored entries count in no divisor, e.g.
    'sum_over_batch_size' is ``Σ(l·w) / (number of counted entries)``.

    The result keeps the losses' dtype (a Keras class computes in its ``dtype``, float32
    unless given). TF's ``tf.distribute`` scaling by 1/replicas is not modelled.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {REDUCTIONS}; got {reduction!r}. "
                         "(Keras 3 has no 'auto': 'sum_over_batch_size' is its default.)")
    mask = getattr(losses, "keras_mask", None)
    values = float_array(losses, "losses")
    dtype = values.dtype
    weight = None
    if sample_weight is not None:
        weight = finite_array(sample_weight, "sample_weight").astype(dtype)
    if mask is not None:
        weight = _mask_weights(weight, mask, dtype, reduction)
    if weight is not None:
        values, weight = _squeeze_or_expand_to_same_rank(values, weight)
        values = _weighted(values, weight)
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    total = np.sum(values)
    if reduction == "sum":
        return np.asarray(total, dtype=dtype)
    if reduction == "mean_with_sample_weight" and weight is not None:
        divisor = np.sum(weight, dtype=dtype)
    else:
        divisor = dtype.type(values.size)
    return np.asarray(total / divisor if divisor else 0, dtype=dtype)
