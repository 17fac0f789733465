"""The gradient at a confident row's top class keeps its tail (no ``softmax - 1`` cancellation).

For logits ``[37.43, 0]`` and label 0 the exact derivative at the label is
``-softmax(x)_1 ≈ -5.55e-17``; ``softmax - 1`` rounds it to 0 (so does TF 2.21). course_lib
computes the entry j whose softmax exceeds 1/2 as ``Σ_{k≠j} z_k - Σz·Σ_{k≠j} s_k``, summing the
other entries instead of subtracting from 1. The expected values below come from exact
arithmetic: ``decimal`` at 60 digits on the very float inputs, never from course_lib. The
entry is computed in a wider dtype and rounded once: within 1 ulp, where ``softmax - 1`` loses
every digit below ulp(1). (Computed in the logits' own dtype it was up to 2 ulps off, 3 with
column tiles: NumPy's float32 ``exp`` alone is up to 2.4 ulps off, its float64 one 0.7.)
"""

from __future__ import annotations

import decimal
from decimal import Decimal

import numpy as np
import pytest

import course_lib.nn._xent_kernel as kernel
from course_lib import nn

decimal.getcontext().prec = 60


def exact_gradient(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``softmax(x)·Σz - z`` per row, in 60-digit decimal arithmetic, rounded once to float64."""
    out = np.empty(logits.shape, np.float64)
    for r, (row, zrow) in enumerate(zip(logits, labels, strict=True)):
        xs = [Decimal(float(v)) for v in row]
        top = max(xs)
        e = [(v - top).exp() for v in xs]
        total = sum(e)
        mass = sum(Decimal(float(v)) for v in zrow)
        for k, (ek, zk) in enumerate(zip(e, zrow, strict=True)):
            out[r, k] = float(ek / total * mass - Decimal(float(zk)))
    return out


def ulps_apart(a: np.ndarray, exact: np.ndarray, dtype) -> np.ndarray:
    """|a - exact| in units of the spacing of ``dtype`` at ``exact``."""
    spacing = np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)
    return np.abs(a.astype(np.float64) - exact) / spacing


def tail_ulps(dtype) -> int:
    """How close the top class's entry must be: 1 ulp, when the wider dtype is wider."""
    wider = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
    return 1 if np.dtype(dtype) == np.float32 or wider else 2


def confident_logits(dtype, rows=200, classes=7, seed=0):
    """Rows with one logit 15-60 above the rest (softmax of the top class > 1/2).

    Multiples of 1/8 below 64, so that the shift ``x - max(x)`` is exact and the comparison
    measures the formula, not the rounding of its input (a shift of 40 alone moves ``exp`` by
    ulp(40)/2 relative, about 16 ulps).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, classes))
    top = rng.integers(0, classes, rows)
    x[np.arange(rows), top] += rng.uniform(15, 60, rows)
    return (np.round(x * 8) / 8).astype(dtype), top


def test_the_example_keeps_its_tail_and_tf_gives_zero():
    x = np.array([[37.43, 0.0]])
    exact = exact_gradient(x, np.array([[1.0, 0.0]]))
    ours = nn.sparse_softmax_cross_entropy_with_logits_grad(np.array([0]), x)
    assert exact[0, 0] == pytest.approx(-5.55e-17, rel=1e-3)
    assert np.all(ulps_apart(ours, exact, np.float64) <= 1)
    # A deliberate difference: TF's kernel returns softmax - 1, which cancels to 0.
    from course_lib.tf_setup import import_tensorflow

    tf = import_tensorflow()
    xv = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xv)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits([0], xv)
    assert tape.gradient(loss, xv).numpy()[0, 0] == 0.0


def test_soft_labels_keep_the_tail_too():
    x = np.array([[37.43, 0.0]])
    _, ours = nn.softmax_cross_entropy_with_logits_value_and_grad(np.array([[0.5, 0.5]]), x)
    assert ours[0, 0] == 0.5 - 2.0**-54
    assert np.all(ulps_apart(ours, exact_gradient(x, np.array([[0.5, 0.5]])), np.float64) <= 1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("path", ["rows", "tiles", "threads"])
def test_sparse_and_dense_match_exact_arithmetic(dtype, path, monkeypatch):
    if path == "tiles":
        monkeypatch.setattr(kernel, "_TILE_BYTES", 8)        # 2 (float32) or 1 classes a tile
    if path == "threads":
        monkeypatch.setattr(kernel, "_THREAD_MIN_BYTES", 0)
    x, top = confident_logits(dtype)
    rng = np.random.default_rng(1)
    y = np.where(rng.random(len(top)) < 0.7, top, rng.integers(0, x.shape[1], len(top)))
    one_hot = np.eye(x.shape[1], dtype=dtype)[y]
    soft = rng.dirichlet(np.ones(x.shape[1]), len(top)).astype(dtype)
    for labels, grad in [
            (one_hot, nn.sparse_softmax_cross_entropy_with_logits_grad(y, x)),
            (one_hot, nn.softmax_cross_entropy_with_logits_value_and_grad(one_hot, x)[1]),
            (soft, nn.softmax_cross_entropy_with_logits_value_and_grad(soft, x)[1])]:
        exact = exact_gradient(x, labels)
        at_top = ulps_apart(grad[np.arange(len(top)), top], exact[np.arange(len(top)), top],
                            dtype)
        # One rounding of a value computed in a wider dtype: 1 ulp, where softmax - 1 is off
        # by up to 100% (it returns 0 or the nearest multiple of ulp(1)). float64 needs a
        # long double wider than float64 for that; where it is not, 2 ulps.
        assert at_top.max() <= tail_ulps(dtype), at_top.max()
        assert ulps_apart(grad, exact, dtype).max() <= 4


def test_rows_without_a_confident_class_are_unchanged():
    """Below 1/2 nothing cancels: the gradient is softmax·Σz - z as before, exactly TF's."""
    x = np.array([[1.0, 0.5, 0.0], [2.0, 2.0, -1.0]])
    y = np.array([0, 1])
    s = np.exp(x - x.max(1, keepdims=True))
    expected = s / s.sum(1, keepdims=True) - np.eye(3)[y]
    np.testing.assert_allclose(nn.sparse_softmax_cross_entropy_with_logits_grad(y, x), expected,
                               rtol=1e-15, atol=1e-17)
