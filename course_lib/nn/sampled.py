"""Sampled softmax and NCE: training losses for huge class counts, as TensorFlow computes them.

A full softmax over V classes needs the ``[batch, V]`` logits ``inputs @ weights.T + biases``.
Both losses instead score the true classes and ``num_sampled`` candidate classes shared by the
batch (``sampled_values`` from a candidate sampler), as ``_compute_sampled_logits`` in TF does:

    true logit     = inputs[b]·W[y_bt] + biases[y_bt] - log E_true[b, t]
    sampled logit  = inputs[b]·W[c_s]  + biases[c_s]  - log E_sampled[s]   (the log-Q correction)
                     - FLT_MAX where c_s is one of example b's true classes (accidental hit)
    targets        = 1/num_true for each true column, 0 for the sampled columns

    sampled_softmax_loss = softmax cross-entropy over those 1 + num_sampled columns
    nce_loss             = Σ over the columns of the sigmoid cross-entropy

Both are for training only: evaluate with the full softmax. The gradients are sparse: only the
rows of ``weights`` and ``biases`` of the true and sampled classes get one, returned as
``(indices, values)`` pairs like TF's ``IndexedSlices`` (repeated indices add up).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import (
    check_broadcasts_to,
    class_id_matrix,
    float_array,
    positive_int,
)
from course_lib.nn.activations import logsumexp, sigmoid
from course_lib.nn.sigmoid_cross_entropy import sigmoid_cross_entropy_with_logits
from course_lib.nn.softmax_cross_entropy import (
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_value_and_grad,
)
from course_lib.random import log_uniform_candidate_sampler

# What TF adds to the logit of an accidental hit: -FLT_MAX in the logits' dtype.
ACCIDENTAL_HIT_LOGIT = -np.finfo(np.float32).max


class SampledLogits(NamedTuple):
    """The pieces of a sampled loss: ``[batch, num_true + num_sampled]`` logits and targets."""

    logits: np.ndarray
    targets: np.ndarray
    ids: np.ndarray           # [batch·num_true + num_sampled]: true classes, then candidates
    rows: np.ndarray          # weights[ids]: the only rows of the layer the loss touches
    num_true: int


def compute_accidental_hits(true_classes: ArrayLike, sampled_candidates: ArrayLike,
                            num_true: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indices, ids, weights)``: example ``indices[i]``'s true class is candidate ``ids[i]``.

    Mirrors ``tf.nn.compute_accidental_hits``: int32 row indices, int64 candidate positions,
    float32 weights all ``-FLT_MAX``. For a class drawn twice the last position is reported.
    """
    classes = class_id_matrix(true_classes, num_true, None, name="true_classes")
    candidates = np.asarray(sampled_candidates).astype(np.int64).reshape(-1)
    if candidates.size == 0 or classes.size == 0:           # nothing can collide
        return (np.zeros(0, np.int32), np.zeros(0, np.int64),
                np.zeros(0, np.float32))
    order = np.argsort(candidates, kind="stable")          # equal classes keep their order,
    ordered = candidates[order]                             # so side="right" finds the last
    flat = classes.reshape(-1)
    pos = np.searchsorted(ordered, flat, side="right") - 1
    hit = np.flatnonzero((pos >= 0) & (ordered[np.maximum(pos, 0)] == flat))
    indices = (hit // max(num_true, 1)).astype(np.int32)   # row-major: as TF's loop orders them
    return (indices, order[pos[hit]].astype(np.int64),
            np.full(len(hit), ACCIDENTAL_HIT_LOGIT, dtype=np.float32))


def _layer(weights: ArrayLike, biases: ArrayLike, inputs: ArrayLike, num_classes: int):
    """Checked layer: weights [num_classes, dim], biases [num_classes], inputs [batch, dim]."""
    w = float_array(weights, "weights")
    x = float_array(inputs, "inputs")
    b = float_array(biases, "biases")
    if w.ndim != 2 or w.shape[0] != num_classes:
        raise ValueError(f"`weights` must have shape [num_classes={num_classes}, dim]; got "
                         f"{w.shape}. (It is the transpose of a Dense layer's [dim, classes] "
                         "kernel.)")
    if x.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(f"`inputs` must have shape [batch, dim={w.shape[1]}] to match "
                         f"`weights` {w.shape}; got {x.shape}.")
    if b.shape != (num_classes,):
        raise ValueError(f"`biases` must have shape [num_classes={num_classes}]; got {b.shape}.")
    return w.astype(x.dtype, copy=False), b.astype(x.dtype, copy=False), x


def _sampled_values(sampled_values, labels, num_true, num_sampled, num_classes, seed):
    if sampled_values is None:  # TF's default: unique log-uniform draws
        return log_uniform_candidate_sampler(labels, num_true, num_sampled, True, num_classes,
                                             seed)
    if len(sampled_values) != 3:
        raise ValueError("`sampled_values` must be (sampled_candidates, true_expected_count, "
                         f"sampled_expected_count); got {len(sampled_values)} items.")
    candidates, true_count, sampled_count = (np.asarray(v) for v in sampled_values)
    if candidates.shape != (num_sampled,):
        raise ValueError(f"`sampled_values` sampled_candidates must have shape ({num_sampled},); "
                         f"got {candidates.shape}.")
    # As TF subtracts their logs from the [batch, num_true] and [batch, num_sampled] logits,
    # the expected counts may be anything that broadcasts to those shapes.
    check_broadcasts_to(true_count, labels.shape, "sampled_values true_expected_count",
                        target="true logits")
    check_broadcasts_to(sampled_count, (labels.shape[0], num_sampled),
                        "sampled_values sampled_expected_count", target="sampled logits")
    class_id_matrix(candidates[None, :], num_sampled, num_classes, name="sampled_candidates")
    return candidates.astype(np.int64), true_count, sampled_count


def compute_sampled_logits(weights: ArrayLike, biases: ArrayLike, labels: ArrayLike,
                           inputs: ArrayLike, num_sampled: int, num_classes: int,
                           num_true: int = 1, sampled_values=None,
                           remove_accidental_hits: bool = False,
                           seed: int | None = None) -> SampledLogits:
    """TF's ``_compute_sampled_logits`` with ``subtract_log_q=True`` (see the module doc)."""
    w, b, x = _layer(weights, biases, inputs, num_classes)
    y = class_id_matrix(labels, num_true, num_classes)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"`labels` has {y.shape[0]} rows but `inputs` has {x.shape[0]}; "
                         "expected one row of labels per example.")
    candidates, true_count, sampled_count = _sampled_values(
        sampled_values, y, num_true, num_sampled, num_classes, seed)
    ids = np.concatenate([y.reshape(-1), candidates])
    rows = w[ids].astype(x.dtype, copy=False)        # one gather of B·T + S rows, no W copy
    w_true, w_sampled = rows[: y.size].reshape(*y.shape, w.shape[1]), rows[y.size:]
    true_logits = np.einsum("bd,btd->bt", x, w_true) + b[y]          # x·W[y] + b[y]
    sampled_logits = x @ w_sampled.T + b[candidates]                 # x·W[c] + b[c]
    if remove_accidental_hits:
        hit_rows, hit_cols, hit = compute_accidental_hits(y, candidates, num_true)
        sampled_logits[hit_rows, hit_cols] += hit.astype(x.dtype)  # rounds to -FLT_MAX
    true_logits -= np.log(true_count.astype(x.dtype))                # - log Q(y)
    sampled_logits -= np.log(sampled_count.astype(x.dtype))          # - log Q(c)
    logits = np.concatenate([true_logits, sampled_logits], axis=1)
    targets = np.concatenate([np.full_like(true_logits, 1 / num_true),
                              np.zeros_like(sampled_logits)], axis=1)
    return SampledLogits(logits, targets, ids, rows, num_true)


