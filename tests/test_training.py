"""course_lib.training: the multi-label digit targets and the deterministic linear trainer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from course_lib import nn, training
from course_lib.gradcheck import numerical_gradient, relative_error


def sigmoid_grad(z, x):
    return nn.sigmoid_cross_entropy_with_logits_grad(z, x)[1]


def softmax_grad(z, x):
    return nn.softmax_cross_entropy_with_logits_grad(z, x)[1]


def small_problem(seed=0, batch=40, dim=6, classes=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, dim))
    y = (rng.uniform(size=(batch, classes)) < 0.4).astype(np.float64)
    w = rng.standard_normal((dim, classes)) * 0.3
    b = rng.standard_normal(classes) * 0.3
    return x, y, w, b


# ---------------------------------------------------------------- digit_properties
def test_digit_properties_table():
    expected = np.array([
        # even, > 4, prime, closed loop
        [1, 0, 0, 1],  # 0
        [0, 0, 0, 0],  # 1
        [1, 0, 1, 0],  # 2
        [0, 0, 1, 0],  # 3
        [1, 0, 0, 0],  # 4
        [0, 1, 1, 0],  # 5
        [1, 1, 0, 1],  # 6
        [0, 1, 1, 0],  # 7
        [1, 1, 0, 1],  # 8
        [0, 1, 0, 1],  # 9
    ], dtype=np.float64)
    got = training.digit_properties(np.arange(10))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    assert list(training.DIGIT_PROPERTIES) == ["even", "greater than 4", "prime", "closed loop"]


def test_digit_properties_any_shape_and_custom_properties():
    digits = np.array([[3, 8], [1, 0]], dtype=np.int32)
    assert training.digit_properties(digits).shape == (2, 2, 4)
    odd = training.digit_properties(digits, {"odd": frozenset({1, 3, 5, 7, 9})})
    np.testing.assert_array_equal(odd[..., 0], [[1, 0], [1, 0]])


def test_digit_properties_rejects_non_integers():
    with pytest.raises(TypeError, match="digits"):
        training.digit_properties([1.0, 2.0])
    with pytest.raises(ValueError, match="properties"):
        training.digit_properties([1, 2], {})


# ---------------------------------------------------------------- linear_gradient_step
def test_step_is_gradient_descent_on_the_mean_loss():
    """The step equals W - η·dL/dW for L = Σ loss / B, by central differences."""
    x, y, w, b = small_problem()
    lr = 0.3
    new_w, new_b = training.linear_gradient_step(w, b, x, y, sigmoid_grad, lr)

    def mean_loss_w(w_):
        return np.sum(nn.sigmoid_cross_entropy_with_logits(y, x @ w_ + b)) / len(x)

    def mean_loss_b(b_):
        return np.sum(nn.sigmoid_cross_entropy_with_logits(y, x @ w + b_)) / len(x)

    assert relative_error((w - new_w) / lr, numerical_gradient(mean_loss_w, w)) < 1e-7
    assert relative_error((b - new_b) / lr, numerical_gradient(mean_loss_b, b)) < 1e-7


def test_step_matches_tensorflow_gradient_tape(tf):
    x, y, w, b = small_problem(seed=1)
    lr = 0.7
    for grad, tf_loss in [
        (sigmoid_grad, tf.nn.sigmoid_cross_entropy_with_logits),
        # one-hot labels: there TF's fused gradient softmax - z is the true derivative
        (softmax_grad, tf.nn.softmax_cross_entropy_with_logits),
    ]:
        labels = y if grad is sigmoid_grad else np.eye(y.shape[1])[np.arange(len(y)) % y.shape[1]]
        new_w, new_b = training.linear_gradient_step(w, b, x, labels, grad, lr)
        tw, tb = tf.Variable(w), tf.Variable(b)
        with tf.GradientTape() as tape:
            logits = tf.matmul(x, tw) + tb
            loss = tf.reduce_sum(tf_loss(labels=labels, logits=logits)) / len(x)
        gw, gb = tape.gradient(loss, [tw, tb])
        np.testing.assert_allclose(new_w, w - lr * gw.numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(new_b, b - lr * gb.numpy(), rtol=1e-12, atol=1e-12)


def test_step_takes_class_ids_and_leaves_inputs_alone():
    x, _, w, b = small_problem(seed=2)
    ids = np.arange(len(x)) % w.shape[1]
    w0, b0 = w.copy(), b.copy()
    sparse_w, sparse_b = training.linear_gradient_step(
        w, b, x, ids, nn.sparse_softmax_cross_entropy_with_logits_grad, 0.5)
    dense_w, dense_b = training.linear_gradient_step(
        w, b, x, np.eye(w.shape[1])[ids], softmax_grad, 0.5)
    np.testing.assert_allclose(sparse_w, dense_w, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(sparse_b, dense_b, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(b, b0)


@pytest.mark.parametrize(("change", "match"), [
    ({"features": np.zeros((40, 5))}, "weights"),
    ({"weights": np.zeros((6,))}, "weights"),
    ({"bias": np.zeros(4)}, "bias"),
    ({"labels": np.zeros((39, 3))}, "labels"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"features": np.full((40, 6), np.inf)}, "features"),
    ({"logits_grad": lambda z, x: x[:, :2]}, "logits_grad"),
])
def test_step_rejects_bad_arguments(change, match):
    x, y, w, b = small_problem()
    kwargs = {"weights": w, "bias": b, "features": x, "labels": y,
              "logits_grad": sigmoid_grad, "learning_rate": 0.1, **change}
    with pytest.raises(ValueError, match=match):
        training.linear_gradient_step(**kwargs)


# ---------------------------------------------------------------- fit_linear
def test_fit_starts_at_zero_and_repeats_the_step():
    x, y, _, _ = small_problem(seed=3)
    w, b = training.fit_linear(x, y, sigmoid_grad, steps=0)
    np.testing.assert_array_equal(w, np.zeros((6, 3)))
    np.testing.assert_array_equal(b, np.zeros(3))
    w3, b3 = training.fit_linear(x, y, sigmoid_grad, learning_rate=0.4, steps=3)
    for _ in range(3):
        w, b = training.linear_gradient_step(w, b, x, y, sigmoid_grad, 0.4)
    np.testing.assert_array_equal(w3, w)
    np.testing.assert_array_equal(b3, b)


def test_fit_lowers_the_loss_and_is_deterministic():
    x, y, _, _ = small_problem(seed=4)
    w, b = training.fit_linear(x, y, sigmoid_grad, learning_rate=0.5, steps=200)
    start = nn.sigmoid_cross_entropy_with_logits(y, np.zeros_like(y)).mean()
    end = nn.sigmoid_cross_entropy_with_logits(y, x @ w + b).mean()
    assert end < 0.9 * start
    again = training.fit_linear(x, y, sigmoid_grad, learning_rate=0.5, steps=200)
    np.testing.assert_array_equal(again[0], w)
    np.testing.assert_array_equal(again[1], b)


def test_fit_is_reproducible_across_processes():
    """The lessons print metrics of these weights: a fresh interpreter must get the same bits."""
    code = ("import numpy as np; from course_lib import nn, training\n"
            "rng = np.random.default_rng(5); x = rng.standard_normal((50, 7))\n"
            "y = (rng.uniform(size=(50, 4)) < 0.5).astype(float)\n"
            "w, b = training.fit_linear(x, y, lambda z, l: "
            "nn.softmax_cross_entropy_with_logits_grad(z, l)[1], steps=50)\n"
            "print(w.tobytes().hex() + b.tobytes().hex())")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]


def test_fit_keeps_float32_and_takes_class_ids():
    x, _, _, _ = small_problem(seed=6)
    ids = np.arange(len(x)) % 3
    w, b = training.fit_linear(x.astype(np.float32), ids,
                               nn.sparse_softmax_cross_entropy_with_logits_grad,
                               steps=5, num_classes=3)
    assert w.dtype == b.dtype == np.float32 and w.shape == (6, 3)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"steps": -1}, ValueError, "steps"),
    ({"steps": 2.5}, TypeError, "steps"),
    ({"steps": True}, TypeError, "steps"),
    ({"num_classes": 0}, ValueError, "num_classes"),
    ({"num_classes": 3.0}, TypeError, "num_classes"),
    ({"labels": np.zeros(40, np.int64)}, ValueError, "num_classes"),
    ({"features": np.zeros(40)}, ValueError, "features"),
    ({"learning_rate": -1.0}, ValueError, "learning_rate"),
])
def test_fit_rejects_bad_arguments(kwargs, error, match):
    x, y, _, _ = small_problem()
    args = {"features": x, "labels": y, "logits_grad": sigmoid_grad, **kwargs}
    with pytest.raises(error, match=match):
        training.fit_linear(**args)
