"""Candidate samplers for sampled softmax and NCE (mirrors ``tf.random.*_candidate_sampler``).

A sampler draws ``num_sampled`` class ids shared by the whole batch and says how often each
true and each sampled class is *expected* to appear in such a draw; sampled softmax subtracts
the log of that expected count ("log Q") from the logits.

Expected count of a class with probability p (TF's ``range_sampler.cc``):

    E = p · num_sampled                        when every draw was kept (always if unique=False)
    E = 1 - (1 - p)^num_tries                  when unique=True needed num_tries > num_sampled
      = -expm1(num_tries · log1p(-p))          draws to collect num_sampled distinct classes

``seed`` seeds a NumPy generator: the same seed gives the same draw. The draws are not TF's
(the generators differ); given TF's ``sampled_values`` the losses reproduce TF exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from course_lib._checks import class_id_matrix, positive_int

SamplerOutput = tuple[np.ndarray, np.ndarray, np.ndarray]


def log_uniform_probabilities(range_max: int, classes: ArrayLike | None = None) -> np.ndarray:
    """Zipf-like ``P(k) = log((k+2)/(k+1)) / log(range_max+1)`` for k in [0, range_max).

    Class 0 is the most likely: classes must be sorted by decreasing frequency (word ranks).
    ``classes`` picks the ks to evaluate (all of them by default).
    """
    k = np.arange(range_max) if classes is None else np.asarray(classes)
    k = k.astype(np.float64)
    return np.log((k + 2) / (k + 1)) / np.log1p(range_max)


def _check_sampler_args(true_classes: ArrayLike, num_true: int, num_sampled: int,
                        unique: bool, range_max: int) -> np.ndarray:
    range_max = positive_int(range_max, "range_max")
    num_sampled = positive_int(num_sampled, "num_sampled")
    if unique and num_sampled > range_max:
        raise ValueError(f"`num_sampled`={num_sampled} distinct classes cannot be drawn from "
                         f"`range_max`={range_max} classes; use num_sampled <= range_max "
                         "or unique=False.")
    return class_id_matrix(true_classes, num_true, range_max, name="true_classes")


def _draw(draw: Callable[[int], np.ndarray], num_sampled: int,
          unique: bool) -> tuple[np.ndarray, int]:
    """``(candidates, num_tries)``: with ``unique``, keep drawing until num_sampled distinct."""
    if not unique:
        return draw(num_sampled), num_sampled
    draws = draw(2 * num_sampled)
    while True:
        _, first = np.unique(draws, return_index=True)
        if len(first) >= num_sampled:
            first.sort()                       # candidates in the order they were first drawn
            return draws[first[:num_sampled]], int(first[num_sampled - 1]) + 1
        draws = np.concatenate([draws, draw(len(draws))])


def expected_count(p: ArrayLike, num_sampled: int, num_tries: int) -> np.ndarray:
    """``p·num_sampled`` if no draw was rejected, else ``-expm1(num_tries·log1p(-p))``; float32."""
    p = np.asarray(p, dtype=np.float32)  # TF stores the probabilities as float
    if num_tries == num_sampled:
        return p * np.float32(num_sampled)
    return -np.expm1(np.float32(num_tries) * np.log1p(-p))


def _sample(true_classes, num_true, num_sampled, unique, range_max, seed,
            probability: Callable[[np.ndarray], np.ndarray], draw) -> SamplerOutput:
    """Check, draw, and give the expected counts of the true and the drawn classes only
    (never all range_max of them: V may be a million)."""
    classes = _check_sampler_args(true_classes, num_true, num_sampled, unique, range_max)
    candidates, num_tries = _draw(draw(np.random.default_rng(seed)), num_sampled, unique)
    return (candidates.astype(np.int64),
            expected_count(probability(classes), num_sampled, num_tries),
            expected_count(probability(candidates), num_sampled, num_tries))


def log_uniform_candidate_sampler(true_classes: ArrayLike, num_true: int, num_sampled: int,
                                  unique: bool, range_max: int,
                                  seed: int | None = None) -> SamplerOutput:
    """Draw from ``P(k) = log((k+2)/(k+1)) / log(range_max+1)`` (TF's log-uniform sampler).

    Mirrors ``tf.random.log_uniform_candidate_sampler``: a draw is
    ``floor(exp(u · log(range_max+1))) - 1`` for u ~ U[0, 1). Returns
    ``(sampled_candidates int64 [num_sampled], true_expected_count float32 [batch, num_true],
    sampled_expected_count float32 [num_sampled])``.
    """
    log_range = np.log1p(range_max)

    def draw(rng):
        return lambda n: (np.floor(np.exp(rng.random(n) * log_range)).astype(np.int64) - 1
                          ) % range_max

    return _sample(true_classes, num_true, num_sampled, unique, range_max, seed,
                   lambda ids: log_uniform_probabilities(range_max, ids), draw)


def uniform_candidate_sampler(true_classes: ArrayLike, num_true: int, num_sampled: int,
                              unique: bool, range_max: int,
                              seed: int | None = None) -> SamplerOutput:
    """Draw classes uniformly, ``P(k) = 1 / range_max``.

    Mirrors ``tf.random.uniform_candidate_sampler``; returns the same triple as
    :func:`log_uniform_candidate_sampler`.
    """
    def draw(rng):
        return lambda n: rng.integers(0, range_max, n, dtype=np.int64)

    return _sample(true_classes, num_true, num_sampled, unique, range_max, seed,
                   lambda ids: np.full(np.shape(ids), 1 / range_max), draw)
