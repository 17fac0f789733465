"""course_lib.random.fixed_unigram_candidate_sampler against tf.random's.

Expected counts: given TF's own draw, ours must equal TF's bit for bit when no draw was
rejected (``p·num_sampled`` from the same float32 weights, running total and division), and
agree to 1 float32 ulp after rejections (``-expm1(num_tries·log1p(-p))``: NumPy's float32
``expm1``/``log1p`` may round the last bit differently from the C library's). Draws: the
generators differ, so TF's and ours are compared with the distribution statistically.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import random as cl_random
from course_lib.random import expected_count, fixed_unigram_probabilities

# Counts in id order, deliberately not sorted by frequency (the case this sampler is for).
UNIGRAMS = [5.0, 1.0, 30.0, 0.5, 12.0, 7.0, 3.0, 40.0, 2.0, 9.0, 0.0, 17.0]
SETTINGS = [  # (distortion, num_reserved_ids, num_shards, shard)
    (1.0, 0, 1, 0), (0.75, 0, 1, 0), (0.0, 0, 1, 0), (1.3, 2, 1, 0), (0.75, 3, 2, 1),
]


def tf_sample(tf, labels, num_sampled, unique, setting, seed=1, unigrams=UNIGRAMS):
    distortion, reserved, shards, shard = setting
    range_max = len(np.arange(reserved + len(unigrams))[shard::shards])
    out = tf.random.fixed_unigram_candidate_sampler(
        labels, labels.shape[1], num_sampled, unique, range_max, distortion=distortion,
        num_reserved_ids=reserved, num_shards=shards, shard=shard, unigrams=unigrams, seed=seed)
    return range_max, tuple(v.numpy() for v in out)


def probabilities(setting):
    distortion, reserved, shards, shard = setting
    return fixed_unigram_probabilities(UNIGRAMS, distortion, reserved, shards, shard)


def test_tf_nn_and_tf_random_are_the_same_function(tf):
    assert tf.nn.fixed_unigram_candidate_sampler is tf.random.fixed_unigram_candidate_sampler


@pytest.mark.parametrize("setting", SETTINGS, ids=str)
def test_expected_counts_equal_tfs_without_rejection(tf, setting):
    labels = np.array([[0, 1], [2, 4]])
    _, (cands, true_count, sampled_count) = tf_sample(tf, labels, 7, False, setting)
    p = probabilities(setting)
    np.testing.assert_array_equal(expected_count(p[cands], 7, 7), sampled_count)
    np.testing.assert_array_equal(expected_count(p[labels], 7, 7), true_count)


@pytest.mark.parametrize("setting", SETTINGS[:3], ids=str)
def test_expected_counts_equal_tfs_with_unique_draws(tf, setting):
    """TF does not return how many draws a unique sample took; the count that fits best must
    reproduce every expected count to 1 ulp (1.2e-7 relative below 1)."""
    labels = np.array([[0, 7], [3, 9]])
    _, (cands, true_count, sampled_count) = tf_sample(tf, labels, 6, True, setting, seed=4)
    assert len(set(cands.tolist())) == 6
    p = probabilities(setting)
    ulp = np.spacing(np.float32(1))
    fits = [tries for tries in range(7, 500)
            if np.allclose(expected_count(p[cands], 6, tries), sampled_count, rtol=ulp, atol=0)]
    assert len(fits) == 1, f"draw counts that reproduce TF's counts: {fits}"
    np.testing.assert_allclose(expected_count(p[labels], 6, fits[0]), true_count, rtol=ulp,
                               atol=0)


def test_probabilities_are_the_distorted_normalised_counts():
    w = np.asarray(UNIGRAMS) ** 0.75
    np.testing.assert_allclose(fixed_unigram_probabilities(UNIGRAMS, 0.75), w / w.sum(),
                               rtol=1e-6)
    p = fixed_unigram_probabilities(UNIGRAMS, 0.0, num_reserved_ids=2)
    assert p[:2].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(p[2:], 1 / len(UNIGRAMS), rtol=1e-6)  # 0 ** 0 = 1, as in C++


@pytest.mark.parametrize("setting", [(1.0, 0, 1, 0), (0.75, 2, 1, 0)], ids=str)
def test_draws_follow_the_distribution_in_tf_and_in_ours(tf, setting):
    """200,000 draws with replacement: every class frequency within 5 standard errors of P."""
    n = 200_000
    labels = np.zeros((1, 1), np.int64)
    range_max, (tf_draws, _, _) = tf_sample(tf, labels, n, False, setting, seed=7)
    distortion, reserved, _, _ = setting
    ours = cl_random.fixed_unigram_candidate_sampler(
        labels, 1, n, False, range_max, distortion=distortion, num_reserved_ids=reserved,
        unigrams=UNIGRAMS, seed=7)[0]
    p = probabilities(setting).astype(np.float64)
    tolerance = 5 * np.sqrt(p * (1 - p) / n) + 1e-12
    for draws in (tf_draws, ours):
        freq = np.bincount(draws, minlength=range_max) / n
        assert np.all(np.abs(freq - p) <= tolerance), (freq, p)
        assert np.all(freq[p == 0] == 0)                    # zero weight: never drawn


def test_vocab_file_gives_the_same_distribution_as_unigrams(tf, tmp_path):
    path = tmp_path / "vocab.csv"
    path.write_text("".join(f"word{k},{c}\n" for k, c in enumerate(UNIGRAMS)), encoding="utf-8")
    labels = np.array([[3]])
    expected = tf.random.fixed_unigram_candidate_sampler(
        labels, 1, 5, False, len(UNIGRAMS), vocab_file=str(path), distortion=0.75, seed=2)
    cands, counts = expected[0].numpy(), expected[2].numpy()
    p = fixed_unigram_probabilities((), 0.75, vocab_file=str(path))
    np.testing.assert_array_equal(p, fixed_unigram_probabilities(UNIGRAMS, 0.75))
    np.testing.assert_array_equal(expected_count(p[cands], 5, 5), counts)


def test_ours_output_shapes_seeds_and_generators():
    labels = np.array([[1, 2], [4, 9], [0, 11]])
    cands, true_count, sampled_count = cl_random.fixed_unigram_candidate_sampler(
        labels, 2, 8, True, len(UNIGRAMS), unigrams=UNIGRAMS, seed=3)
    assert cands.dtype == np.int64 and cands.shape == (8,) and len(set(cands.tolist())) == 8
    assert true_count.shape == (3, 2) and sampled_count.shape == (8,)
    assert true_count.dtype == sampled_count.dtype == np.float32
    assert 10 not in cands.tolist()                         # the class with count 0
    again = cl_random.fixed_unigram_candidate_sampler(
        labels, 2, 8, True, len(UNIGRAMS), unigrams=UNIGRAMS, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(cands, again[0])


def test_range_max_must_match_the_weights_in_tf_and_in_ours(tf):
    labels = np.array([[1]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="must be equal to weights size"):
        tf.random.fixed_unigram_candidate_sampler(labels, 1, 2, False, 13, unigrams=UNIGRAMS)
    with pytest.raises(ValueError, match=r"`range_max`=13 must equal .* = 12"):
        cl_random.fixed_unigram_candidate_sampler(labels, 1, 2, False, 13, unigrams=UNIGRAMS)


def test_bad_arguments_name_themselves(tmp_path):
    labels = np.array([[1]])
    with pytest.raises(ValueError, match="exactly one of `vocab_file`"):
        cl_random.fixed_unigram_candidate_sampler(labels, 1, 2, False, 12)
    with pytest.raises(ValueError, match=r"`unigrams` must be finite and >= 0"):
        cl_random.fixed_unigram_candidate_sampler(labels, 1, 2, False, 2, unigrams=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"only 11 classes have a positive weight"):
        cl_random.fixed_unigram_candidate_sampler(labels, 1, 12, True, 12, unigrams=UNIGRAMS)
    with pytest.raises(ValueError, match=r"`vocab_file` .* must end in its class's weight"):
        path = tmp_path / "bad.csv"
        path.write_text("the,3\nof,many\n", encoding="utf-8")
        cl_random.fixed_unigram_candidate_sampler(labels, 1, 2, False, 2, vocab_file=str(path))
    with pytest.raises(ValueError, match=r"`shard` must be in \[0, num_shards=2\)"):
        cl_random.fixed_unigram_candidate_sampler(labels, 1, 2, False, 6, num_shards=2, shard=2,
                                                  unigrams=UNIGRAMS)
