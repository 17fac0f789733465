"""Sampled softmax, NCE and the candidate samplers against TensorFlow, given the same draws."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tolerances import SAMPLED_RTOL

from course_lib import nn
from course_lib import random as cl_random
from course_lib.random import expected_count, log_uniform_probabilities


def layer(rng, num_classes, dim, batch, dtype):
    weights = rng.normal(size=(num_classes, dim)).astype(dtype)
    biases = rng.normal(size=num_classes).astype(dtype)
    inputs = rng.normal(size=(batch, dim)).astype(dtype)
    return weights, biases, inputs


def tf_draw(tf, labels, num_true, num_sampled, num_classes, dtype, seed=1):
    """TF's log-uniform draw; counts cast to the layer's dtype (TF's float64 path needs it)."""
    cands, true_count, sampled_count = tf.random.log_uniform_candidate_sampler(
        labels, num_true, num_sampled, True, num_classes, seed=seed)
    return cands, tf.cast(true_count, dtype), tf.cast(sampled_count, dtype)


def dense(indices, values, num_rows):
    """IndexedSlices-style (indices, values) summed into a dense array."""
    out = np.zeros((num_rows, *np.shape(values)[1:]), dtype=np.float64)
    np.add.at(out, np.asarray(indices), np.asarray(values, dtype=np.float64))
    return out


cases = st.tuples(
    st.integers(0, 2**32 - 1),
    st.sampled_from([np.float32, np.float64]),
    st.integers(1, 3),                      # num_true
    st.integers(1, 40),                     # num_sampled
    st.booleans(),                          # remove_accidental_hits
    st.sampled_from(["sampled_softmax_loss", "nce_loss"]),
)


@given(cases)
def test_losses_and_sparse_gradients_match_tf(tf, case):
    seed, dtype, num_true, num_sampled, remove_hits, loss_name = case
    rng = np.random.default_rng(seed)
    num_classes, dim, batch = 60, 8, 16
    weights, biases, inputs = layer(rng, num_classes, dim, batch, dtype)
    labels = rng.integers(0, 12, (batch, num_true))      # small ids: accidental hits happen
    sampled = tf_draw(tf, labels, num_true, num_sampled, num_classes, dtype, seed=seed % 1000)
    ours_values = tuple(v.numpy() for v in sampled)
    args = (num_sampled, num_classes, num_true)

    w, b = tf.Variable(weights), tf.Variable(biases)
    x = tf.constant(inputs)
    with tf.GradientTape() as tape:
        tape.watch(x)
        theirs = getattr(tf.nn, loss_name)(w, b, labels, x, *args, sampled_values=sampled,
                                           remove_accidental_hits=remove_hits)
        total = tf.reduce_sum(theirs)
    g_w, g_b, g_x = tape.gradient(total, [w, b, x])

    ours = getattr(nn, loss_name)(weights, biases, labels, inputs, *args,
                                  sampled_values=ours_values, remove_accidental_hits=remove_hits)
    rtol = SAMPLED_RTOL[dtype]
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=rtol, atol=rtol)
    (w_idx, w_val), (b_idx, b_val), d_inputs = getattr(nn, f"{loss_name}_grad")(
        weights, biases, labels, inputs, *args, sampled_values=ours_values,
        remove_accidental_hits=remove_hits)
    np.testing.assert_array_equal(w_idx, g_w.indices.numpy())
    np.testing.assert_array_equal(b_idx, g_b.indices.numpy())
    np.testing.assert_allclose(w_val, g_w.values.numpy(), rtol=rtol, atol=10 * rtol)
    np.testing.assert_allclose(b_val, g_b.values.numpy(), rtol=rtol, atol=10 * rtol)
    np.testing.assert_allclose(d_inputs, g_x.numpy(), rtol=rtol, atol=10 * rtol)
    fused_loss, _ = getattr(nn, f"{loss_name}_value_and_grad")(
        weights, biases, labels, inputs, *args, sampled_values=ours_values,
        remove_accidental_hits=remove_hits)
    np.testing.assert_allclose(fused_loss, ours, rtol=rtol, atol=rtol)


def test_sparse_gradient_agrees_with_a_dense_numerical_one():
    from course_lib.gradcheck import numerical_gradient

    rng = np.random.default_rng(3)
    weights, biases, inputs = layer(rng, 30, 4, 5, np.float64)
    labels = rng.integers(0, 30, (5, 2))
    sampled = cl_random.log_uniform_candidate_sampler(labels, 2, 7, True, 30, seed=4)
    (w_idx, w_val), _, _ = nn.sampled_softmax_loss_grad(weights, biases, labels, inputs, 7, 30,
                                                        2, sampled)
    numeric = numerical_gradient(
        lambda w: nn.sampled_softmax_loss(w, biases, labels, inputs, 7, 30, 2, sampled), weights)
    np.testing.assert_allclose(dense(w_idx, w_val, 30), numeric, atol=1e-7)


