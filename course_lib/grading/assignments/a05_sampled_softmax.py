"""Assignment 05: sampled softmax logits and loss from given ``sampled_values`` (NumPy only)."""

from __future__ import annotations

import numpy as np

from course_lib import nn
from course_lib.grading.specs import Assignment, Case, Question
from course_lib.nn.sampled import compute_sampled_logits
from course_lib.random import expected_count, log_uniform_probabilities

# Logits of accidental hits: the reference has -FLT_MAX there; -inf or any value at or below
# this is the same behaviour (the column gets probability 0).
HIT_THRESHOLD = -1e30


def _problem(batch: int, vocab: int, dim: int, sampled: int, hits: bool, dtype=np.float64):
    """A layer, labels [batch, 1] and ``sampled_values`` of unique candidates."""
    def make(rng: np.random.Generator):
        weights = rng.normal(size=(vocab, dim)).astype(dtype)
        biases = (rng.normal(size=vocab) * 0.1).astype(dtype)
        inputs = rng.normal(size=(batch, dim)).astype(dtype)
        labels = rng.integers(0, vocab, (batch, 1))
        others = np.setdiff1d(np.arange(vocab), labels)
        candidates = rng.choice(others, sampled, replace=False)
        if hits:  # two examples' true classes are among the candidates
            candidates[[0, sampled // 2]] = labels[[0, batch - 1], 0]
            if labels[0, 0] == labels[batch - 1, 0]:
                candidates[sampled // 2] = others[~np.isin(others, candidates)][0]
        p = log_uniform_probabilities(vocab)
        values = (candidates.astype(np.int64), expected_count(p[labels], sampled, sampled),
                  expected_count(p[candidates], sampled, sampled))
        return (weights, biases, labels, inputs, values), {}
    return make


def _logits_reference(weights, biases, labels, inputs, sampled_values):
    s = compute_sampled_logits(weights, biases, labels, inputs, len(sampled_values[0]),
                               weights.shape[0], 1, sampled_values,
                               remove_accidental_hits=True)
    return s.logits


def _loss_reference(weights, biases, labels, inputs, sampled_values):
    return nn.sampled_softmax_loss(weights, biases, labels, inputs, len(sampled_values[0]),
                                   weights.shape[0], sampled_values=sampled_values)


def _hits_masked(got: np.ndarray, expected: np.ndarray, args: tuple,
                 kwargs: dict) -> str | None:
    """Accidental hits must be hugely negative (-FLT_MAX or -inf); the rest close."""
    if got.shape != expected.shape:
        return f"expected shape {expected.shape} ([batch, 1 + num_sampled]), got {got.shape}"
    g, e = got.astype(np.float64), expected.astype(np.float64)
    hit = e <= HIT_THRESHOLD
    if not np.all(g[hit] <= HIT_THRESHOLD):
        return (f"{int(np.sum(g[hit] > HIT_THRESHOLD))} accidental hit(s) (a sampled class that "
                "is the example's true class) were not masked with a huge negative logit")
    if np.any(g[~hit] <= HIT_THRESHOLD):
        return "a logit that is not an accidental hit was masked"
    bad = ~np.isclose(g[~hit], e[~hit], rtol=1e-5, atol=1e-6)
    if bad.any():
        return (f"{int(bad.sum())} of {bad.size} logits differ beyond tolerance "
                "(largest difference ~{:.0e})".format(float(np.max(np.abs(g[~hit] - e[~hit])))))
    return None


SAMPLED_LOGITS = Question(
    id="05.q1", function="sampled_logits",
    reference=_logits_reference,
    hint="column 0: x·W[y] + b[y] - log(true_expected_count); columns 1..S: x·W[c] + b[c] - "
         "log(sampled_expected_count); where c equals the example's label add -FLT_MAX.",
    cases=(
        Case("two accidental hits", "4 examples, 50 classes, dim 3, 5 sampled classes, two "
             "of them true classes", _problem(4, 50, 3, 5, hits=True), behaviour=_hits_masked),
        Case("accidental hits", "6 examples, 30 classes, dim 4, 8 sampled classes, two of "
             "them true classes", _problem(6, 30, 4, 8, hits=True), points=2.0, hidden=True,
             behaviour=_hits_masked),
        Case("float32 layer", "8 examples, 10,000 classes, dim 8, 32 sampled, float32",
             _problem(8, 10_000, 8, 32, hits=True, dtype=np.float32), points=2.0,
             hidden=True, behaviour=_hits_masked),
    ))

SAMPLED_LOSS = Question(
    id="05.q2", function="sampled_softmax_loss",
    reference=_loss_reference,
    hint="the loss is softmax cross-entropy over the sampled logits with the true class in "
         "column 0: logsumexp(row) - row[0], computed stably.",
    cases=(
        Case("two accidental hits", "4 examples, 50 classes, dim 3, 5 sampled classes, two "
             "of them true classes", _problem(4, 50, 3, 5, hits=True)),
        Case("accidental hits", "6 examples, 30 classes, dim 4, 8 sampled classes, two of "
             "them true classes", _problem(6, 30, 4, 8, hits=True), points=2.0, hidden=True),
        Case("float32 layer", "8 examples, 10,000 classes, dim 8, 32 sampled, float32",
             _problem(8, 10_000, 8, 32, hits=True, dtype=np.float32), points=2.0,
             hidden=True, rtol=1e-4, atol=1e-5),
    ))

ASSIGNMENT = Assignment(
    name="05_sampled_softmax", title="Sampled softmax from given sampled values",
    questions=(SAMPLED_LOGITS, SAMPLED_LOSS))
