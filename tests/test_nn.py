"""course_lib.nn against tf.nn: forward values and GradientTape gradients, float32 and float64."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tolerances import assert_close

from course_lib import nn

DTYPES = [np.float32, np.float64]
SCALES = [1.0, 10.0, 1e4]


# ---------------------------------------------------------------- inputs and TF helpers
def random_logits(rng, shape, scale, dtype):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def soft_labels(rng, shape, axis, dtype):
    """Rows of probabilities along ``axis`` (Dirichlet), each summing to 1."""
    raw = rng.gamma(0.5, size=shape) + 1e-3
    return (raw / raw.sum(axis=axis, keepdims=True)).astype(dtype)


def one_hot(ids, num_classes, dtype):
    return np.eye(num_classes, dtype=dtype)[ids]


def tape_gradients(tf, fn, watched, *others):
    """Gradients of ``reduce_sum(fn(*watched, *others))`` w.r.t. each watched array."""
    variables = [tf.constant(a) for a in watched]
    with tf.GradientTape() as tape:
        tape.watch(variables)
        total = tf.reduce_sum(fn(*variables, *[tf.constant(o) for o in others]))
    return [None if g is None else g.numpy() for g in tape.gradient(total, variables)]


settings_cases = st.tuples(
    st.integers(0, 2**32 - 1),                       # seed for the values
    st.lists(st.integers(1, 5), min_size=1, max_size=3),  # leading (batch) dims
    st.integers(1, 9),                               # number of classes
    st.sampled_from(SCALES),
    st.sampled_from(DTYPES),
)


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_family_matches_tf(tf, dtype, scale, axis):
    rng = np.random.default_rng(0)
    x = random_logits(rng, (4, 6, 5), scale, dtype)
    assert_close(nn.softmax(x, axis), tf.nn.softmax(x, axis=axis).numpy(), dtype)
    assert_close(nn.log_softmax(x, axis), tf.nn.log_softmax(x, axis=axis).numpy(), dtype, scale)
    for keepdims in (False, True):
        ours = nn.logsumexp(x, axis, keepdims)
        assert_close(ours, tf.math.reduce_logsumexp(x, axis=axis, keepdims=keepdims).numpy(),
                     dtype, scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", SCALES)
def test_sigmoid_family_matches_tf(tf, dtype, scale):
    x = random_logits(np.random.default_rng(1), (50,), scale, dtype)
    assert_close(nn.sigmoid(x), tf.math.sigmoid(x).numpy(), dtype)
    assert_close(nn.log_sigmoid(x), tf.math.log_sigmoid(x).numpy(), dtype, scale)
    assert_close(nn.softplus(x), tf.math.softplus(x).numpy(), dtype, scale)


def test_activations_stay_finite_at_extreme_logits():
    big = np.array([1e4, -1e4, 0.0, 1e30], dtype=np.float32)
    for fn in (nn.softmax, nn.log_softmax, nn.logsumexp, nn.sigmoid, nn.log_sigmoid):
        assert np.all(np.isfinite(fn(big))), fn.__name__
    assert nn.logsumexp(np.float64([1000, 1000])) == pytest.approx(1000 + math.log(2))
    # σ(-50) ≈ 1.9e-22 keeps its relative accuracy (1 - σ(50) would round to 0).
    assert nn.sigmoid(np.float64(-50)) == pytest.approx(1 / (1 + math.exp(50)), rel=1e-15)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtype_in_is_dtype_out(dtype):
    x = np.array([[1.0, 2.0, 3.0]], dtype=dtype)
    y = np.array([2])
    assert nn.softmax(x).dtype == dtype
    assert nn.logsumexp(x).dtype == dtype
    assert nn.sigmoid(x).dtype == dtype
    assert nn.softmax_cross_entropy_with_logits(one_hot(y, 3, dtype), x).dtype == dtype
    loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    assert (loss.dtype, grad.dtype) == (dtype, dtype)
    assert nn.sigmoid_cross_entropy_with_logits(np.ones_like(x), x).dtype == dtype


# ---------------------------------------------------------------- softmax cross-entropy
@given(settings_cases, st.booleans())
def test_softmax_ce_value_and_gradients_match_tf(tf, case, soft):
    seed, lead, num_classes, scale, dtype = case
    rng = np.random.default_rng(seed)
    x = random_logits(rng, (*lead, num_classes), scale, dtype)
    if soft:
        z = soft_labels(rng, x.shape, -1, dtype)
    else:
        z = one_hot(rng.integers(0, num_classes, lead), num_classes, dtype)
    expected = tf.nn.softmax_cross_entropy_with_logits(z, x).numpy()
    assert_close(nn.softmax_cross_entropy_with_logits(z, x), expected, dtype, scale, slack=4)

    tf_d_labels, tf_d_logits = tape_gradients(tf, tf.nn.softmax_cross_entropy_with_logits, [z, x])
    d_labels, d_logits = nn.softmax_cross_entropy_with_logits_grad(z, x)
    assert_close(d_labels, tf_d_labels, dtype, scale)
    assert_close(d_logits, tf_d_logits, dtype, slack=4)

    loss, fused_grad = nn.softmax_cross_entropy_with_logits_value_and_grad(z, x)
    assert_close(loss, expected, dtype, scale, slack=4)
    assert_close(fused_grad, tf_d_logits, dtype, slack=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "axis"), [((3, 5), 0), ((2, 5, 4), 1), ((2, 5, 3, 4), 1),
                                             ((2, 3, 4, 5), -1), ((2, 3, 4, 5), 2)])
def test_softmax_ce_any_rank_and_axis(tf, dtype, shape, axis):
    rng = np.random.default_rng(2)
    x = random_logits(rng, shape, 10.0, dtype)
    z = soft_labels(rng, shape, axis, dtype)
    expected = tf.nn.softmax_cross_entropy_with_logits(z, x, axis=axis).numpy()
    assert_close(nn.softmax_cross_entropy_with_logits(z, x, axis), expected, dtype, 10, slack=4)
    d_labels, d_logits = nn.softmax_cross_entropy_with_logits_grad(z, x, axis)
    tf_d_labels, tf_d_logits = tape_gradients(
        tf, lambda a, b: tf.nn.softmax_cross_entropy_with_logits(a, b, axis=axis), [z, x])
    assert_close(d_labels, tf_d_labels, dtype, 10)
    assert_close(d_logits, tf_d_logits, dtype, slack=4)


def test_softmax_ce_broadcasts_labels_like_tf(tf):
    rng = np.random.default_rng(3)
    x = random_logits(rng, (4, 5), 3.0, np.float64)
    z = soft_labels(rng, (1, 5), -1, np.float64)
    expected = tf.nn.softmax_cross_entropy_with_logits(z, x).numpy()
    assert_close(nn.softmax_cross_entropy_with_logits(z, x), expected, np.float64, 3)
    d_labels, _ = nn.softmax_cross_entropy_with_logits_grad(z, x)
    # TF's tape cannot differentiate into broadcast labels (its Reshape gradient fails), so
    # compare with the gradient for the labels tiled to [B, C], summed over the batch.
    with pytest.raises(tf.errors.InvalidArgumentError):
        tape_gradients(tf, tf.nn.softmax_cross_entropy_with_logits, [z, x])
    tf_d_tiled, _ = tape_gradients(tf, tf.nn.softmax_cross_entropy_with_logits,
                                   [np.repeat(z, 4, axis=0), x])
    assert d_labels.shape == (1, 5)
    assert_close(d_labels, tf_d_tiled.sum(axis=0, keepdims=True), np.float64, 3, slack=4)


def test_extreme_logits_match_tf_exactly(tf):
    """TF's shifted form: ln 3 exactly at -1e4 (lse(x) - x_y would give 1.0986328)."""
    x = np.float32([[-1e4, -1e4, -1e4], [88, 89, 90], [1e4, -1e4, 0]])
    y = np.array([0, 2, 1])
    ours = nn.sparse_softmax_cross_entropy_with_logits(y, x)
    assert_close(ours, tf.nn.sparse_softmax_cross_entropy_with_logits(y, x).numpy(), np.float32)
    assert ours[0] == np.float32(math.log(3))  # exactly, like TF (not 1.0986328)
    assert ours[2] == 20000
    dense = nn.softmax_cross_entropy_with_logits(one_hot(y, 3, np.float32), x)
    np.testing.assert_array_equal(dense, ours)


