"""Sigmoid cross-entropy: every entry is its own binary problem (multi-label classification).

For a logit x and a label z in [0, 1], with ``softplus(t) = log(1 + exp(t))``:

    loss = -z log σ(x) - (1-z) log(1 - σ(x)) = z·softplus(-x) + (1-z)·softplus(x)
         = max(x, 0) - x·z + log1p(exp(-|x|))                  (TF's overflow-free form)

``pos_weight`` q scales the positive term only:

    weighted loss = q·z·softplus(-x) + (1-z)·softplus(x)

Gradients of the summed loss: ``d/dx = σ(x) - z`` (weighted: ``(1-z)σ(x) - q·z·σ(-x)``),
``d/dz = -x`` (weighted: ``q·softplus(-x) - softplus(x)``).

``sigmoid_cross_entropy_with_logits_value_and_grad`` is the fused forward+backward ``make
bench`` times: blocks of 512 KiB, each computed in place in the freshly allocated outputs
with one reused scratch block, and only ufuncs NumPy vectorises on float32. Its one
shortcut: ``log(1 + e)`` for ``log1p(e)``, ``e = exp(-|x|)`` in (0, 1], off by at most ~6e-8
absolute (1 + e rounds at ulp(1)/2), far inside the float32 tolerance against TF.
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
    gradient_buffer,
    labels_like,
)
from course_lib.nn._xent_kernel import split_work  # the shared two-thread split
from course_lib.nn.activations import sigmoid, softplus

# Bytes of logits per block of the fused kernel: its 14 passes run over five block-sized
# arrays (x, z, loss, gradient, one scratch) while they are in cache. Measured on the course
# VM (2 MiB L2): one thread is fastest at 128 KiB, two threads at 512 KiB, where fewer,
# longer ufunc calls mean fewer hand-overs of the GIL between the threads.
_BLOCK_BYTES = 1 << 19


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


def _sigmoid_block(x: np.ndarray, z: np.ndarray, loss: np.ndarray, grad: np.ndarray,
                   t: np.ndarray) -> None:
    """Fill ``loss`` and ``grad`` for the 1-D block ``x``, ``z``; ``t`` is block scratch.

    ``loss``, ``grad`` and ``t`` have the compute dtype; ``x`` and ``z`` may be float16,
    read by each ufunc as float32 (abs, max and comparisons are exact; x·z is asked for in
    float32), as TF computes float16 in float32.
    """
    np.abs(x, out=t)                       # t = |x|
    np.negative(t, out=t)                  # t = -|x|   (np.copysign: 3x slower than both)
    np.exp(t, out=t)                       # t = e = exp(-|x|), in (0, 1]: never overflows
    np.maximum(x, 0, out=loss)             # loss = max(x, 0)
    np.multiply(x, z, out=grad, dtype=grad.dtype)  # grad = x·z       (grad as scratch)
    loss -= grad                           # loss = max(x, 0) - x·z
    np.greater_equal(x, 0, out=grad)       # grad = 1 where x >= 0, else 0
    np.maximum(grad, t, out=grad)          # grad = exp(min(x, 0)): 1 if x >= 0, e = exp(x) if not
    t += 1                                 # t = 1 + e
    grad /= t                              # grad = σ(x) = exp(min(x, 0)) / (1 + exp(-|x|))
    grad -= z                              # grad = σ(x) - z
    np.log(t, out=t)                       # t = log(1 + e)   (≈ log1p(e), see module doc)
    loss += t                              # loss = max(x, 0) - x·z + log(1 + exp(-|x|))


def sigmoid_cross_entropy_with_logits_value_and_grad(
        labels: ArrayLike, logits: ArrayLike, *,
        out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(loss, d Σloss / d logits) = (max(x, 0) - x·z + log(1 + exp(-|x|)), σ(x) - z)``.

    The fused forward+backward of ``tf.nn.sigmoid_cross_entropy_with_logits``, blocked and
    in place (two threads for large inputs); within ~6e-8 of the accurate
    ``sigmoid_cross_entropy_with_logits``, which uses ``log1p``. σ(x) is formed without
    cancellation for x < 0: ``e/(1 + e)`` there, ``1/(1 + e)`` for x >= 0. ``out``, as in
    NumPy: a C-contiguous array of the logits' shape and dtype that receives the gradient
    and is returned, reusable across the steps of a training loop.
    """
    x = float_array(logits, "logits")
    z = labels_like(labels, x)                     # labels in the logits' dtype, not upcast
    check_same_shape(z, x.shape, "labels")
    out = gradient_buffer(out, x, labels=z)
    dtype = compute_dtype(x.dtype)                 # float16 is computed in float32
    loss = np.empty(x.shape, x.dtype)
    grad = np.empty(x.shape, x.dtype) if out is None else out
    in_place = x.dtype == dtype
    flat_x, flat_z = x.reshape(-1), z.reshape(-1)
    flat_loss, flat_grad = loss.reshape(-1), grad.reshape(-1)
    block = max(1, _BLOCK_BYTES // dtype.itemsize)

    def run(chunk: slice) -> None:
        size = min(block, chunk.stop - chunk.start)
        t = np.empty(size, dtype)
        scratch = None if in_place else (np.empty(size, dtype), np.empty(size, dtype))
        for start in range(chunk.start, chunk.stop, block):
            part = slice(start, min(start + block, chunk.stop))
            n = part.stop - part.start
            out = (flat_loss[part], flat_grad[part]) if in_place else (
                scratch[0][:n], scratch[1][:n])
            _sigmoid_block(flat_x[part], flat_z[part], *out, t[:n])
            if not in_place:                       # float16: round the float32 result once
                flat_loss[part], flat_grad[part] = out

    split_work(flat_x.size, flat_x.size * dtype.itemsize, run)
    return loss, grad


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
