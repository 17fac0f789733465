"""Where course_lib accepts what TensorFlow refuses, on purpose (the README lists these)."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import nn
from course_lib.tf_setup import import_tensorflow


@pytest.fixture(scope="module")
def tf():
    return import_tensorflow()


def test_pos_weight_as_a_python_list(tf):
    z = np.array([[1.0, 0.0]], np.float32)
    x = np.array([[0.3, -1.2]], np.float32)
    with pytest.raises(TypeError):
        tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=[2.0, 3.0])
    expected = tf.nn.weighted_cross_entropy_with_logits(
        labels=z, logits=x, pos_weight=tf.constant([2.0, 3.0])).numpy()
    np.testing.assert_allclose(nn.weighted_cross_entropy_with_logits(z, x, [2.0, 3.0]),
                               expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16])
def test_sparse_labels_of_any_integer_dtype(tf, dtype):
    x = np.array([[0.3, -1.2, 2.0]], np.float32)
    with pytest.raises((TypeError, tf.errors.InvalidArgumentError)):
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=np.array([2], dtype), logits=x)
    expected = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=np.array([2], np.int32), logits=x).numpy()
    np.testing.assert_allclose(
        nn.sparse_softmax_cross_entropy_with_logits(np.array([2], dtype), x), expected, rtol=1e-6)