def sampled_softmax_loss(weights: ArrayLike, biases: ArrayLike, labels: ArrayLike,
                         inputs: ArrayLike, num_sampled: int, num_classes: int,
                         num_true: int = 1, sampled_values=None,
                         remove_accidental_hits: bool = True,
                         seed: int | None = None) -> np.ndarray:
    """Softmax cross-entropy over the true and sampled columns, per example ``[batch]``.

    Mirrors ``tf.nn.sampled_softmax_loss`` (training only; it underestimates the full loss).
    """
    s = compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes,
                               num_true, sampled_values, remove_accidental_hits, seed)
    return softmax_cross_entropy_with_logits(s.targets, s.logits)


def nce_loss(weights: ArrayLike, biases: ArrayLike, labels: ArrayLike, inputs: ArrayLike,
             num_sampled: int, num_classes: int, num_true: int = 1, sampled_values=None,
             remove_accidental_hits: bool = False, *, seed: int | None = None) -> np.ndarray:
    """Noise-contrastive estimation: ``Σ_columns sigmoid_CE(targets, logits)`` per example.

    Mirrors ``tf.nn.nce_loss``; ``seed`` (keyword-only) is ours: TF's nce_loss has none.
    """
    s = compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes,
                               num_true, sampled_values, remove_accidental_hits, seed)
    return sigmoid_cross_entropy_with_logits(s.targets, s.logits).sum(axis=1)


