"""Extreme classification for lessons 6 and 7: a Zipf-distributed task and sparse-gradient SGD.

The task has ``num_classes`` classes whose frequencies follow Zipf's law, as words do, and
Gaussian features around one centre per class:

    p(k) = (k+1)^(-s) / Σ_j (j+1)^(-s)        k = 0 .. V-1, class 0 the most frequent
    y ~ p,   x = c_y + σ·ε,   ε ~ N(0, I_dim)

Its posterior ``p(y | x) ∝ p(y)·exp(-|x - c_y|² / 2σ²)`` is exactly a softmax over a linear
output layer, so the model trained in the lessons (``logits = x·Wᵀ + b``, with TF's
``weights`` layout ``[num_classes, dim]``) can reach the best possible loss, and
``ZipfTask.optimal_layer`` gives it:

    W_k = c_k / σ²        b_k = log p(k) - |c_k|² / 2σ²

``train_output_layer`` trains that layer by seeded mini-batch SGD on the full softmax, on
sampled softmax or on NCE, applying the sparse ``(indices, values)`` gradients of
``course_lib.nn`` with ``np.add.at`` (repeated indices add up, like TF's ``IndexedSlices``).
Everything is deterministic: the same arguments give the same weights in every process.

This module imports NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from course_lib import nn

__all__ = ["TrainingRun", "ZipfTask", "full_softmax_loss", "make_zipf_task",
           "train_output_layer", "zipf_probabilities"]

Loss = Literal["softmax", "sampled_softmax", "nce"]
_LOSSES = ("softmax", "sampled_softmax", "nce")
_EVAL_ROWS = 256   # rows of [rows, V] logits built at a time by full_softmax_loss


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    return int(value)


def zipf_probabilities(num_classes: int, exponent: float = 1.0) -> np.ndarray:
    """Zipf's law ``p(k) = (k+1)^(-exponent) / Σ_j (j+1)^(-exponent)``, float64 ``[num_classes]``.

    Class 0 is the most frequent; ``exponent=1`` is the classic law of word frequencies.
    """
    num_classes = _positive_int(num_classes, "num_classes")
    if not (np.isfinite(exponent) and exponent >= 0):
        raise ValueError(f"`exponent` must be a finite number >= 0; got {exponent!r}.")
    weights = np.arange(1, num_classes + 1, dtype=np.float64) ** -float(exponent)
    return weights / weights.sum()


@dataclass(frozen=True)
class ZipfTask:
    """Classes with Zipf frequencies ``class_probs`` and Gaussian features around ``centers``."""

    centers: np.ndarray       # [num_classes, dim] float32: c_k
    class_probs: np.ndarray   # [num_classes] float64: p(k), decreasing
    noise: float              # σ, the features' standard deviation around c_y

    @property
    def num_classes(self) -> int:
        return self.centers.shape[0]

    def sample(self, num_examples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``(features float32 [n, dim], labels int64 [n])``: ``y ~ p``, ``x = c_y + σ·ε``."""
        num_examples = _positive_int(num_examples, "num_examples")
        rng = np.random.default_rng(seed)
        labels = rng.choice(self.num_classes, size=num_examples, p=self.class_probs)
        noise = rng.standard_normal((num_examples, self.centers.shape[1]), dtype=np.float32)
        return self.centers[labels] + np.float32(self.noise) * noise, labels

    def optimal_layer(self) -> tuple[np.ndarray, np.ndarray]:
        """The Bayes-optimal ``(weights [V, dim], biases [V])``: softmax(x·Wᵀ + b) = p(y | x).

        ``W_k = c_k / σ²`` and ``b_k = log p(k) - |c_k|² / 2σ²`` (float32).
        """
        var = self.noise ** 2
        c = self.centers.astype(np.float64)
        biases = np.log(self.class_probs) - (c * c).sum(axis=1) / (2 * var)
        return (c / var).astype(np.float32), biases.astype(np.float32)