def test_softmax_ce_gradient_is_true_derivative_where_tf_takes_a_shortcut(tf):
    """Labels summing to 2.5: TF returns softmax - z, the derivative is softmax·Σz - z."""
    rng = np.random.default_rng(4)
    x = random_logits(rng, (3, 4), 2.0, np.float64)
    z = soft_labels(rng, (3, 4), -1, np.float64) * 2.5
    _, d_logits = nn.softmax_cross_entropy_with_logits_grad(z, x)
    numerical = nn_numerical(lambda v: nn.softmax_cross_entropy_with_logits(z, v), x)
    np.testing.assert_allclose(d_logits, numerical, rtol=1e-6, atol=1e-8)
    _, tf_d_logits = tape_gradients(tf, tf.nn.softmax_cross_entropy_with_logits, [z, x])
    np.testing.assert_allclose(tf_d_logits, nn.softmax(x) - z, atol=1e-12)  # TF's shortcut
    assert np.max(np.abs(tf_d_logits - d_logits)) > 0.1                 # ... is not the derivative


def nn_numerical(f, x):
    from course_lib.gradcheck import numerical_gradient

    return numerical_gradient(f, x)


# ---------------------------------------------------------------- sparse softmax cross-entropy
@given(settings_cases, st.sampled_from([np.int32, np.int64]))
def test_sparse_ce_matches_tf(tf, case, label_dtype):
    seed, lead, num_classes, scale, dtype = case
    rng = np.random.default_rng(seed)
    x = random_logits(rng, (*lead, num_classes), scale, dtype)
    y = rng.integers(0, num_classes, lead).astype(label_dtype)
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(y, x).numpy()
    assert_close(nn.sparse_softmax_cross_entropy_with_logits(y, x), expected, dtype, scale)
    (tf_grad,) = tape_gradients(
        tf, lambda v, labels: tf.nn.sparse_softmax_cross_entropy_with_logits(labels, v), [x], y)
    assert_close(nn.sparse_softmax_cross_entropy_with_logits_grad(y, x), tf_grad, dtype)
    loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    assert_close(loss, expected, dtype, scale)
    assert_close(grad, tf_grad, dtype)


