"""Assignment 01: stable log-softmax, softmax cross-entropy and its gradient (NumPy only)."""

from __future__ import annotations

import numpy as np

from course_lib import nn
from course_lib.grading.specs import Assignment, Case, Question


def _logits(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 3.0,
            dtype=np.float64) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(dtype)


def _with_large_rows(rng: np.random.Generator, batch: int, classes: int,
                     large: int = 2) -> np.ndarray:
    """Ordinary logits whose last ``large`` rows are near ±1000 (a visible overflow test)."""
    logits = _logits(rng, (batch, classes))
    logits[batch - large:] = _huge(rng, large, classes)
    return logits


def _onehot(rng: np.random.Generator, batch: int, classes: int) -> np.ndarray:
    return np.eye(classes)[rng.integers(0, classes, batch)]


def _soft(rng: np.random.Generator, batch: int, classes: int) -> np.ndarray:
    return nn.softmax(rng.standard_normal((batch, classes)))


def _huge(rng: np.random.Generator, batch: int, classes: int) -> np.ndarray:
    """Logits near ±1000: exp overflows float64 unless the row maximum is subtracted."""
    return rng.choice([-1000.0, 1000.0], (batch, classes)) + rng.standard_normal((batch, classes))


LOG_SOFTMAX = Question(
    id="01.q1", function="log_softmax",
    reference=lambda logits: nn.log_softmax(logits),
    hint="log softmax(x) = s - log(sum(exp(s))) with s = x - max(x) along the last axis "
         "(keepdims=True); the shift keeps exp from overflowing.",
    cases=(
        Case("three logits", "one example: logits of shape [3], float64",
             lambda rng: ((np.array([2.0, 1.0, 0.1]),), {})),
        Case("batch with large logits", "a batch: logits [4, 5], float64, its last two rows "
             "near ±1000", lambda rng: ((_with_large_rows(rng, 4, 5),), {})),
        Case("large logits", "logits [4, 6] near ±1000, float64",
             lambda rng: ((_huge(rng, 4, 6),), {}), hidden=True),
        Case("float32 batch", "logits [8, 10], float32, spread about ±15",
             lambda rng: ((_logits(rng, (8, 10), 5.0, np.float32),), {}), hidden=True,
             rtol=1e-5, atol=1e-5),
    ))

SOFTMAX_CE = Question(
    id="01.q2", function="softmax_cross_entropy",
    reference=lambda labels, logits: nn.softmax_cross_entropy_with_logits(labels, logits),
    hint="loss = sum_j labels_j * (logsumexp(x) - x_j) per row: reuse your log_softmax, "
         "-(labels * log_softmax(logits)).sum(axis=-1), never log(softmax).",
    cases=(
        Case("one-hot labels", "labels one-hot [4, 3], logits [4, 3], float64, the last two "
             "rows near ±1000",
             lambda rng: ((_onehot(rng, 4, 3), _with_large_rows(rng, 4, 3)), {})),
        Case("soft labels", "labels are probabilities [6, 5] (rows sum to 1)",
             lambda rng: ((_soft(rng, 6, 5), _logits(rng, (6, 5))), {}), hidden=True),
        Case("large logits", "one-hot labels [5, 4], logits near ±1000",
             lambda rng: ((_onehot(rng, 5, 4), _huge(rng, 5, 4)), {}), hidden=True),
    ))

SOFTMAX_CE_GRAD = Question(
    id="01.q3", function="softmax_cross_entropy_grad",
    reference=lambda labels, logits: nn.softmax_cross_entropy_with_logits_grad(
        labels, logits)[1],
    hint="d loss / d logits = softmax(logits) - labels for label rows that sum to 1, "
         "with a stable softmax (shift by the row maximum).",
    cases=(
        Case("one-hot labels", "labels one-hot [3, 4], logits [3, 4], float64, the last row "
             "near ±1000",
             lambda rng: ((_onehot(rng, 3, 4), _with_large_rows(rng, 3, 4, large=1)), {})),
        Case("soft labels", "labels are probabilities [5, 6] (rows sum to 1)",
             lambda rng: ((_soft(rng, 5, 6), _logits(rng, (5, 6))), {}), hidden=True),
        Case("large logits", "one-hot labels [4, 5], logits near ±1000",
             lambda rng: ((_onehot(rng, 4, 5), _huge(rng, 4, 5)), {}), hidden=True),
    ))

ASSIGNMENT = Assignment(
    name="01_softmax", title="Stable log-softmax and softmax cross-entropy",
    questions=(LOG_SOFTMAX, SOFTMAX_CE, SOFTMAX_CE_GRAD))
