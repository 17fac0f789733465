"""Softmax cross-entropy for exclusive classes: dense (one-hot or soft) and sparse labels.

With ``s = x - max(x)`` (the stability shift) and ``lse = log Σ_k exp(s_k)``:

    loss = Σ_j z_j · (lse - s_j)            dense labels z (one-hot or probabilities)
    loss = lse - s_y                        sparse label y (an integer class id)

The gradients of the *summed* loss are

    d loss / d x_j = softmax(x)_j · Σ_k z_k - z_j      (= softmax - z when rows of z sum to 1)
    d loss / d z_j = lse - s_j = -log softmax(x)_j

TensorFlow's kernel returns ``softmax - z`` whatever the labels sum to, which is only the
derivative when every label row sums to 1; these functions return the true derivative.
At the top class j of a confident row (softmax above 1/2) ``softmax_j·Σz - z_j`` cancels (for
logits [37.43, 0] and label 0, TF returns 0 where the derivative is -5.55e-17); there the
entry is ``Σ_{k≠j} z_k - Σz·Σ_{k≠j} softmax_k``, summed from the other entries in a wider
dtype: within 1 ulp of exact arithmetic.

All of them compute these formulas in one fused pass over the logits, in place in the
gradient; how (blocks, column tiles, two threads) is the private ``_xent_kernel`` module's
business, kept apart so that this one reads as the mathematics.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import (
    check_axis,
    check_broadcasts_to,
    class_ids,
    compute_dtype,
    float_array,
    gradient_buffer,
    labels_like,
)
from course_lib.nn._xent_kernel import xent_rows


# ---------------------------------------------------------------- dense labels
def _dense_inputs(labels: ArrayLike, logits: ArrayLike, axis: int):
    """Checked (labels, logits, axis): labels cast to the logits' dtype, broadcastable to them."""
    x = float_array(logits, "logits")
    axis = check_axis(axis, x.ndim)
    z = labels_like(labels, x)
    check_broadcasts_to(z, x.shape, "labels")
    return z, x, axis