def make_zipf_task(num_classes: int, dim: int, *, noise: float = 1.0, exponent: float = 1.0,
                   seed: int = 0) -> ZipfTask:
    """A :class:`ZipfTask` with centres ``c_k ~ N(0, I_dim)`` drawn from ``seed``."""
    probs = zipf_probabilities(num_classes, exponent)
    dim = _positive_int(dim, "dim")
    if not (np.isfinite(noise) and noise > 0):
        raise ValueError(f"`noise` must be a positive finite number; got {noise!r}.")
    centers = np.random.default_rng(seed).standard_normal((len(probs), dim), dtype=np.float32)
    return ZipfTask(centers, probs, float(noise))


def full_softmax_loss(weights: ArrayLike, biases: ArrayLike, labels: ArrayLike,
                      inputs: ArrayLike) -> float:
    """Mean full softmax cross-entropy ``mean_b [log Σ_k exp(z_bk) - z_b,y_b]``, ``z = x·Wᵀ + b``.

    The evaluation ``tf.nn.sampled_softmax_loss``'s docstring recommends (``weights``
    ``[num_classes, dim]``, ``labels`` ``[batch]`` ids); the lessons also judge NCE-trained
    models by it. Builds the ``[batch, V]`` logits a block of rows at a time, so memory stays
    ``[256, V]``.
    """
    w, b, x = np.asarray(weights), np.asarray(biases), np.asarray(inputs)
    y = np.asarray(labels).reshape(-1)
    if w.ndim != 2 or x.ndim != 2 or x.shape[1] != w.shape[1] or b.shape != (w.shape[0],):
        raise ValueError(f"expected weights [V, dim], biases [V], inputs [batch, dim]; got "
                         f"{w.shape}, {b.shape}, {x.shape}.")
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"`labels` has {y.shape[0]} ids but `inputs` has {x.shape[0]} rows.")
    total = 0.0
    for start in range(0, x.shape[0], _EVAL_ROWS):
        rows = slice(start, start + _EVAL_ROWS)
        logits = x[rows] @ w.T + b
        total += float(nn.sparse_softmax_cross_entropy_with_logits(y[rows], logits).sum())
    return total / x.shape[0]


class TrainingRun(NamedTuple):
    """What :func:`train_output_layer` returns; the losses are recorded every ``eval_every``."""

    weights: np.ndarray      # [num_classes, dim], after the last step
    biases: np.ndarray       # [num_classes]
    steps: np.ndarray        # [n]: the step counts at which the losses were recorded
    train_loss: np.ndarray   # [n]: the training loss (full, sampled or NCE) of that step's batch
    batch_full_loss: np.ndarray   # [n]: the full softmax loss of the same batch
    eval_loss: np.ndarray    # [n]: full_softmax_loss on the evaluation set (NaN if none)


def _loss_values(loss: str, w, b, x, y, num_sampled: int, sampler_seed: int) -> np.ndarray:
    """The training loss per example on a batch (the same seed draws the same classes)."""
    if loss == "softmax":
        return nn.sparse_softmax_cross_entropy_with_logits(y, x @ w.T + b)
    value_fn = nn.sampled_softmax_loss if loss == "sampled_softmax" else nn.nce_loss
    return value_fn(w, b, y[:, None], x, num_sampled, w.shape[0], seed=sampler_seed)


def _sgd_step(loss: str, w, b, x, y, num_sampled: int, sampler_seed: int, scale,
              grad: np.ndarray | None = None) -> None:
    """``W -= scale · d Σloss / dW`` in place, and the same for b; sparse unless "softmax".

    ``grad``: for "softmax", the run's [batch, V] gradient buffer, written by ``out=`` at
    every step instead of a fresh array each time.
    """
    if loss == "softmax":
        _, g = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(
            y, x @ w.T + b, out=grad)                                            # [batch, V]
        w -= scale * (g.T @ x)
        b -= scale * g.sum(axis=0)
        return
    grad_fn = nn.sampled_softmax_loss_grad if loss == "sampled_softmax" else nn.nce_loss_grad
    (w_idx, w_val), (b_idx, b_val), _ = grad_fn(w, b, y[:, None], x, num_sampled, w.shape[0],
                                                seed=sampler_seed)
    np.add.at(w, w_idx, -scale * w_val.astype(w.dtype, copy=False))   # repeated ids add up
    np.add.at(b, b_idx, -scale * b_val.astype(b.dtype, copy=False))