def _sparse_grads(s: SampledLogits, d_logits: np.ndarray, inputs: np.ndarray):
    """Chain rule from ``d loss / d logits`` to ((ids, d_W rows), (ids, d_b), d_inputs)."""
    t, x = s.num_true, inputs
    split = x.shape[0] * t
    w_true, w_sampled = s.rows[:split].reshape(x.shape[0], t, x.shape[1]), s.rows[split:]
    g_true, g_sampled = d_logits[:, :t], d_logits[:, t:]
    d_inputs = (np.einsum("bt,btd->bd", g_true, w_true)    # Σ_t g·W[y]
                + g_sampled @ w_sampled)                   # + Σ_s g·W[c]
    w_values = np.concatenate([(g_true[:, :, None] * x[:, None, :]).reshape(-1, x.shape[1]),
                               g_sampled.T @ x])           # g·x for each true and sampled row
    b_values = np.concatenate([g_true.reshape(-1), g_sampled.sum(axis=0)])
    return (s.ids, w_values), (s.ids, b_values), d_inputs


def sampled_softmax_loss_value_and_grad(
        weights: ArrayLike, biases: ArrayLike, labels: ArrayLike, inputs: ArrayLike,
        num_sampled: int, num_classes: int, num_true: int = 1, sampled_values=None,
        remove_accidental_hits: bool = True, seed: int | None = None):
    """``(loss [batch], ((w_indices, w_values), (b_indices, b_values), d_inputs))`` at once.

    One gather of the true and sampled rows serves the loss and the gradient of its sum,
    ``d logits = softmax(logits) - targets``: the step a training loop takes.
    """
    s = compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes,
                               num_true, sampled_values, remove_accidental_hits, seed)
    loss, d_logits = softmax_cross_entropy_with_logits_value_and_grad(s.targets, s.logits)
    return loss, _sparse_grads(s, d_logits, np.asarray(inputs, dtype=s.logits.dtype))


def nce_loss_value_and_grad(
        weights: ArrayLike, biases: ArrayLike, labels: ArrayLike, inputs: ArrayLike,
        num_sampled: int, num_classes: int, num_true: int = 1, sampled_values=None,
        remove_accidental_hits: bool = False, *, seed: int | None = None):
    """``(loss [batch], ((w_indices, w_values), (b_indices, b_values), d_inputs))`` at once.

    ``d logits = σ(logits) - targets``, summed over the 1 + num_sampled sigmoid terms.
    """
    s = compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes,
                               num_true, sampled_values, remove_accidental_hits, seed)
    loss = sigmoid_cross_entropy_with_logits(s.targets, s.logits).sum(axis=1)
    d_logits = sigmoid(s.logits) - s.targets
    return loss, _sparse_grads(s, d_logits, np.asarray(inputs, dtype=s.logits.dtype))