def _sum_to_shape(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Undo broadcasting: sum ``g`` over the axes along which ``shape`` was stretched."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True) if stretched else g


def _dense_value_and_grad(labels, logits, axis, want_grad: bool, out=None):
    z, x, axis = _dense_inputs(labels, logits, axis)
    out = gradient_buffer(out, x, labels=z)
    # Classes last, as 2-D [rows, C]: views when the class axis is already last; broadcast
    # labels stay broadcast (stride 0) unless the reshape cannot express them as a view.
    x_last = np.moveaxis(x, axis, -1)
    z_last = np.moveaxis(np.broadcast_to(z, x.shape), axis, -1)
    num_classes = x_last.shape[-1]
    num_rows = math.prod(x_last.shape[:-1])
    if num_rows == 0 and num_classes == 0:
        raise ValueError(f"`logits` shape {x.shape} has no classes and no examples; expected "
                         "at least one class (TF cannot reshape it to [rows, classes] either).")
    x2 = x_last.reshape(num_rows, num_classes)     # no classes: a loss of 0 per row, as TF
    z2 = z_last.reshape(num_rows, num_classes)
    classes_last = axis == x.ndim - 1
    # With the classes last, `out` viewed as [rows, C] is the kernel's own gradient buffer;
    # otherwise the kernel's [rows, C] layout differs from `out`'s and the result is copied in.
    loss, grad = xent_rows(x2, None, z2, want_grad,
                           out.reshape(-1, num_classes) if out is not None and classes_last
                           else None)
    loss = loss.reshape(x_last.shape[:-1]).astype(x.dtype, copy=False)
    if grad is None:
        return loss, None
    grad = np.moveaxis(grad.reshape(x_last.shape), -1, axis)
    if out is None or classes_last:
        return loss, out if out is not None else grad
    out[...] = grad
    return loss, out


def softmax_cross_entropy_with_logits(labels: ArrayLike, logits: ArrayLike,
                                      axis: int = -1) -> np.ndarray:
    """``loss = Σ_j z_j (lse - s_j)``, ``s = x - max(x)``, over ``axis``; labels broadcast.

    Mirrors ``tf.nn.softmax_cross_entropy_with_logits(labels, logits, axis)`` (the TF 1
    ``..._v2``). Returns the logits' shape without ``axis``.
    """
    return _dense_value_and_grad(labels, logits, axis, want_grad=False)[0]


def softmax_cross_entropy_with_logits_value_and_grad(
        labels: ArrayLike, logits: ArrayLike, axis: int = -1, *,
        out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(loss, d Σloss / d logits)`` in one blocked pass: ``softmax·Σz - z``.

    The fused forward+backward of ``tf.nn.softmax_cross_entropy_with_logits``. ``out``, as in
    NumPy: a C-contiguous array of the logits' shape and dtype that receives the gradient and
    is returned; reusing one across the steps of a training loop saves allocating (and
    page-faulting in) a fresh gradient every call.
    """
    return _dense_value_and_grad(labels, logits, axis, want_grad=True, out=out)


def softmax_cross_entropy_with_logits_grad(
        labels: ArrayLike, logits: ArrayLike, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """``(d_labels, d_logits)`` of the summed loss: ``(-log_softmax(x), softmax·Σz - z)``.

    ``d_labels`` has the labels' own shape (summed over broadcast axes), as
    ``tf.GradientTape`` gives it for ``tf.nn.softmax_cross_entropy_with_logits``.
    """
    z, x, axis = _dense_inputs(labels, logits, axis)
    _, d_logits = _dense_value_and_grad(z, x, axis, want_grad=True)
    work = x.astype(compute_dtype(x.dtype), copy=False)
    s = work - work.max(axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):      # no classes: log 0, subtracted from nothing
        neg_log_softmax = np.log(np.sum(np.exp(s), axis=axis, keepdims=True)) - s
    d_labels = _sum_to_shape(np.broadcast_to(neg_log_softmax, x.shape), z.shape)
    return d_labels.reshape(z.shape).astype(x.dtype, copy=False), d_logits


# ---------------------------------------------------------------- sparse labels
def _sparse_value_and_grad(labels, logits, want_grad: bool, out=None):
    x = float_array(logits, "logits")
    if x.ndim and x.shape[-1] == 0:
        raise ValueError(f"`logits` shape {x.shape} has no classes; a class id needs at least "
                         "one class to point to (TF raises too).")
    y = class_ids(labels, x)
    out = gradient_buffer(out, x)
    num_classes = x.shape[-1]
    loss, grad = xent_rows(x.reshape(-1, num_classes), y.reshape(-1), None, want_grad,
                           None if out is None else out.reshape(-1, num_classes))
    loss = loss.reshape(y.shape).astype(x.dtype, copy=False)
    if grad is None:
        return loss, None
    return loss, grad.reshape(x.shape) if out is None else out


def sparse_softmax_cross_entropy_with_logits(labels: ArrayLike,
                                             logits: ArrayLike) -> np.ndarray:
    """``loss = lse - s_y``: integer labels of shape ``logits.shape[:-1]``, classes last.

    Mirrors ``tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)``; works for
    ``[B, H, W]`` labels with ``[B, H, W, C]`` logits.
    """
    return _sparse_value_and_grad(labels, logits, want_grad=False)[0]


def sparse_softmax_cross_entropy_with_logits_value_and_grad(
        labels: ArrayLike, logits: ArrayLike, *,
        out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(loss, softmax(x) - onehot(y))`` in one blocked, in-place pass (no one-hot built).

    The fused forward+backward of ``tf.nn.sparse_softmax_cross_entropy_with_logits``.
    ``out``: the gradient buffer, as for ``softmax_cross_entropy_with_logits_value_and_grad``.
    """
    return _sparse_value_and_grad(labels, logits, want_grad=True, out=out)


def sparse_softmax_cross_entropy_with_logits_grad(labels: ArrayLike,
                                                  logits: ArrayLike) -> np.ndarray:
    """``d Σloss / d logits = softmax(x) - onehot(y)`` (integer labels have no gradient)."""
    return _sparse_value_and_grad(labels, logits, want_grad=True)[1]
