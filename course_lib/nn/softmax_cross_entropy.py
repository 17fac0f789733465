"""Softmax cross-entropy for exclusive classes: dense (one-hot or soft) and sparse labels.

With ``s = x - max(x)`` (the stability shift) and ``lse = log Σ_k exp(s_k)``:

    loss = Σ_j z_j · (lse - s_j)            dense labels z (one-hot or probabilities)
    loss = lse - s_y                        sparse label y (an integer class id)

The gradients of the *summed* loss are

    d loss / d x_j = softmax(x)_j · Σ_k z_k - z_j      (= softmax - z when rows of z sum to 1)
    d loss / d z_j = lse - s_j = -log softmax(x)_j

TensorFlow's kernel returns ``softmax - z`` whatever the labels sum to, which is only the
derivative when every label row sums to 1; these functions return the true derivative.

The fused ``*_value_and_grad`` functions make one pass over the logits per block of rows and
write the gradient in place, with no one-hot temporaries: the fast path ``make bench`` times.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import (
    check_axis,
    check_broadcasts_to,
    class_ids,
    compute_dtype,
    float_array,
    labels_like,
)

# Rows are processed in blocks of about this many bytes, so the passes over a block after
# the first read hit the CPU cache instead of main memory.
_BLOCK_BYTES = 1 << 18


def _row_blocks(num_rows: int, row_bytes: int) -> list[slice]:
    rows = max(1, _BLOCK_BYTES // max(row_bytes, 1))
    return [slice(start, min(start + rows, num_rows)) for start in range(0, num_rows, rows)]


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


def _dense_rows(x: np.ndarray, z: np.ndarray, grad: np.ndarray | None) -> np.ndarray:
    """Loss per row of 2-D ``x`` for dense labels ``z``; fills ``grad`` (same shape) if given."""
    loss = np.empty(x.shape[0], dtype=x.dtype)
    for rows in _row_blocks(x.shape[0], x.shape[1] * x.itemsize):
        xb, zb = x[rows], z[rows]
        s = xb - xb.max(axis=1, keepdims=True)             # s = x - max(x)
        e = np.exp(s)                                      # e = exp(s), every entry in (0, 1]
        total = e.sum(axis=1, keepdims=True)               # Σ_k exp(s_k)
        lse = np.log(total)                                # lse = log Σ_k exp(s_k)
        loss[rows] = np.sum(zb * (lse - s), axis=1)        # Σ_j z_j (lse - s_j), as TF's kernel
        if grad is not None:
            label_mass = zb.sum(axis=1, keepdims=True)     # Σ_k z_k (1 for proper labels)
            np.multiply(e, label_mass / total, out=grad[rows])  # softmax · Σz
            grad[rows] -= zb                               # softmax · Σz - z
    return loss


def _dense_value_and_grad(labels, logits, axis, want_grad: bool):
    z, x, axis = _dense_inputs(labels, logits, axis)
    work = np.moveaxis(x.astype(compute_dtype(x.dtype), copy=False), axis, -1)
    z_last = np.moveaxis(np.broadcast_to(z, x.shape), axis, -1).astype(work.dtype, copy=False)
    num_classes = work.shape[-1]
    x2 = np.ascontiguousarray(work.reshape(-1, num_classes))
    z2 = np.ascontiguousarray(z_last.reshape(-1, num_classes))
    grad = np.empty_like(x2) if want_grad else None
    loss = _dense_rows(x2, z2, grad).reshape(work.shape[:-1]).astype(x.dtype, copy=False)
    if grad is None:
        return loss, None
    d_logits = np.moveaxis(grad.reshape(work.shape), -1, axis).astype(x.dtype, copy=False)
    return loss, d_logits


def softmax_cross_entropy_with_logits(labels: ArrayLike, logits: ArrayLike,
                                      axis: int = -1) -> np.ndarray:
    """``loss = Σ_j z_j (lse - s_j)``, ``s = x - max(x)``, over ``axis``; labels broadcast.

    Mirrors ``tf.nn.softmax_cross_entropy_with_logits(labels, logits, axis)`` (the TF 1
    ``..._v2``). Returns the logits' shape without ``axis``.
    """
    return _dense_value_and_grad(labels, logits, axis, want_grad=False)[0]


def softmax_cross_entropy_with_logits_value_and_grad(
        labels: ArrayLike, logits: ArrayLike, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """``(loss, d Σloss / d logits)`` in one blocked pass: ``softmax·Σz - z``.

    The fused forward+backward of ``tf.nn.softmax_cross_entropy_with_logits``.
    """
    return _dense_value_and_grad(labels, logits, axis, want_grad=True)


def softmax_cross_entropy_with_logits_grad(
        labels: ArrayLike, logits: ArrayLike, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """``(d_labels, d_logits)`` of the summed loss: ``(-log_softmax(x), softmax·Σz - z)``.

    ``d_labels`` has the labels' own shape (summed over broadcast axes), as
    ``tf.GradientTape`` gives it for ``tf.nn.softmax_cross_entropy_with_logits``.
    """
    z, x, axis = _dense_inputs(labels, logits, axis)
    _, d_logits = _dense_value_and_grad(z, x, axis, want_grad=True)
    work = x.astype(compute_dtype(x.dtype), copy=False)
    s = work - work.max(axis=axis, keepdims=True)
    neg_log_softmax = np.log(np.sum(np.exp(s), axis=axis, keepdims=True)) - s
    d_labels = _sum_to_shape(np.broadcast_to(neg_log_softmax, x.shape), z.shape)
    return d_labels.reshape(z.shape).astype(x.dtype, copy=False), d_logits


def _sparse_rows(x: np.ndarray, y: np.ndarray, grad: np.ndarray | None) -> np.ndarray:
    """Loss per row of 2-D ``x`` for class ids ``y``; fills ``grad`` (same shape) if given."""
    loss = np.empty(x.shape[0], dtype=x.dtype)
    blocks = _row_blocks(x.shape[0], x.shape[1] * x.itemsize)
    scratch = None if grad is not None else np.empty((blocks[0].stop, x.shape[1]), x.dtype)
    for rows in blocks:
        xb, yb = x[rows], y[rows]
        gb = grad[rows] if grad is not None else scratch[: len(xb)]
        picked = (np.arange(len(xb)), yb)
        np.subtract(xb, xb.max(axis=1, keepdims=True), out=gb)  # g = s = x - max(x)
        s_y = gb[picked]                                    # s_y, the true class's shifted logit
        np.exp(gb, out=gb)                                  # g = exp(s)
        total = gb.sum(axis=1)                              # Σ_k exp(s_k)
        loss[rows] = np.log(total) - s_y                    # loss = lse - s_y
        if grad is not None:
            gb *= (1 / total)[:, None]                      # g = softmax(x)
            gb[picked] -= 1                                 # g = softmax(x) - onehot(y)
    return loss


def _sparse_value_and_grad(labels, logits, want_grad: bool):
    x = float_array(logits, "logits")
    y = class_ids(labels, x)
    work = x.astype(compute_dtype(x.dtype), copy=False)
    num_classes = work.shape[-1]
    x2 = np.ascontiguousarray(work.reshape(-1, num_classes))
    grad = np.empty_like(x2) if want_grad else None
    loss = _sparse_rows(x2, y.reshape(-1), grad) if x2.size else np.zeros(len(x2), x2.dtype)
    loss = loss.reshape(y.shape).astype(x.dtype, copy=False)
    if grad is None:
        return loss, None
    return loss, grad.reshape(x.shape).astype(x.dtype, copy=False)


def sparse_softmax_cross_entropy_with_logits(labels: ArrayLike,
                                             logits: ArrayLike) -> np.ndarray:
    """``loss = lse - s_y``: integer labels of shape ``logits.shape[:-1]``, classes last.

    Mirrors ``tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)``; works for
    ``[B, H, W]`` labels with ``[B, H, W, C]`` logits.
    """
    return _sparse_value_and_grad(labels, logits, want_grad=False)[0]


def sparse_softmax_cross_entropy_with_logits_value_and_grad(
        labels: ArrayLike, logits: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """``(loss, softmax(x) - onehot(y))`` in one blocked, in-place pass (no one-hot built).

    The fused forward+backward of ``tf.nn.sparse_softmax_cross_entropy_with_logits``.
    """
    return _sparse_value_and_grad(labels, logits, want_grad=True)


def sparse_softmax_cross_entropy_with_logits_grad(labels: ArrayLike,
                                                  logits: ArrayLike) -> np.ndarray:
    """``d Σloss / d logits = softmax(x) - onehot(y)`` (integer labels have no gradient)."""
    return _sparse_value_and_grad(labels, logits, want_grad=True)[1]
