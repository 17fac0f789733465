"""Assignment 02: sigmoid cross-entropy's stable form and the two-class equivalence."""

from __future__ import annotations

import numpy as np

from course_lib import nn
from course_lib.grading.specs import Assignment, Case, Question


def _pair(rng: np.random.Generator, shape: tuple[int, ...], scale: float, dtype=np.float64,
          soft: bool = False) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.random(shape) if soft else rng.integers(0, 2, shape).astype(np.float64)
    logits = rng.uniform(-scale, scale, shape)
    return labels.astype(dtype), logits.astype(dtype)


def _difference_is_logit(got: np.ndarray, expected: np.ndarray, args: tuple,
                         kwargs: dict) -> str | None:
    """Any [batch, 2] logits whose difference x1 - x0 is the sigmoid logit are right."""
    (x,) = args
    if got.shape != expected.shape:
        return f"expected shape {expected.shape} ([batch, 2]), got {got.shape}"
    diff = got[:, 1].astype(np.float64) - got[:, 0].astype(np.float64)
    bad = ~np.isclose(diff, x.astype(np.float64), rtol=1e-5, atol=1e-6)
    if bad.any():
        return (f"for {bad.sum()} of {bad.size} examples the two logits' difference "
                "logits[:, 1] - logits[:, 0] is not the sigmoid logit, so softmax over them "
                "is not sigmoid")
    return None


def _confident_row(rng: np.random.Generator, shape: tuple[int, int]) -> tuple:
    """Small logits in [-4, 4] and one row with |logit| in [40, 100], where sigmoid rounds
    to 0 or 1 in float64 (a visible test of the stable form)."""
    labels, logits = _pair(rng, shape, 4.0)
    logits[-1] = rng.choice([-1.0, 1.0], shape[1]) * rng.uniform(40, 100, shape[1])
    return labels, logits


def _two_class_visible(rng: np.random.Generator) -> np.ndarray:
    """Two small rows, one near ±1000 and one confident row (a gap of about 40)."""
    logits = rng.normal(size=(4, 2))
    logits[2] += rng.choice([-1000.0, 1000.0], 2)
    logits[3] += [-20.0, 20.0]
    return logits


SIGMOID_CE = Question(
    id="02.q1", function="sigmoid_cross_entropy",
    reference=lambda labels, logits: nn.sigmoid_cross_entropy_with_logits(labels, logits),
    hint="use max(x, 0) - x*z + log1p(exp(-|x|)): it never exponentiates a positive number "
         "and never takes log(0).",
    cases=(
        Case("small and large logits", "labels 0/1 and logits [4, 3], float64, in [-4, 4] "
             "except the last row, whose |logits| are 40 to 100",
             lambda rng: (_confident_row(rng, (4, 3)), {})),
        Case("large logits", "labels 0/1 and logits in [-100, 100], [6, 4], float64",
             lambda rng: (_pair(rng, (6, 4), 100.0), {}), hidden=True),
        Case("float32 logits", "labels 0/1 and logits in [-50, 50], [8, 3], float32",
             lambda rng: (_pair(rng, (8, 3), 50.0, np.float32), {}), hidden=True,
             rtol=1e-5, atol=1e-5),
        Case("soft labels", "labels in [0, 1] and logits in [-20, 20], [5, 5]",
             lambda rng: (_pair(rng, (5, 5), 20.0, soft=True), {}), hidden=True),
    ))

TWO_CLASS_LOGITS = Question(
    id="02.q2", function="two_class_logits",
    reference=lambda logits: np.stack([np.zeros_like(logits), logits], axis=-1),
    hint="softmax([a, b])[1] = sigmoid(b - a): any pair whose difference is x works, "
         "e.g. [0, x].",
    cases=(
        Case("four logits", "sigmoid logits [4], float64",
             lambda rng: ((rng.uniform(-5, 5, 4),), {}), behaviour=_difference_is_logit),
        Case("large logits", "sigmoid logits [10] in [-50, 50], float64",
             lambda rng: ((rng.uniform(-50, 50, 10),), {}), hidden=True,
             behaviour=_difference_is_logit),
        Case("float32 logits", "sigmoid logits [6], float32",
             lambda rng: ((rng.uniform(-8, 8, 6).astype(np.float32),), {}), hidden=True,
             behaviour=_difference_is_logit),
    ))

SIGMOID_LOGIT = Question(
    id="02.q3", function="sigmoid_logit_from_two_class",
    reference=lambda logits: logits[:, 1] - logits[:, 0],
    hint="sigmoid(x1 - x0) = softmax([x0, x1])[1]: subtract the logits, do not go through "
         "probabilities (they round to 0 and 1).",
    cases=(
        Case("small and large logits", "two-class logits [4, 2], float64: two small rows, "
             "one near ±1000, one whose logits differ by about 40",
             lambda rng: ((_two_class_visible(rng),), {})),
        Case("large logits", "two-class logits [5, 2] near ±1000, float64",
             lambda rng: ((rng.choice([-1000.0, 1000.0], (5, 2)) + rng.normal(size=(5, 2)),),
                          {}), hidden=True),
        Case("confident logits", "two-class logits [6, 2] differing by up to 80, float64",
             lambda rng: ((rng.uniform(-40, 40, (6, 2)),), {}), hidden=True),
    ))

ASSIGNMENT = Assignment(
    name="02_sigmoid", title="Sigmoid cross-entropy and the two-class softmax",
    questions=(SIGMOID_CE, TWO_CLASS_LOGITS, SIGMOID_LOGIT))
