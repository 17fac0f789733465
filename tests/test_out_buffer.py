"""``out=`` on the fused ``*_value_and_grad`` functions: NumPy's convention for a reused buffer.

A training loop calls the fused functions once per step; with ``out`` the gradient lands in a
buffer the caller allocated once, so no step pays for a fresh allocation (and its page
faults). The results must be identical, bit for bit, to those of the allocating call, and a
buffer that cannot hold the gradient must be refused with an error that says why.
"""

from __future__ import annotations

import numpy as np
import pytest

from course_lib import nn

rng = np.random.default_rng(0)
X = rng.standard_normal((6, 5)).astype(np.float32)
SOFT = rng.dirichlet(np.ones(5), size=6).astype(np.float32)
IDS = rng.integers(0, 5, 6)
MULTI = (rng.random((6, 5)) < 0.3).astype(np.float32)

CASES = {
    "softmax": (nn.softmax_cross_entropy_with_logits_value_and_grad, SOFT),
    "sparse": (nn.sparse_softmax_cross_entropy_with_logits_value_and_grad, IDS),
    "sigmoid": (nn.sigmoid_cross_entropy_with_logits_value_and_grad, MULTI),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_out_receives_the_same_gradient_and_is_returned(name, dtype):
    fn, labels = CASES[name]
    x = X.astype(dtype)
    labels = labels.astype(dtype) if labels.dtype.kind == "f" else labels
    loss, grad = fn(labels, x)
    out = np.full_like(x, np.nan)
    for _ in range(2):                          # reused: the second call overwrites the first
        loss_out, grad_out = fn(labels, x, out=out)
        assert grad_out is out
        np.testing.assert_array_equal(loss_out, loss)
        np.testing.assert_array_equal(out, grad)


def test_out_on_a_non_last_class_axis_matches_the_allocating_call():
    x, z = np.moveaxis(X, 1, 0).copy(), np.moveaxis(SOFT, 1, 0).copy()   # classes on axis 0
    loss, grad = nn.softmax_cross_entropy_with_logits_value_and_grad(z, x, axis=0)
    out = np.empty_like(x)
    loss_out, grad_out = nn.softmax_cross_entropy_with_logits_value_and_grad(z, x, axis=0,
                                                                             out=out)
    assert grad_out is out
    np.testing.assert_array_equal(loss_out, loss)
    np.testing.assert_array_equal(out, grad)


def test_out_on_the_wide_and_threaded_paths(monkeypatch):
    import course_lib.nn._xent_kernel as kernel

    monkeypatch.setattr(kernel, "_THREAD_MIN_BYTES", 0)
    monkeypatch.setattr(kernel, "_TILE_BYTES", 1 << 10)      # rows of 2000 float32 = 2 tiles+
    x = rng.standard_normal((4, 2000)).astype(np.float32)
    y = rng.integers(0, 2000, 4)
    loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    out = np.empty_like(x)
    loss_out, _ = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x, out=out)
    np.testing.assert_array_equal(loss_out, loss)
    np.testing.assert_array_equal(out, grad)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize(("make_out", "error", "message"), [
    (lambda x: np.empty((6, 4), x.dtype), ValueError, r"`out` shape \(6, 4\) must equal "
                                                      r"`logits` shape \(6, 5\)"),
    (lambda x: np.empty(x.shape, np.float64), TypeError, "`out` dtype float64 must equal "
                                                         "`logits` dtype float32"),
    (lambda x: np.empty((5, 6), x.dtype).T, ValueError, "C-contiguous.*not contiguous"),
    (lambda x: np.lib.stride_tricks.as_strided(np.empty(x.shape, x.dtype), writeable=False),
     ValueError, "read-only"),
    (lambda x: x, ValueError, "must not share memory with `logits`"),
    (lambda x: [[0.0] * 5] * 6, TypeError, "`out` must be a NumPy array.*got list"),
])
def test_a_buffer_that_cannot_hold_the_gradient_is_refused(name, make_out, error, message):
    fn, labels = CASES[name]
    x = X.copy()
    before = x.copy()
    with pytest.raises(error, match=message):
        fn(labels, x, out=make_out(x))
    np.testing.assert_array_equal(x, before)    # refused before anything was written


@pytest.mark.parametrize("name", ["softmax", "sigmoid"])
def test_out_must_not_alias_the_labels(name):
    fn, labels = CASES[name]
    labels = labels.copy()
    with pytest.raises(ValueError, match="must not share memory with `labels`"):
        fn(labels, X, out=labels)