def test_sparse_equals_dense_with_one_hot():
    rng = np.random.default_rng(5)
    x = random_logits(rng, (2, 3, 4, 6), 5.0, np.float64)          # segmentation-shaped
    y = rng.integers(0, 6, (2, 3, 4))
    np.testing.assert_allclose(nn.sparse_softmax_cross_entropy_with_logits(y, x),
                               nn.softmax_cross_entropy_with_logits(one_hot(y, 6, float), x),
                               rtol=1e-14, atol=1e-14)


# ---------------------------------------------------------------- sigmoid and weighted
@given(settings_cases)
def test_sigmoid_ce_matches_tf(tf, case):
    seed, lead, num_classes, scale, dtype = case
    rng = np.random.default_rng(seed)
    x = random_logits(rng, (*lead, num_classes), scale, dtype)
    z = rng.uniform(size=x.shape).astype(dtype)
    expected = tf.nn.sigmoid_cross_entropy_with_logits(z, x).numpy()
    assert_close(nn.sigmoid_cross_entropy_with_logits(z, x), expected, dtype, scale)
    tf_d_labels, tf_d_logits = tape_gradients(
        tf, lambda a, b: tf.nn.sigmoid_cross_entropy_with_logits(labels=a, logits=b), [z, x])
    d_labels, d_logits = nn.sigmoid_cross_entropy_with_logits_grad(z, x)
    assert_close(d_labels, tf_d_labels, dtype, scale)
    assert_close(d_logits, tf_d_logits, dtype)


