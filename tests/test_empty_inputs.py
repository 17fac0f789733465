"""Empty batches and empty class axes: what TensorFlow returns, course_lib returns too.

Each case runs TF on the same empty input first. Where TF returns a result, course_lib must
return one of the same shape, dtype and values (``-inf`` for the logsumexp of nothing, zeros
for a dense cross-entropy over no classes). Where TF raises, course_lib must raise its own
``ValueError`` naming the argument, never NumPy's "zero-size array to reduction" message.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from course_lib import keras_losses, losses, nn
from course_lib import random as cl_random

F32 = np.float32
SHAPES = [(0, 3), (3, 0), (0, 0), (0,), (2, 0, 3)]


def tape(tf, op: Callable, labels: np.ndarray, logits: np.ndarray):
    """``(op(labels, logits), d Σop / d logits)`` as TF computes them.

    TF answers None for the gradient of a sum over nothing; that is a gradient of zeros.
    """
    x = tf.constant(logits)
    with tf.GradientTape() as t:
        t.watch(x)
        loss = op(tf.constant(labels), x)
    grad = t.gradient(tf.reduce_sum(loss), x)
    return loss.numpy(), np.zeros_like(logits) if grad is None else grad.numpy()


def cases(tf, keras):
    """(id, TF's call, course_lib's call) for every empty input worth asking about."""
    dense = tf.nn.softmax_cross_entropy_with_logits
    sparse = tf.nn.sparse_softmax_cross_entropy_with_logits
    sigmoid = tf.nn.sigmoid_cross_entropy_with_logits
    v1 = tf.compat.v1.losses
    out = []
    for shape in SHAPES:
        x = np.ones(shape, F32)
        for axis in range(-1, -len(shape) - 1, -1):
            for name, tf_fn in [("softmax", tf.nn.softmax), ("log_softmax", tf.nn.log_softmax),
                                ("logsumexp", tf.math.reduce_logsumexp)]:
                out.append((f"{name}{shape}axis{axis}",
                            lambda x=x, f=tf_fn, a=axis: f(x, axis=a),
                            lambda x=x, n=name, a=axis: getattr(nn, n)(x, axis=a)))
        for name, tf_fn in [("sigmoid", tf.math.sigmoid), ("log_sigmoid", tf.math.log_sigmoid),
                            ("softplus", tf.math.softplus)]:
            out.append((f"{name}{shape}", lambda x=x, f=tf_fn: f(x),
                        lambda x=x, n=name: getattr(nn, n)(x)))
        if len(shape) < 2:
            continue
        z = np.full(shape, 0.5, F32)
        y = np.zeros(shape[:-1], np.int32)
        out += [
            (f"softmax_ce{shape}", lambda z=z, x=x: dense(z, x),
             lambda z=z, x=x: nn.softmax_cross_entropy_with_logits(z, x)),
            (f"softmax_ce_value_and_grad{shape}", lambda z=z, x=x: tape(tf, dense, z, x),
             lambda z=z, x=x: nn.softmax_cross_entropy_with_logits_value_and_grad(z, x)),
            (f"softmax_ce_grad{shape}", lambda z=z, x=x: tape(tf, dense, z, x)[1],
             lambda z=z, x=x: nn.softmax_cross_entropy_with_logits_grad(z, x)[1]),
            (f"sparse_ce{shape}", lambda y=y, x=x: sparse(y, x),
             lambda y=y, x=x: nn.sparse_softmax_cross_entropy_with_logits(y, x)),
            (f"sparse_ce_value_and_grad{shape}", lambda y=y, x=x: tape(tf, sparse, y, x),
             lambda y=y, x=x: nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)),
            (f"sigmoid_ce_value_and_grad{shape}", lambda z=z, x=x: tape(tf, sigmoid, z, x),
             lambda z=z, x=x: nn.sigmoid_cross_entropy_with_logits_value_and_grad(z, x)),
            (f"weighted_ce{shape}",
             lambda z=z, x=x: tf.nn.weighted_cross_entropy_with_logits(z, x, 2.0),
             lambda z=z, x=x: nn.weighted_cross_entropy_with_logits(z, x, 2.0)),
        ]
        for reduction in ("weighted_sum_by_nonzero_weights", "weighted_mean", "none"):
            out += [
                (f"v1.softmax_cross_entropy{shape}{reduction}",
                 lambda z=z, x=x, r=reduction: v1.softmax_cross_entropy(z, x, reduction=r),
                 lambda z=z, x=x, r=reduction: losses.softmax_cross_entropy(z, x, reduction=r)),
                (f"v1.sparse_softmax_cross_entropy{shape}{reduction}",
                 lambda y=y, x=x, r=reduction: v1.sparse_softmax_cross_entropy(y, x,
                                                                               reduction=r),
                 lambda y=y, x=x, r=reduction: losses.sparse_softmax_cross_entropy(
                     y, x, reduction=r)),
                (f"v1.sigmoid_cross_entropy{shape}{reduction}",
                 lambda z=z, x=x, r=reduction: v1.sigmoid_cross_entropy(z, x, reduction=r),
                 lambda z=z, x=x, r=reduction: losses.sigmoid_cross_entropy(z, x, reduction=r)),
            ]
        for name in ("categorical_crossentropy", "binary_crossentropy",
                     "categorical_focal_crossentropy", "binary_focal_crossentropy"):
            for from_logits in (False, True):
                out.append((f"keras.{name}{shape}logits={from_logits}",
                            lambda z=z, x=x, n=name, f=from_logits: getattr(keras.losses, n)(
                                z, x, from_logits=f),
                            lambda z=z, x=x, n=name, f=from_logits: getattr(keras_losses, n)(
                                z, x, from_logits=f)))
        out.append((f"keras.sparse_categorical_crossentropy{shape}",
                    lambda y=y, x=x: keras.losses.sparse_categorical_crossentropy(
                        y, x, from_logits=True),
                    lambda y=y, x=x: keras_losses.sparse_categorical_crossentropy(
                        y, x, from_logits=True)))
    return out


def run(fn: Callable):
    result = fn()
    if isinstance(result, tuple):
        return tuple(np.asarray(r) for r in result)
    return (np.asarray(result),)


@pytest.fixture(scope="module")
def keras(tf):
    from course_lib.tf_setup import import_keras

    return import_keras()


@pytest.fixture(scope="module")
def all_cases(tf, keras):
    return {case_id: (t, c) for case_id, t, c in cases(tf, keras)}


def test_every_empty_input_behaves_as_in_tensorflow(tf, all_cases):
    problems = []
    for case_id, (tf_call, cl_call) in all_cases.items():
        try:
            expected = run(tf_call)
        except (tf.errors.InvalidArgumentError, ValueError, TypeError):
            try:
                cl_call()
                problems.append(f"{case_id}: TF raises, course_lib returns")
            except (ValueError, TypeError) as error:
                if "`" not in str(error):            # our messages name the argument in `...`
                    problems.append(f"{case_id}: not our own error: {error}")
            continue
        try:
            got = run(cl_call)
        except Exception as error:                    # any failure is a finding
            problems.append(f"{case_id}: TF returns, course_lib raises {error!r}")
            continue
        for ours, theirs in zip(got, expected, strict=True):
            if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
                problems.append(f"{case_id}: {ours.shape} {ours.dtype} vs TF's "
                                f"{theirs.shape} {theirs.dtype}")
            elif not np.array_equal(ours, theirs, equal_nan=True):
                problems.append(f"{case_id}: {ours.ravel()[:3]} vs TF's {theirs.ravel()[:3]}")
    assert len(all_cases) >= 100         # the generator above really produced the cases
    assert not problems, "\n".join(problems)


def test_logsumexp_of_nothing_is_minus_infinity(tf):
    x = np.ones((0, 3), F32)
    got = nn.logsumexp(x, axis=0)
    np.testing.assert_array_equal(got, tf.math.reduce_logsumexp(x, axis=0).numpy())
    assert np.all(got == -np.inf)


def test_zero_classes_dense_is_zero_and_sparse_is_refused(tf):
    x = np.ones((3, 0), F32)
    np.testing.assert_array_equal(nn.softmax_cross_entropy_with_logits(x, x), np.zeros(3, F32))
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.nn.sparse_softmax_cross_entropy_with_logits(np.zeros(3, np.int32), x)
    with pytest.raises(ValueError, match=r"`logits` shape \(3, 0\) has no classes"):
        nn.sparse_softmax_cross_entropy_with_logits(np.zeros(3, np.int32), x)


@pytest.mark.parametrize("loss", ["sampled_softmax_loss", "nce_loss"])
def test_sampled_losses_and_gradients_of_an_empty_batch(tf, loss):
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((20, 4)).astype(F32)
    biases = np.zeros(20, F32)
    labels, inputs = np.zeros((0, 1), np.int64), np.zeros((0, 4), F32)
    values = (np.array([1, 3, 5, 7, 9]), np.ones((0, 1), F32), np.full(5, 0.2, F32))
    w, x = tf.Variable(weights), tf.constant(inputs)
    with tf.GradientTape() as t:
        t.watch(x)
        theirs = getattr(tf.nn, loss)(w, biases, labels, x, 5, 20, sampled_values=values)
    d_w, d_x = t.gradient(tf.reduce_sum(theirs), [w, x])
    ours = getattr(nn, loss)(weights, biases, labels, inputs, 5, 20, sampled_values=values)
    (w_ids, w_rows), _, d_inputs = getattr(nn, f"{loss}_grad")(
        weights, biases, labels, inputs, 5, 20, sampled_values=values)
    assert ours.shape == theirs.shape == (0,)
    assert d_inputs.shape == (0, 4) and (d_x is None or d_x.shape == (0, 4))
    if d_w is None:                   # TF: no gradient at all; course_lib: rows of zeros
        assert not np.any(w_rows)
    else:
        np.testing.assert_array_equal(w_ids, d_w.indices.numpy())
        np.testing.assert_array_equal(w_rows, d_w.values.numpy())
    assert ours.shape == getattr(nn, loss)(weights, biases, labels, inputs, 5, 20,
                                           seed=1).shape


@pytest.mark.parametrize("sampler", ["log_uniform_candidate_sampler",
                                     "uniform_candidate_sampler"])
def test_samplers_with_no_true_classes(tf, sampler):
    true = np.zeros((0, 1), np.int64)
    theirs = getattr(tf.random, sampler)(true, 1, 5, True, 20, seed=1)
    ours = getattr(cl_random, sampler)(true, 1, 5, True, 20, seed=1)
    for a, b in zip(ours, theirs, strict=True):
        assert np.asarray(a).shape == b.shape and np.asarray(a).dtype == b.dtype


def test_accidental_hits_with_nothing_to_hit(tf):
    for true, candidates in [(np.zeros((0, 1), np.int64), np.array([1, 2])),
                             (np.array([[1]]), np.zeros(0, np.int64))]:
        theirs = tf.nn.compute_accidental_hits(true, candidates, 1)
        ours = nn.compute_accidental_hits(true, candidates, 1)
        for a, b in zip(ours, theirs, strict=True):
            assert a.shape == b.shape == (0,) and a.dtype == b.dtype
