"""Stable softmax, log-softmax, logsumexp, sigmoid and log-sigmoid.

The one trick behind all of them: ``exp`` of a large positive number overflows, ``exp`` of
a large negative number underflows harmlessly to 0. So shift by the maximum before
exponentiating (softmax family) or only ever exponentiate ``-|x|`` (sigmoid family).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import check_axis, compute_dtype, float_array


def _row_max(x: np.ndarray, axis: int) -> np.ndarray:
    """``max(x)`` along ``axis`` (kept), ``-inf`` where the axis is empty (TF's identity)."""
    return np.max(x, axis=axis, keepdims=True, initial=-np.inf)


def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """``x - max(x)`` along ``axis``: every entry <= 0, so ``exp`` cannot overflow."""
    return x - _row_max(x, axis)


def logsumexp(x: ArrayLike, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log Σ_j exp(x_j) = m + log Σ_j exp(x_j - m)`` with ``m = max_j x_j``.

    Mirrors ``tf.math.reduce_logsumexp(x, axis, keepdims)``.
    """
    x = float_array(x, "x")
    axis = check_axis(axis, x.ndim, "x")
    work = x.astype(compute_dtype(x.dtype), copy=False)
    m = _row_max(work, axis)
    m = np.where(np.isfinite(m), m, 0)  # all -inf rows give -inf, not NaN (as TF)
    with np.errstate(divide="ignore"):  # log 0 = -inf: the logsumexp of nothing, as TF's
        out = m + np.log(np.sum(np.exp(work - m), axis=axis, keepdims=True))
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out.astype(x.dtype, copy=False)


def log_softmax(logits: ArrayLike, axis: int = -1) -> np.ndarray:
    """``log softmax(x)_j = s_j - log Σ_k exp(s_k)`` with ``s = x - max(x)``.

    Mirrors ``tf.nn.log_softmax(logits, axis)``.
    """
    x = float_array(logits, "logits")
    axis = check_axis(axis, x.ndim)
    s = _shifted(x.astype(compute_dtype(x.dtype), copy=False), axis)
    with np.errstate(divide="ignore"):  # an empty axis: log 0, subtracted from nothing
        out = s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))
    return out.astype(x.dtype, copy=False)


def softmax(logits: ArrayLike, axis: int = -1) -> np.ndarray:
    """``softmax(x)_j = exp(s_j) / Σ_k exp(s_k)`` with ``s = x - max(x)``.

    Mirrors ``tf.nn.softmax(logits, axis)``.
    """
    x = float_array(logits, "logits")
    axis = check_axis(axis, x.ndim)
    e = np.exp(_shifted(x.astype(compute_dtype(x.dtype), copy=False), axis))
    return (e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype, copy=False)


def softplus(x: ArrayLike) -> np.ndarray:
    """``log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))``, exact for any |x|.

    Mirrors ``tf.math.softplus(x)``; note ``-log σ(x) = softplus(-x)``.
    """
    x = float_array(x, "x")
    work = x.astype(compute_dtype(x.dtype), copy=False)
    return (np.maximum(work, 0) + np.log1p(np.exp(-np.abs(work)))).astype(x.dtype, copy=False)


def sigmoid(x: ArrayLike) -> np.ndarray:
    """``σ(x) = 1 / (1 + exp(-x))``, computed as ``e/(1+e)`` with ``e = exp(-|x|)`` for x < 0.

    Exponentiating only ``-|x|`` never overflows and keeps tiny results (σ(-50) ≈ 2e-22)
    accurate. Mirrors ``tf.math.sigmoid(x)`` (``tf.nn.sigmoid``).
    """
    x = float_array(x, "x")
    work = x.astype(compute_dtype(x.dtype), copy=False)
    e = np.exp(-np.abs(work))
    out = np.where(work >= 0, 1 / (1 + e), e / (1 + e))
    return out.astype(x.dtype, copy=False)


def log_sigmoid(x: ArrayLike) -> np.ndarray:
    """``log σ(x) = -softplus(-x) = min(x, 0) - log1p(exp(-|x|))``.

    Mirrors ``tf.math.log_sigmoid(x)``.
    """
    x = float_array(x, "x")
    work = x.astype(compute_dtype(x.dtype), copy=False)
    return (np.minimum(work, 0) - np.log1p(np.exp(-np.abs(work)))).astype(x.dtype, copy=False)