def test_every_class_sampled_gives_the_full_softmax(tf):
    rng = np.random.default_rng(5)
    num_classes = 25
    weights, biases, inputs = layer(rng, num_classes, 6, 10, np.float64)
    labels = rng.integers(0, num_classes, (10, 1))
    cands, true_count, sampled_count = (v.numpy() for v in tf.random.all_candidate_sampler(
        labels, 1, num_classes, True))
    ours = nn.sampled_softmax_loss(weights, biases, labels, inputs, num_classes, num_classes,
                                   sampled_values=(cands, true_count, sampled_count))
    full = nn.sparse_softmax_cross_entropy_with_logits(labels[:, 0], inputs @ weights.T + biases)
    np.testing.assert_allclose(ours, full, rtol=1e-12)


def test_accidental_hits_match_tf(tf):
    true_classes = np.array([[1, 3], [2, 2], [5, 0]])
    candidates = np.array([3, 3, 2, 0, 7])                 # 3 drawn twice: the last one counts
    ours = nn.compute_accidental_hits(true_classes, candidates, 2)
    theirs = tf.nn.compute_accidental_hits(true_classes, candidates, 2)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b.numpy())
        assert a.dtype == b.numpy().dtype


# ---------------------------------------------------------------- samplers
def test_log_uniform_probabilities_are_tfs_zipf_law():
    p = log_uniform_probabilities(10)
    np.testing.assert_allclose(p.sum(), 1.0)
    assert np.all(np.diff(p) < 0)                         # class 0 most frequent
    np.testing.assert_allclose(p, (np.log(np.arange(2, 12)) - np.log(np.arange(1, 11)))
                               / np.log(11))


@pytest.mark.parametrize("unique", [True, False])
@pytest.mark.parametrize("sampler", ["log_uniform_candidate_sampler",
                                     "uniform_candidate_sampler"])
def test_expected_counts_follow_tfs_formula(tf, sampler, unique):
    """Given TF's own draw, our expected-count formula reproduces TF's counts to 1 ulp."""
    labels = np.array([[0, 7], [3, 999]])
    num_classes, num_sampled = 1000, 40
    cands, true_count, sampled_count = (v.numpy() for v in getattr(tf.random, sampler)(
        labels, 2, num_sampled, unique, num_classes, seed=3))
    p = (log_uniform_probabilities(num_classes) if sampler.startswith("log")
         else np.full(num_classes, 1 / num_classes))
    # TF does not return how many draws unique sampling took; find the one that fits.
    errors = {tries: np.max(np.abs(expected_count(p[cands], num_sampled, tries) - sampled_count)
                            / sampled_count) for tries in range(num_sampled, 400)}
    tries = min(errors, key=errors.get)
    assert errors[tries] <= 2.5e-7                          # <= 1-2 float32 ulp
    np.testing.assert_allclose(expected_count(p[labels], num_sampled, tries), true_count,
                               rtol=2.5e-7)
    if not unique:
        assert tries == num_sampled


@pytest.mark.parametrize("sampler", [cl_random.log_uniform_candidate_sampler,
                                     cl_random.uniform_candidate_sampler])
def test_our_samplers_shapes_dtypes_seeds_and_uniqueness(sampler):
    labels = np.array([[1], [4], [9]])
    cands, true_count, sampled_count = sampler(labels, 1, 50, True, 100, seed=7)
    assert cands.dtype == np.int64 and cands.shape == (50,)
    assert true_count.dtype == sampled_count.dtype == np.float32
    assert true_count.shape == (3, 1) and sampled_count.shape == (50,)
    assert len(set(cands.tolist())) == 50 and cands.min() >= 0 and cands.max() < 100
    again = sampler(labels, 1, 50, True, 100, seed=7)
    np.testing.assert_array_equal(cands, again[0])
    assert not np.array_equal(cands, sampler(labels, 1, 50, True, 100, seed=8)[0])


def test_log_uniform_draws_follow_the_distribution():
    cands, _, counts = cl_random.log_uniform_candidate_sampler(
        np.zeros((1, 1), int), 1, 200_000, False, 10, seed=0)
    freq = np.bincount(cands, minlength=10) / len(cands)
    np.testing.assert_allclose(freq, log_uniform_probabilities(10), atol=3e-3)
    np.testing.assert_allclose(counts, log_uniform_probabilities(10)[cands] * 200_000, rtol=1e-6)


def test_unique_expected_counts_exceed_naive_when_draws_were_rejected():
    labels = np.zeros((1, 1), int)
    cands, _, counts = cl_random.log_uniform_candidate_sampler(labels, 1, 40, True, 50, seed=0)
    naive = log_uniform_probabilities(50)[cands] * 40
    assert np.all(counts <= 1) and np.any(np.abs(counts - naive) > 0.05)