@given(settings_cases, st.booleans())
def test_weighted_ce_matches_tf(tf, case, per_class):
    seed, lead, num_classes, scale, dtype = case
    rng = np.random.default_rng(seed)
    x = random_logits(rng, (*lead, num_classes), scale, dtype)
    z = rng.uniform(size=x.shape).astype(dtype)
    q = rng.uniform(0.1, 5.0, num_classes).astype(dtype) if per_class else 3.0
    expected = tf.nn.weighted_cross_entropy_with_logits(z, x, q).numpy()
    # Both sides are within float rounding of the truth; the loss is up to ~q·|x| in size.
    assert_close(nn.weighted_cross_entropy_with_logits(z, x, q), expected, dtype, 5 * scale,
                 slack=4)
    tf_d_labels, tf_d_logits = tape_gradients(
        tf, lambda a, b: tf.nn.weighted_cross_entropy_with_logits(a, b, q), [z, x])
    d_labels, d_logits = nn.weighted_cross_entropy_with_logits_grad(z, x, q)
    assert_close(d_labels, tf_d_labels, dtype, 5 * scale, slack=4)
    assert_close(d_logits, tf_d_logits, dtype, 5, slack=4)


def test_weighted_ce_stays_accurate_where_tf_cancels(tf):
    """z = 0, x << 0: the true loss is log1p(exp(x)); TF's documented form returns 0.0."""
    x = np.float32([-10.0, -15.0, -20.0, -40.0])
    z = np.zeros_like(x)
    truth = np.log1p(np.exp(x.astype(np.float64)))
    ours = nn.weighted_cross_entropy_with_logits(z, x, 1.0)
    np.testing.assert_allclose(ours, truth, rtol=1e-6)
    theirs = tf.nn.weighted_cross_entropy_with_logits(z, x, 1.0).numpy()
    assert theirs[1] == 0 and theirs[2] == 0                   # 100% relative error in TF
    assert abs(theirs[0] / truth[0] - 1) > 5e-3                # 0.8% off at x = -10
    # pos_weight = 1 is the plain sigmoid CE, which TF computes accurately.
    np.testing.assert_allclose(tf.nn.sigmoid_cross_entropy_with_logits(z, x), truth, rtol=1e-6)


def test_sigmoid_is_the_two_class_softmax():
    rng = np.random.default_rng(6)
    x = rng.normal(scale=4, size=20)
    z = rng.uniform(size=20)
    two_class_logits = np.stack([x, np.zeros_like(x)], axis=-1)
    np.testing.assert_allclose(nn.sigmoid(x), nn.softmax(two_class_logits)[:, 0], rtol=1e-14)
    np.testing.assert_allclose(
        nn.sigmoid_cross_entropy_with_logits(z, x),
        nn.softmax_cross_entropy_with_logits(np.stack([z, 1 - z], -1), two_class_logits),
        rtol=1e-13, atol=1e-14)


# ---------------------------------------------------------------- gradcheck
def test_analytic_gradients_pass_a_numerical_check():
    from course_lib.gradcheck import numerical_gradient, relative_error

    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 4))
    z = rng.uniform(size=(3, 4))
    y = np.array([0, 3, 1])
    checks = [
        (nn.sparse_softmax_cross_entropy_with_logits_grad(y, x),
         lambda v: nn.sparse_softmax_cross_entropy_with_logits(y, v)),
        (nn.sigmoid_cross_entropy_with_logits_grad(z, x)[1],
         lambda v: nn.sigmoid_cross_entropy_with_logits(z, v)),
        (nn.weighted_cross_entropy_with_logits_grad(z, x, 2.5)[1],
         lambda v: nn.weighted_cross_entropy_with_logits(z, v, 2.5)),
        (nn.weighted_cross_entropy_with_logits_grad(z, x, 2.5)[0],
         None),
    ]
    for analytic, f in checks[:3]:
        assert relative_error(analytic, numerical_gradient(f, x)) < 1e-7
    d_labels = checks[3][0]
    numeric_labels = numerical_gradient(lambda v: nn.weighted_cross_entropy_with_logits(v, x, 2.5),
                                        z)
    assert relative_error(d_labels, numeric_labels) < 1e-7


