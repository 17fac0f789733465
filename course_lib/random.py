"""Candidate samplers for sampled softmax and NCE (mirrors ``tf.random.*_candidate_sampler``).

A sampler draws ``num_sampled`` class ids shared by the whole batch and says how often each
true and each sampled class is *expected* to appear in such a draw; sampled softmax subtracts
the log of that expected count ("log Q") from the logits.

Expected count of a class with probability p (TF's ``range_sampler.cc``):

    E = p · num_sampled                        when every draw was kept (always if unique=False)
    E = 1 - (1 - p)^num_tries                  when unique=True needed num_tries > num_sampled
      = -expm1(num_tries · log1p(-p))          draws to collect num_sampled distinct classes

``seed`` seeds a NumPy generator (or is one: ``np.random.default_rng(0)`` made in the cell that
draws): the same seed gives the same draw. The draws are not TF's (the generators differ);
given TF's ``sampled_values`` the losses reproduce TF exactly. Given TF's draw, the expected
counts equal TF's bit for bit without rejections and to 1 float32 ulp after them (NumPy's
float32 ``expm1``/``log1p`` may round the last bit differently from the C library's).
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
                                  seed: int | np.random.Generator | None = None) -> SamplerOutput:
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
                              seed: int | np.random.Generator | None = None) -> SamplerOutput:
    """Draw classes uniformly, ``P(k) = 1 / range_max``.

    Mirrors ``tf.random.uniform_candidate_sampler``; returns the same triple as
    :func:`log_uniform_candidate_sampler`.
    """
    def draw(rng):
        return lambda n: rng.integers(0, range_max, n, dtype=np.int64)

    return _sample(true_classes, num_true, num_sampled, unique, range_max, seed,
                   lambda ids: np.full(np.shape(ids), 1 / range_max), draw)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unigram_weights(vocab_file: str, unigrams: ArrayLike, distortion: float,
                     num_reserved_ids: int, num_shards: int, shard: int) -> np.ndarray:
    """The shard's float32 weights in id order, reserved ids 0; checks the arguments.

    TF raises each float32 count to the float32 ``distortion`` in double and rounds to float32
    (a float32 power can differ by 1 ulp); reserved ids get 0 without the power (0 ** 0 = 1).
    """
    num_shards = positive_int(num_shards, "num_shards")
    if not 0 <= shard < num_shards:
        raise ValueError(f"`shard` must be in [0, num_shards={num_shards}); got {shard!r}.")
    if num_reserved_ids < 0:
        raise ValueError(f"`num_reserved_ids` must be >= 0; got {num_reserved_ids!r}.")
    if bool(vocab_file) == (len(np.atleast_1d(unigrams)) > 0):
        raise ValueError("Pass exactly one of `vocab_file` (a CSV file whose last field is the "
                         "weight) and `unigrams` (the weights in id order).")
    if vocab_file:
        with open(vocab_file, encoding="utf-8") as file:
            lines = [line.rstrip("\n") for line in file if line.rstrip("\n")]
        try:
            w = np.array([float(line.split(",")[-1]) for line in lines], dtype=np.float64)
        except ValueError:
            bad = next(line for line in lines if not _is_number(line.split(",")[-1]))
            raise ValueError(f"`vocab_file` {vocab_file!r}: each line must end in its class's "
                             f"weight after the last comma; got {bad!r}.") from None
    else:
        w = np.asarray(unigrams, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"`unigrams` must be a 1-D sequence of class weights; got shape "
                         f"{w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("`unigrams` must be finite and >= 0 (counts or frequencies); got "
                         f"min {w.min()!r}.")
    powered = np.power(w.astype(np.float32).astype(np.float64), float(np.float32(distortion)))
    weights = np.concatenate([np.zeros(num_reserved_ids, np.float32), powered.astype(np.float32)])
    return weights[np.arange(len(weights)) % num_shards == shard]  # the ids this shard samples


def fixed_unigram_probabilities(unigrams: ArrayLike, distortion: float = 1.0,
                                num_reserved_ids: int = 0, num_shards: int = 1,
                                shard: int = 0, vocab_file: str = "") -> np.ndarray:
    """``P(k) = w_k / Σ_j w_j`` with ``w_k = unigrams[k - num_reserved_ids] ** distortion``.

    The first ``num_reserved_ids`` ids get weight 0; with ``num_shards`` > 1 only the ids with
    ``id % num_shards == shard`` are kept. Computed as TF's ``FixedUnigramSampler`` does:
    float32 weights, a float32 running total, a float32 division, so expected counts match
    TF's to the last bit. ``unigrams`` are counts or frequencies in id order: the ids need not
    be sorted by frequency.
    """
    weights = _unigram_weights(vocab_file, unigrams, distortion, num_reserved_ids, num_shards,
                               shard)
    total = np.cumsum(weights, dtype=np.float32)[-1] if len(weights) else np.float32(0)
    if not total > 0:
        raise ValueError("`unigrams` must give at least one class a positive weight.")
    return weights / total


def fixed_unigram_candidate_sampler(true_classes: ArrayLike, num_true: int, num_sampled: int,
                                    unique: bool, range_max: int, vocab_file: str = "",
                                    distortion: float = 1.0, num_reserved_ids: int = 0,
                                    num_shards: int = 1, shard: int = 0,
                                    unigrams: ArrayLike = (),
                                    seed: int | np.random.Generator | None = None
                                    ) -> SamplerOutput:
    """Draw from a fixed unigram distribution ``P(k) ∝ unigrams[k] ** distortion``.

    Mirrors ``tf.random.fixed_unigram_candidate_sampler`` (also ``tf.nn.`` in TF 2.21), same
    arguments. Unlike the log-uniform sampler it needs no particular id order: ``unigrams[k]``
    is class k's count (or the last CSV field of line k of ``vocab_file``). ``distortion`` < 1
    flattens the distribution (word2vec uses 0.75), 0 makes it uniform over the classes with a
    positive count. ``range_max`` must equal the number of weights (``num_reserved_ids +
    len(unigrams)``, or this shard's share), as TF requires. Returns the same triple as
    :func:`log_uniform_candidate_sampler`; ``seed`` may also be a NumPy ``Generator``.
    """
    p = fixed_unigram_probabilities(unigrams, distortion, num_reserved_ids, num_shards, shard,
                                    vocab_file)
    if range_max != len(p):
        raise ValueError(f"`range_max`={range_max} must equal the number of class weights "
                         f"(num_reserved_ids + len(unigrams), this shard's share) = {len(p)}.")
    positive = int(np.count_nonzero(p))
    if unique and num_sampled > positive:
        raise ValueError(f"`num_sampled`={num_sampled} distinct classes cannot be drawn: only "
                         f"{positive} classes have a positive weight; use unique=False.")
    cdf = np.cumsum(p.astype(np.float64))

    def draw(rng):
        return lambda n: np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"),
                                    range_max - 1).astype(np.int64)

    return _sample(true_classes, num_true, num_sampled, unique, range_max, seed,
                   lambda ids: p[ids], draw)


def all_candidate_sampler(true_classes: ArrayLike, num_true: int, num_sampled: int,
                          unique: bool, seed: int | np.random.Generator | None = None
                          ) -> SamplerOutput:
    """Every class ``0 .. num_sampled-1``, each with expected count 1 (nothing is random).

    Mirrors ``tf.random.all_candidate_sampler`` (also ``tf.nn.`` in TF 2.21): with
    ``num_sampled`` = the number of classes, the sampled losses equal their full versions.
    ``unique`` and ``seed`` are accepted and unused, as in TF; true ids must lie in
    ``[0, num_sampled)``. Returns the same triple as :func:`log_uniform_candidate_sampler`.
    """
    num_sampled = positive_int(num_sampled, "num_sampled")
    classes = class_id_matrix(true_classes, num_true, num_sampled, name="true_classes")
    return (np.arange(num_sampled, dtype=np.int64), np.ones(classes.shape, np.float32),
            np.ones(num_sampled, np.float32))