# ---------------------------------------------------------------- the honest estimate
def test_importance_sampled_estimate_is_close_to_the_full_loss_and_tfs_is_not():
    rng = np.random.default_rng(0)
    num_classes, dim, batch = 20_000, 32, 64
    freq = log_uniform_probabilities(num_classes)
    weights = rng.normal(scale=dim ** -0.5, size=(num_classes, dim))
    biases = np.log(freq)                                  # a layer that learnt the frequencies
    inputs = rng.normal(size=(batch, dim))
    labels = rng.choice(num_classes, size=batch, p=freq)
    full = nn.sparse_softmax_cross_entropy_with_logits(labels, inputs @ weights.T + biases).mean()
    estimates = [nn.estimate_full_softmax_loss(weights, biases, labels, inputs, 512, freq,
                                               seed=s).mean() for s in range(20)]
    assert abs(np.mean(estimates) / full - 1) < 0.01
    sampled = nn.sampled_softmax_loss(weights, biases, labels[:, None], inputs, 512, num_classes,
                                      seed=0).mean()
    assert sampled < 0.95 * full                           # TF's training loss is biased low


@pytest.mark.parametrize("loss_name", ["sampled_softmax_loss", "nce_loss"])
@pytest.mark.parametrize(("true_shape", "sampled_shape"), [
    ((6, 1), (4,)), ((1, 3), (4,)), ((), ()), ((3,), (1, 4)), ((6, 3), (6, 4))])
def test_expected_counts_broadcast_as_tf_broadcasts_them(tf, loss_name, true_shape,
                                                         sampled_shape):
    """TF subtracts log E from the [batch, num_true] / [batch, num_sampled] logits, so any
    expected count that broadcasts to those shapes is accepted; the values agree with TF's."""
    rng = np.random.default_rng(7)
    weights, biases, inputs = layer(rng, 30, 4, 6, np.float32)
    labels = rng.integers(0, 30, (6, 3))
    candidates = np.array([2, 5, 11, 29])
    true_count = rng.uniform(0.05, 0.5, true_shape).astype(np.float32)
    sampled_count = rng.uniform(0.05, 0.5, sampled_shape).astype(np.float32)
    values = (candidates, true_count, sampled_count)
    theirs = getattr(tf.nn, loss_name)(weights, biases, labels, inputs, 4, 30, num_true=3,
                                       sampled_values=values).numpy()
    ours = getattr(nn, loss_name)(weights, biases, labels, inputs, 4, 30, num_true=3,
                                  sampled_values=values)
    np.testing.assert_allclose(ours, theirs, rtol=SAMPLED_RTOL[np.float32], atol=1e-5)


def test_expected_counts_that_do_not_broadcast_are_refused(tf):
    rng = np.random.default_rng(7)
    weights, biases, inputs = layer(rng, 30, 4, 6, np.float32)
    labels = rng.integers(0, 30, (6, 3))
    bad = (np.array([2, 5, 11, 29]), np.ones(6, np.float32), np.ones(4, np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.nn.nce_loss(weights, biases, labels, inputs, 4, 30, num_true=3, sampled_values=bad)
    with pytest.raises(ValueError, match=r"`sampled_values true_expected_count` shape \(6,\) "
                                         r"does not broadcast to `true logits` shape \(6, 3\)"):
        nn.nce_loss(weights, biases, labels, inputs, 4, 30, num_true=3, sampled_values=bad)


# ---------------------------------------------------------------- bad input
def test_bad_input_names_the_argument():
    rng = np.random.default_rng(0)
    weights, biases, inputs = layer(rng, 10, 4, 3, np.float32)
    labels = np.array([[1], [2], [3]])
    with pytest.raises(ValueError, match=r"`num_sampled`=11 distinct classes .* `range_max`=10"):
        cl_random.log_uniform_candidate_sampler(labels, 1, 11, True, 10)
    with pytest.raises(ValueError, match=r"class id 10, outside the valid range \[0, 10\)"):
        nn.sampled_softmax_loss(weights, biases, np.array([[1], [10], [3]]), inputs, 2, 10)
    with pytest.raises(ValueError, match=r"`labels` must have shape \[batch, num_true=1\]"):
        nn.nce_loss(weights, biases, np.array([1, 2, 3]), inputs, 2, 10)
    with pytest.raises(ValueError, match=r"`weights` must have shape \[num_classes=10, dim\]"):
        nn.sampled_softmax_loss(weights.T, biases, labels, inputs, 2, 10)
    with pytest.raises(ValueError, match=r"`inputs` must have shape \[batch, dim=4\]"):
        nn.sampled_softmax_loss(weights, biases, labels, inputs[:, :3], 2, 10)
    with pytest.raises(ValueError, match=r"`labels` has 2 rows but `inputs` has 3"):
        nn.sampled_softmax_loss(weights, biases, labels[:2], inputs, 2, 10)
    with pytest.raises(ValueError, match=r"sampled_candidates must have shape \(2,\)"):
        nn.sampled_softmax_loss(weights, biases, labels, inputs, 2, 10,
                                sampled_values=(np.arange(3), np.ones((3, 1)), np.ones(3)))
    with pytest.raises(ValueError, match="`proposal` must be class probabilities"):
        nn.estimate_full_softmax_loss(weights, biases, labels, inputs, 5, np.ones(10))