def test_relative_error_sees_a_wrong_gradient():
    from course_lib.gradcheck import relative_error

    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0
    assert relative_error([1.0, 2.0], [1.0, 2.2]) > 1e-2
    with pytest.raises(ValueError, match="shape"):
        relative_error([1.0], [1.0, 2.0])


# ---------------------------------------------------------------- bad input
def test_errors_name_the_argument_and_what_was_expected():
    x = np.zeros((4, 5), np.float32)
    with pytest.raises(ValueError, match=r"`labels` shape \(4, 6\).*`logits` shape \(4, 5\)"):
        nn.softmax_cross_entropy_with_logits(np.zeros((4, 6)), x)
    with pytest.raises(ValueError, match=r"`labels` shape \(4, 1\) must equal .*\(4,\)"):
        nn.sparse_softmax_cross_entropy_with_logits(np.zeros((4, 1), int), x)
    with pytest.raises(ValueError, match=r"`labels` shape \(5,\)"):
        nn.sparse_softmax_cross_entropy_with_logits(np.zeros(5, int), x)
    with pytest.raises(TypeError, match=r"`labels` must be integer class ids.*float32"):
        nn.sparse_softmax_cross_entropy_with_logits(np.zeros(4, np.float32), x)
    with pytest.raises(ValueError, match=r"class id 5, outside the valid range \[0, 5\)"):
        nn.sparse_softmax_cross_entropy_with_logits(np.array([0, 1, 5, 2]), x)
    with pytest.raises(ValueError, match=r"class id -1, outside the valid range \[0, 5\)"):
        nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(np.array([0, -1, 1, 2]), x)
    with pytest.raises(ValueError, match=r"`labels` shape \(1, 5\) must equal `logits` shape"):
        nn.sigmoid_cross_entropy_with_logits(np.zeros((1, 5)), x)
    with pytest.raises(ValueError, match=r"`pos_weight` must be finite; got nan"):
        nn.weighted_cross_entropy_with_logits(x, x, np.nan)
    with pytest.raises(ValueError, match=r"`pos_weight` shape \(3,\) does not broadcast"):
        nn.weighted_cross_entropy_with_logits(x, x, np.ones(3))
    with pytest.raises(ValueError, match=r"`axis`=2 is out of range for `logits` of rank 2"):
        nn.softmax_cross_entropy_with_logits(x, x, axis=2)
    with pytest.raises(ValueError, match="at least one dimension"):
        nn.softmax(np.float32(3.0))
    with pytest.raises(TypeError, match=r"`logits` must hold real numbers; got .*<U1"):
        nn.softmax(["a", "b"])


def test_tf_rejects_the_same_inputs(tf):
    """Our errors are not stricter than TF: each case above is an error in TF too."""
    x = np.zeros((4, 5), np.float32)
    errors = (ValueError, TypeError, tf.errors.InvalidArgumentError)
    cases = [
        lambda: tf.nn.softmax_cross_entropy_with_logits(np.zeros((4, 6), np.float32), x),
        lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(np.zeros((4, 1), np.int32), x),
        lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(np.zeros(4, np.float32), x),
        lambda: tf.nn.sparse_softmax_cross_entropy_with_logits(np.array([0, 1, 5, 2]), x),
        lambda: tf.nn.sigmoid_cross_entropy_with_logits(np.zeros((1, 5), np.float32), x),
    ]
    for case in cases:
        with pytest.raises(errors):
            case()


def test_importing_course_lib_does_not_import_tensorflow():
    code = ("import sys, course_lib; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