def train_output_layer(loss: Loss, features: ArrayLike, labels: ArrayLike, num_classes: int, *,
                       steps: int, batch_size: int, learning_rate: float,
                       num_sampled: int | None = None, seed: int = 0,
                       eval_features: ArrayLike | None = None,
                       eval_labels: ArrayLike | None = None,
                       eval_every: int | None = None,
                       initial_bias: float | None = None) -> TrainingRun:
    """Train ``logits = x·Wᵀ + b`` from ``W = 0, b = initial_bias`` by mini-batch SGD on ``loss``.

    The default ``initial_bias`` is ``-log(num_classes)``: the uniform model, with logits
    that are already normalised log-probabilities. A constant shift of every logit changes
    neither softmax nor sampled softmax, but NCE scores are not normalised by a softmax (it
    learns ``logit ≈ log p(y | x)`` itself), so for NCE the start matters.

    Each step draws ``batch_size`` examples with replacement and a sampler seed from
    ``np.random.default_rng(seed)`` (the same batches for every ``loss``), takes the sparse
    gradient ``(indices, values)`` of the summed loss from ``course_lib.nn`` and applies

        np.add.at(W, indices, -learning_rate / batch_size * values)      (the same for b)

    so only the rows of the true and sampled classes move (``"softmax"``: every row).
    ``"sampled_softmax"`` and ``"nce"`` use TF's defaults: the unique log-uniform sampler with
    ``num_sampled`` classes and ``remove_accidental_hits`` True / False respectively. Every
    ``eval_every`` steps (and after the last) it records, before that step's update, the
    training loss of the step's batch, the full softmax loss of the same batch, and the full
    softmax loss on ``(eval_features, eval_labels)``.
    """
    if loss not in _LOSSES:
        raise ValueError(f"`loss` must be one of {_LOSSES}; got {loss!r}.")
    num_classes = _positive_int(num_classes, "num_classes")
    steps, batch_size = _positive_int(steps, "steps"), _positive_int(batch_size, "batch_size")
    eval_every = _positive_int(eval_every or steps, "eval_every")
    if loss != "softmax":
        num_sampled = _positive_int(num_sampled, "num_sampled")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"`learning_rate` must be a positive finite number; got {learning_rate}.")
    x = np.asarray(features)
    y = np.asarray(labels).reshape(-1)
    if x.ndim != 2 or x.dtype.kind != "f" or y.shape[0] != x.shape[0]:
        raise ValueError(f"`features` must be a float [n, dim] array with one label each; got "
                         f"{x.dtype} {x.shape} and {y.shape[0]} labels.")
    if (eval_features is None) != (eval_labels is None):
        raise ValueError("pass both `eval_features` and `eval_labels`, or neither.")
    w = np.zeros((num_classes, x.shape[1]), x.dtype)
    b = np.full(num_classes, -np.log(num_classes) if initial_bias is None else initial_bias,
                x.dtype)
    rng = np.random.default_rng(seed)
    scale = x.dtype.type(learning_rate / batch_size)
    grad = np.empty((batch_size, num_classes), x.dtype) if loss == "softmax" else None
    recorded: list[tuple[int, float, float, float]] = []
    for step in range(steps + 1):
        batch = rng.integers(0, x.shape[0], batch_size)
        sampler_seed = int(rng.integers(2**32))
        args = (loss, w, b, x[batch], y[batch], num_sampled or 0, sampler_seed)
        if step % eval_every == 0 or step == steps:
            evaluated = (np.nan if eval_features is None
                         else full_softmax_loss(w, b, eval_labels, eval_features))
            recorded.append((step, float(np.mean(_loss_values(*args))),
                             full_softmax_loss(w, b, y[batch], x[batch]), evaluated))
        if step < steps:
            _sgd_step(*args, scale, grad)
    return TrainingRun(w, b, *(np.array(v) for v in zip(*recorded, strict=True)))
