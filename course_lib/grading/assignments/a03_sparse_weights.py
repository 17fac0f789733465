"""Assignment 03: sparse softmax cross-entropy, weighted reductions and ``pos_weight``."""

from __future__ import annotations

import numpy as np

from course_lib import losses, nn
from course_lib.grading.specs import Assignment, Case, Question


def _sparse(rng: np.random.Generator, shape: tuple[int, ...], classes: int,
            scale: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, classes, shape)
    return labels, rng.normal(size=(*shape, classes)) * scale


def _huge_sparse(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels, logits = _sparse(rng, (5,), 4)
    return labels, logits + rng.choice([-1000.0, 1000.0], logits.shape)


def _sparse_with_large_rows(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch of 4 whose last two rows of logits are near ±1000 (a visible overflow test)."""
    labels, logits = _sparse(rng, (4,), 3)
    logits[2:] += rng.choice([-1000.0, 1000.0], (2, 3))
    return labels, logits


def _reduction(name: str, zero_weights: bool = False):
    def make(rng: np.random.Generator):
        loss = rng.random(8) * 3
        weights = np.zeros(8) if zero_weights else rng.choice([0.0, 0.5, 1.0, 2.0], 8)
        return (loss, weights, name), {}
    return make


def _weighted(rng: np.random.Generator, shape: tuple[int, ...], scale: float,
              per_class: bool, large_row: bool = False) -> tuple:
    labels = rng.integers(0, 2, shape).astype(np.float64)
    logits = rng.uniform(-scale, scale, shape)
    if large_row:   # |x| of 40 to 100: sigmoid rounds to 0 or 1 in float64
        logits[-1] = rng.choice([-1.0, 1.0], shape[-1]) * rng.uniform(40, 100, shape[-1])
    pos_weight = rng.uniform(0.5, 5.0, shape[-1]) if per_class else 3.0
    return (labels, logits, pos_weight), {}


SPARSE_CE = Question(
    id="03.q1", function="sparse_softmax_cross_entropy",
    reference=lambda labels, logits: nn.sparse_softmax_cross_entropy_with_logits(labels, logits),
    hint="loss = logsumexp(x) - x[label] per example, with the max shift; pick x[label] with "
         "np.take_along_axis(logits, labels[..., None], axis=-1) so any rank works.",
    cases=(
        Case("batch", "integer labels [4], logits [4, 3], float64, the last two rows near ±1000",
             lambda rng: (_sparse_with_large_rows(rng), {})),
        Case("large logits", "integer labels [5], logits [5, 4] near ±1000",
             lambda rng: (_huge_sparse(rng), {}), hidden=True),
        Case("rank 3", "integer labels [2, 3], logits [2, 3, 5] (classes last)",
             lambda rng: (_sparse(rng, (2, 3), 5), {}), hidden=True),
    ))

REDUCE = Question(
    id="03.q2", function="reduce_weighted",
    reference=lambda loss, weights, reduction: losses.compute_weighted_loss(
        loss, weights, reduction),
    hint="sum(w*l), then divide by sum(w) (weighted_mean), size(l) "
         "(weighted_sum_over_batch_size) or count(w != 0) (weighted_sum_by_nonzero_weights); "
         "a zero denominator gives 0.0 (TF's div_no_nan).",
    cases=(
        Case("nonzero weights", "losses [8], weights [8] with zeros, "
             "'weighted_sum_by_nonzero_weights'", _reduction("weighted_sum_by_nonzero_weights")),
        Case("mean", "losses [8], weights [8], 'weighted_mean'", _reduction("weighted_mean"),
             hidden=True),
        Case("over batch size", "losses [8], weights [8], 'weighted_sum_over_batch_size'",
             _reduction("weighted_sum_over_batch_size"), hidden=True),
        Case("all weights zero", "losses [8], weights all 0, 'weighted_sum_by_nonzero_weights'",
             _reduction("weighted_sum_by_nonzero_weights", zero_weights=True), hidden=True),
    ))

WEIGHTED_CE = Question(
    id="03.q3", function="weighted_cross_entropy",
    reference=lambda labels, logits, pos_weight: nn.weighted_cross_entropy_with_logits(
        labels, logits, pos_weight),
    hint="q*z*softplus(-x) + (1-z)*softplus(x), with softplus(t) = max(t, 0) + "
         "log1p(exp(-|t|)): stable for any |x|.",
    cases=(
        Case("scalar pos_weight", "labels 0/1 [4, 3], logits in [-4, 4] except the last row "
             "(|logits| 40 to 100), pos_weight 3.0",
             lambda rng: _weighted(rng, (4, 3), 4.0, per_class=False, large_row=True)),
        Case("per-class pos_weight", "labels 0/1 [6, 4], pos_weight of shape [4]",
             lambda rng: _weighted(rng, (6, 4), 4.0, per_class=True), hidden=True),
        Case("large logits", "labels 0/1 [5, 3], logits in [-100, 100], pos_weight [3]",
             lambda rng: _weighted(rng, (5, 3), 100.0, per_class=True), hidden=True),
    ))

ASSIGNMENT = Assignment(
    name="03_sparse_weights", title="Sparse labels, weighted reductions and pos_weight",
    questions=(SPARSE_CE, REDUCE, WEIGHTED_CE))
