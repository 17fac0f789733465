"""Assignment 04: choose the TensorFlow loss for a scenario; graded by behaviour on inputs.

The answer cells call TensorFlow, so its workers import it (ahead of time, in the warm
pool); the references are ``course_lib``'s NumPy mirrors, checked at float32 tolerance.
"""

from __future__ import annotations

import numpy as np

from course_lib import nn
from course_lib.grading.specs import Assignment, Case, Question
from course_lib.random import log_uniform_candidate_sampler

F32 = {"rtol": 1e-4, "atol": 1e-5}


def _f32(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    return tuple(a.astype(np.float32) for a in arrays)


def _imbalanced(batch: int):
    def make(rng: np.random.Generator):
        labels = (rng.random(batch) < 0.1).astype(np.float32)   # about 1 positive in 10
        labels[rng.integers(batch)] = 1.0                        # and at least one
        return (*_f32(labels, rng.normal(size=batch) * 3), np.float32(9.0)), {}
    return make


def _exclusive(batch: int, classes: int):
    def make(rng: np.random.Generator):
        return (rng.integers(0, classes, batch).astype(np.int32),
                *_f32(rng.normal(size=(batch, classes)) * 2)), {}
    return make


def _multi_label(batch: int, classes: int):
    def make(rng: np.random.Generator):
        return _f32(rng.integers(0, 2, (batch, classes)), rng.normal(size=(batch, classes)) * 3), {}
    return make


def _distillation(batch: int, classes: int, temperature: float):
    def make(rng: np.random.Generator):
        teacher, student = rng.normal(size=(2, batch, classes)) * 4
        return (*_f32(teacher, student), np.float32(temperature)), {}
    return make


def _vocabulary(batch: int, vocab: int, dim: int, sampled: int):
    """A [vocab, dim] output layer and a log-uniform draw shared by the batch."""
    def make(rng: np.random.Generator):
        weights, biases = _f32(rng.normal(size=(vocab, dim)) * 0.5, rng.normal(size=vocab) * 0.1)
        inputs = rng.normal(size=(batch, dim)).astype(np.float32)
        labels = rng.integers(0, min(vocab, 5000), (batch, 1)).astype(np.int64)
        values = log_uniform_candidate_sampler(labels, 1, sampled, True, vocab,
                                               seed=int(rng.integers(2**31)))
        return (weights, biases, labels, inputs, values), {}
    return make


def _sampled_reference(weights, biases, labels, inputs, sampled_values):
    return nn.sampled_softmax_loss(weights, biases, labels, inputs, len(sampled_values[0]),
                                   weights.shape[0], sampled_values=sampled_values)


def _scenario(qid: str, function: str, reference, hint: str, visible: Case,
              hidden: Case) -> Question:
    return Question(id=qid, function=function, reference=reference, hint=hint,
                    cases=(visible, hidden))


IMBALANCED = _scenario(
    "04.q1", "imbalanced_binary",
    lambda labels, logits, pos_weight: nn.weighted_cross_entropy_with_logits(
        labels, logits, pos_weight),
    "one logit per example, positives rare: weight the positive term, "
    "tf.nn.weighted_cross_entropy_with_logits(labels, logits, pos_weight).",
    Case("small batch", "labels 0/1 [6] (few positives), logits [6], pos_weight 9",
         _imbalanced(6), points=1.0, **F32),
    Case("large batch", "labels 0/1 [64], logits [64], pos_weight 9", _imbalanced(64),
         points=1.0, hidden=True, **F32))

EXCLUSIVE = _scenario(
    "04.q2", "exclusive_classes",
    lambda labels, logits: nn.sparse_softmax_cross_entropy_with_logits(labels, logits),
    "exactly one class per example, given as an integer id: "
    "tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).",
    Case("small batch", "int32 labels [4], logits [4, 5]", _exclusive(4, 5), **F32),
    Case("large batch", "int32 labels [32], logits [32, 10]", _exclusive(32, 10), hidden=True,
         **F32))

MULTI_LABEL = _scenario(
    "04.q3", "multi_label",
    lambda labels, logits: nn.sigmoid_cross_entropy_with_logits(labels, logits),
    "any number of true classes per example: one sigmoid per class, "
    "tf.nn.sigmoid_cross_entropy_with_logits(labels, logits), one loss per entry.",
    Case("small batch", "multi-hot labels [3, 4], logits [3, 4]", _multi_label(3, 4), **F32),
    Case("large batch", "multi-hot labels [16, 12], logits [16, 12]", _multi_label(16, 12),
         hidden=True, **F32))

DISTILLATION = _scenario(
    "04.q4", "distillation",
    lambda teacher, student, temperature: nn.softmax_cross_entropy_with_logits(
        nn.softmax(teacher / temperature), student / temperature),
    "soft targets are the teacher's probabilities softmax(teacher / T); the student's logits "
    "are divided by T too: tf.nn.softmax_cross_entropy_with_logits(soft_targets, student / T).",
    Case("temperature 2", "teacher and student logits [4, 6], temperature 2",
         _distillation(4, 6, 2.0), **F32),
    Case("temperature 5", "teacher and student logits [8, 10], temperature 5",
         _distillation(8, 10, 5.0), hidden=True, **F32))

HUGE_VOCABULARY = _scenario(
    "04.q5", "huge_vocabulary",
    _sampled_reference,
    "a full softmax over a million classes is too costly: tf.nn.sampled_softmax_loss with "
    "num_sampled=len(sampled_values[0]), num_classes=weights.shape[0] and the given "
    "sampled_values.",
    Case("1,000 classes", "weights [1000, 4], labels [5, 1], 16 sampled classes",
         _vocabulary(5, 1000, 4, 16), **F32),
    Case("1,000,000 classes", "weights [1000000, 2], labels [8, 1], 64 sampled classes",
         _vocabulary(8, 1_000_000, 2, 64), hidden=True, **F32))

ASSIGNMENT = Assignment(
    name="04_choose_the_loss", title="Choose the loss",
    questions=(IMBALANCED, EXCLUSIVE, MULTI_LABEL, DISTILLATION, HUGE_VOCABULARY),
    modules={"np": "numpy", "tf": "tensorflow"},
    forbidden=("torch", "jax", "course_lib"),
    memory_mb=8192, time_floor=10.0)