def sampled_softmax_loss_grad(weights: ArrayLike, biases: ArrayLike, labels: ArrayLike,
                              inputs: ArrayLike, num_sampled: int, num_classes: int,
                              num_true: int = 1, sampled_values=None,
                              remove_accidental_hits: bool = True, seed: int | None = None):
    """``((w_indices, w_values), (b_indices, b_values), d_inputs)`` of the summed loss.

    Like ``tf.GradientTape`` on ``tf.nn.sampled_softmax_loss``: the weights and biases
    gradients are sparse (IndexedSlices-like), indices = the true then the sampled ids.
    """
    return sampled_softmax_loss_value_and_grad(
        weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
        remove_accidental_hits, seed)[1]


def nce_loss_grad(weights: ArrayLike, biases: ArrayLike, labels: ArrayLike, inputs: ArrayLike,
                  num_sampled: int, num_classes: int, num_true: int = 1, sampled_values=None,
                  remove_accidental_hits: bool = False, *, seed: int | None = None):
    """``((w_indices, w_values), (b_indices, b_values), d_inputs)`` of the summed NCE loss."""
    return nce_loss_value_and_grad(
        weights, biases, labels, inputs, num_sampled, num_classes, num_true, sampled_values,
        remove_accidental_hits, seed=seed)[1]


def estimate_full_softmax_loss(weights: ArrayLike, biases: ArrayLike, labels: ArrayLike,
                               inputs: ArrayLike, num_sampled: int, proposal: ArrayLike,
                               seed: int | None = None) -> np.ndarray:
    """Importance-sampled estimate of the *full* softmax loss, per example ``[batch]``.

    The full loss is ``log Z_b - mean_t z_{b,y_bt}`` with ``Z_b = Σ_k exp(z_bk)`` over all V
    classes. Draw ``k_1..k_S ~ q`` (``proposal``, with replacement, shared by the batch) and use

        Z_b ≈ (1/S) Σ_s exp(z_{b,k_s}) / q(k_s)       (unbiased for Z_b)
        loss_b ≈ logsumexp_s(z_{b,k_s} - log q(k_s)) - log S - mean_t z_{b,y_bt}

    The log makes it slightly low (Jensen: by about Var(Ẑ)/2Z²), which vanishes as S grows
    and is small when q matches the classes' share of Z, e.g. their frequencies. Unlike
    ``sampled_softmax_loss`` it estimates the value a full softmax would report: use it to
    monitor training, not as the training loss. No TF counterpart.
    """
    q = float_array(proposal, "proposal").astype(np.float64)
    num_classes = q.shape[0] if q.ndim == 1 else -1
    if q.ndim != 1 or np.any(q < 0) or not np.isclose(q.sum(), 1.0, rtol=1e-6):
        raise ValueError("`proposal` must be class probabilities of shape [num_classes] that "
                         f"are >= 0 and sum to 1; got shape {q.shape}, sum {q.sum():.6g}.")
    w, b, x = _layer(weights, biases, inputs, num_classes)
    y = np.asarray(labels)
    y = y[:, None] if y.ndim == 1 else y                 # [batch] ids or [batch, num_true]
    y = class_id_matrix(y, y.shape[1] if y.ndim == 2 else 1, num_classes)
    num_sampled = positive_int(num_sampled, "num_sampled")
    draws = np.random.default_rng(seed).choice(num_classes, size=num_sampled, p=q / q.sum())
    z_sampled = x @ w[draws].T + b[draws] - np.log(q[draws]).astype(x.dtype)
    log_z = logsumexp(z_sampled, axis=1) - np.log(num_sampled)
    z_true = np.einsum("bd,btd->bt", x, w[y]) + b[y]
    return (log_z - z_true.mean(axis=1)).astype(x.dtype)
