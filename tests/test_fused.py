"""The fused ``*_value_and_grad`` fast paths: TF's values, every code path, bounded memory.

Paths: blocks of whole rows (rows up to ``_TILE_BYTES``), column tiles with an online max
and sum (wider rows; ``_TILE_BYTES`` is also lowered here to make many tiles), two threads
(inputs of ``_THREAD_MIN_BYTES`` or more; lowered here so that small inputs take it),
float16 computed in a float32 scratch. Memory is deterministic, so
the peak is asserted; time is not, so ``benchmarks/bench_xent.py`` measures it instead.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
import tracemalloc

import numpy as np
import pytest
from tolerances import assert_close

import course_lib.nn._xent_kernel as kernel_module
import course_lib.nn.sigmoid_cross_entropy as sigmoid_module
from course_lib import nn

# [2, 300_000] float32 rows are 1.2 MB: two column tiles of 1 MiB at most, or 19 of 64 KiB.
SHAPES = [(7, 5), (300, 1000), (2, 300_000)]
SMALL_TILES = 1 << 16
DTYPES = [np.float32, np.float64]


def logits(shape, scale, dtype, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)


def soft_labels(shape, dtype, seed=1):
    raw = np.random.default_rng(seed).gamma(0.5, size=shape) + 1e-3
    return (raw / raw.sum(axis=-1, keepdims=True)).astype(dtype)


def class_ids(shape, seed=2):
    return np.random.default_rng(seed).integers(0, shape[-1], shape[:-1])


def tf_value_and_grad(tf, op, labels, x):
    """``(op(labels, x), d Σop / dx)`` from ``tf.GradientTape``."""
    xv = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xv)
        loss = op(labels, xv)
        total = tf.reduce_sum(loss)
    return loss.numpy(), tape.gradient(total, xv).numpy()


@pytest.fixture
def threaded(monkeypatch):
    """Send every input, however small, through the two-thread path."""
    monkeypatch.setattr(kernel_module, "_THREAD_MIN_BYTES", 0)


@pytest.fixture(params=[None, SMALL_TILES], ids=["default_tiles", "64KiB_tiles"])
def tile_bytes(request, monkeypatch):
    """Run a test with the module's tile size and again with 64 KiB tiles (many per row)."""
    if request.param is not None:
        monkeypatch.setattr(kernel_module, "_TILE_BYTES", request.param)
    return kernel_module._TILE_BYTES


def test_wide_rows_take_the_column_tiled_path(monkeypatch):
    block_rows, tiles = kernel_module._column_tiles(300_000, 4)
    assert block_rows == 1 and len(tiles) == 2
    assert kernel_module._column_tiles(1000, 4) == (kernel_module._ROW_BLOCK_BYTES // 4000,
                                                     [slice(0, 1000)])
    monkeypatch.setattr(kernel_module, "_TILE_BYTES", SMALL_TILES)
    block_rows, tiles = kernel_module._column_tiles(300_000, 4)
    assert block_rows == 1 and len(tiles) == 19
    assert tiles[0].start == 0 and tiles[-1].stop == 300_000
    assert all(a.stop == b.start for a, b in itertools.pairwise(tiles))


# ---------------------------------------------------------------- equal to TF
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 10.0, 1e4])
def test_sparse_fused_matches_tf(tf, tile_bytes, dtype, shape, scale):
    x, y = logits(shape, scale, dtype), class_ids(shape)
    loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    tf_loss, tf_grad = tf_value_and_grad(tf, tf.nn.sparse_softmax_cross_entropy_with_logits, y, x)
    assert (loss.dtype, grad.dtype) == (dtype, dtype)
    assert_close(loss, tf_loss, dtype, scale)
    assert_close(grad, tf_grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("scale", [1.0, 10.0, 1e4])
def test_dense_fused_matches_tf(tf, tile_bytes, dtype, shape, scale):
    x, z = logits(shape, scale, dtype), soft_labels(shape, dtype)
    loss, grad = nn.softmax_cross_entropy_with_logits_value_and_grad(z, x)
    tf_loss, tf_grad = tf_value_and_grad(tf, tf.nn.softmax_cross_entropy_with_logits, z, x)
    assert (loss.dtype, grad.dtype) == (dtype, dtype)
    assert_close(loss, tf_loss, dtype, scale, slack=4)
    assert_close(grad, tf_grad, dtype, slack=4)


@pytest.mark.parametrize("shape", SHAPES)
def test_dense_fused_with_one_hot_labels_is_the_sparse_loss_exactly(shape):
    x, y = logits(shape, 10.0, np.float32), class_ids(shape)
    one_hot = np.zeros(shape, np.float32)
    one_hot[np.arange(shape[0]), y] = 1
    sparse = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    dense = nn.softmax_cross_entropy_with_logits_value_and_grad(one_hot, x)
    np.testing.assert_array_equal(dense[0], sparse[0])
    assert_close(dense[1], sparse[1], np.float32)


def test_fused_losses_keep_tfs_shifted_form():
    """``lse - s_y`` with ``s = x - max(x)``: ln 3 exactly at -1e4 (lse(x) - x_y: 1.0986328)."""
    x = np.float32([[-1e4, -1e4, -1e4], [1e4, -1e4, 0]])
    y = np.array([0, 1])
    loss, _ = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    assert loss[0] == np.float32(math.log(3)) and loss[1] == 20000
    one_hot = np.eye(3, dtype=np.float32)[y]
    dense, _ = nn.softmax_cross_entropy_with_logits_value_and_grad(one_hot, x)
    np.testing.assert_array_equal(dense, loss)
    # The same row, 300_000 wide (column tiles): ln(300_000), to float32 rounding.
    wide = np.full((1, 300_000), -1e4, np.float32)
    wide_loss, wide_grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad([0], wide)
    assert_close(wide_loss, [math.log(300_000)], np.float32)
    assert_close(wide_grad[0, 1:], np.full(299_999, 1 / 300_000), np.float32)


def test_tiles_of_minus_infinity_contribute_zero_as_in_tf(tf, tile_bytes):
    """A tile whose logits are all -inf must not turn the row's max or sum into NaN."""
    x = logits((2, 300_000), 3.0, np.float32)
    x[:, :200_000] = -np.inf                    # the first tiles hold only -inf
    y = np.array([250_000, 299_999])
    loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    tf_loss, tf_grad = tf_value_and_grad(tf, tf.nn.sparse_softmax_cross_entropy_with_logits, y, x)
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    assert_close(loss, tf_loss, np.float32, 3)
    assert_close(grad, tf_grad, np.float32)


def test_rows_of_minus_infinity_give_nan_as_in_tf(tf):
    x = np.full((2, 3), -np.inf, np.float32)
    x[1] = [0, 1, 2]
    with np.errstate(all="ignore"):
        loss, _ = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad([0, 0], x)
    tf_loss = tf.nn.sparse_softmax_cross_entropy_with_logits([0, 0], x).numpy()
    assert np.isnan(loss[0]) and np.isnan(tf_loss[0])
    assert_close(loss[1], tf_loss[1], np.float32)


@pytest.mark.parametrize("shape", [(4, 5), (2, 300_000)])
def test_float16_is_computed_in_float32_and_rounded_once(tf, shape):
    x, y = logits(shape, 3.0, np.float16), class_ids(shape)
    loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    ref_loss, ref_grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(
        y, x.astype(np.float32))
    assert (loss.dtype, grad.dtype) == (np.float16, np.float16)
    np.testing.assert_array_equal(loss, ref_loss.astype(np.float16))
    np.testing.assert_array_equal(grad, ref_grad.astype(np.float16))
    tf_loss, tf_grad = tf_value_and_grad(tf, tf.nn.sparse_softmax_cross_entropy_with_logits, y, x)
    np.testing.assert_allclose(loss, tf_loss, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(grad, tf_grad, rtol=1e-3, atol=1e-3)

    z = soft_labels(shape, np.float16)
    dense, dense_grad = nn.softmax_cross_entropy_with_logits_value_and_grad(z, x)
    ref_dense, ref_dense_grad = nn.softmax_cross_entropy_with_logits_value_and_grad(
        z.astype(np.float32), x.astype(np.float32))
    assert (dense.dtype, dense_grad.dtype) == (np.float16, np.float16)
    np.testing.assert_array_equal(dense, ref_dense.astype(np.float16))
    np.testing.assert_array_equal(dense_grad, ref_dense_grad.astype(np.float16))


@pytest.mark.parametrize("axis", [0, 1])
def test_dense_fused_any_axis_and_broadcast_labels(tf, axis):
    shape = (300_000, 2) if axis == 0 else (2, 300_000)
    x = logits(shape, 5.0, np.float32)
    z = soft_labels((1, 300_000), np.float32)
    z = z.T if axis == 0 else z                     # [C, 1] / [1, C]: broadcast over rows
    loss, grad = nn.softmax_cross_entropy_with_logits_value_and_grad(z, x, axis=axis)
    tf_loss, tf_grad = tf_value_and_grad(
        tf, lambda a, b: tf.nn.softmax_cross_entropy_with_logits(a, b, axis=axis), z, x)
    assert_close(loss, tf_loss, np.float32, 5, slack=4)
    assert_close(grad, tf_grad, np.float32, slack=4)


# ---------------------------------------------------------------- threads
@pytest.mark.parametrize("shape", SHAPES)
def test_threaded_softmax_paths_give_identical_results(threaded, tile_bytes, shape):
    x, y, z = logits(shape, 10.0, np.float32), class_ids(shape), soft_labels(shape, np.float32)
    threaded_results = [nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x),
                        nn.softmax_cross_entropy_with_logits_value_and_grad(z, x)]
    kernel_module._THREAD_MIN_BYTES = 1 << 62      # the fixture restores it afterwards
    single_results = [nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x),
                      nn.softmax_cross_entropy_with_logits_value_and_grad(z, x)]
    for (loss, grad), (single_loss, single_grad) in zip(
            threaded_results, single_results, strict=True):
        np.testing.assert_array_equal(loss, single_loss)
        np.testing.assert_array_equal(grad, single_grad)


def test_threaded_path_runs_on_two_threads(threaded, monkeypatch):
    seen = []
    kernel = kernel_module._xent_block

    def spy(*args):
        seen.append(threading.get_ident())
        time.sleep(0.005)          # long enough for the pool thread to start and take a range
        return kernel(*args)

    monkeypatch.setattr(kernel_module, "_xent_block", spy)
    x = logits((64, 1000), 1.0, np.float32)
    nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(class_ids(x.shape), x)
    assert len(set(seen)) == min(2, kernel_module._MAX_THREADS)


def test_a_failing_block_raises_in_the_caller(threaded, monkeypatch):
    def boom(*args):
        raise FloatingPointError("from a block")

    monkeypatch.setattr(kernel_module, "_xent_block", boom)
    x = logits((64, 1000), 1.0, np.float32)
    with pytest.raises(FloatingPointError, match="from a block"):
        nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(class_ids(x.shape), x)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_threaded_path_works_in_a_forked_child(threaded):
    """A child forked after the pool started has the pool object but not its thread."""
    x = logits((64, 1000), 1.0, np.float32)
    y = class_ids(x.shape)
    expected = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
    assert kernel_module._pool is not None
    pid = os.fork()
    if pid == 0:                                   # the child: report by exit status only
        ok = False
        try:
            loss, grad = nn.sparse_softmax_cross_entropy_with_logits_value_and_grad(y, x)
            ok = np.array_equal(loss, expected[0]) and np.array_equal(grad, expected[1])
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung on the thread pool")
    assert os.waitstatus_to_exitcode(done[1]) == 0


# ---------------------------------------------------------------- sigmoid
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7, 5), (300, 1000)])
@pytest.mark.parametrize("scale", [1.0, 10.0, 1e4])
def test_sigmoid_fused_matches_tf(tf, dtype, shape, scale):
    x = logits(shape, scale, dtype)
    z = np.random.default_rng(3).uniform(size=shape).astype(dtype)
    loss, grad = nn.sigmoid_cross_entropy_with_logits_value_and_grad(z, x)
    tf_loss, tf_grad = tf_value_and_grad(tf, tf.nn.sigmoid_cross_entropy_with_logits, z, x)
    assert (loss.dtype, grad.dtype) == (dtype, dtype)
    assert_close(loss, tf_loss, dtype, scale)
    assert_close(grad, tf_grad, dtype)


def test_sigmoid_fused_stays_close_to_the_accurate_loss_and_sigmoid():
    """log(1 + e) for log1p(e) costs at most ~6e-8 absolute; σ(x) keeps its relative accuracy."""
    x = np.concatenate([np.linspace(-120, 120, 100_001), [-1e4, 1e4, 0.0, -0.0]])
    z = np.random.default_rng(4).uniform(size=x.shape)
    for dtype, atol in [(np.float32, 6e-8), (np.float64, 2e-16)]:
        xd, zd = x.astype(dtype), z.astype(dtype)
        loss, _ = nn.sigmoid_cross_entropy_with_logits_value_and_grad(zd, xd)
        accurate = nn.sigmoid_cross_entropy_with_logits(zd, xd)
        np.testing.assert_allclose(loss, accurate, rtol=4 * np.finfo(dtype).eps, atol=atol)
        # z = 0: the gradient is σ(x) itself, relatively accurate down to σ(-120) ≈ 8e-53
        _, sigma = nn.sigmoid_cross_entropy_with_logits_value_and_grad(np.zeros_like(xd), xd)
        np.testing.assert_allclose(sigma, nn.sigmoid(xd), rtol=4 * np.finfo(dtype).eps,
                                   atol=np.finfo(dtype).smallest_normal)
    # x = -100, z = 0: TF flushes the float32 loss to 0; so does log(1 + 3.7e-44).
    loss, _ = nn.sigmoid_cross_entropy_with_logits_value_and_grad(
        np.float32([0, 1]), np.float32([-100, 100]))
    np.testing.assert_array_equal(loss, [0, 0])


def test_sigmoid_fused_float16_and_threads(threaded):
    x = logits((64, 1000), 4.0, np.float16)
    z = np.random.default_rng(5).uniform(size=x.shape).astype(np.float16)
    loss, grad = nn.sigmoid_cross_entropy_with_logits_value_and_grad(z, x)
    ref_loss, ref_grad = nn.sigmoid_cross_entropy_with_logits_value_and_grad(
        z.astype(np.float32), x.astype(np.float32))
    assert (loss.dtype, grad.dtype) == (np.float16, np.float16)
    np.testing.assert_array_equal(loss, ref_loss.astype(np.float16))
    np.testing.assert_array_equal(grad, ref_grad.astype(np.float16))
    kernel_module._THREAD_MIN_BYTES = 1 << 62
    single = nn.sigmoid_cross_entropy_with_logits_value_and_grad(z, x)
    np.testing.assert_array_equal(single[0], loss)
    np.testing.assert_array_equal(single[1], grad)


def test_sigmoid_fused_checks_its_inputs_like_the_others():
    with pytest.raises(ValueError, match="labels"):
        nn.sigmoid_cross_entropy_with_logits_value_and_grad(np.ones(3), np.ones((2, 3)))
    loss, grad = nn.sigmoid_cross_entropy_with_logits_value_and_grad(np.ones((0, 3)),
                                                                     np.ones((0, 3)))
    assert loss.shape == grad.shape == (0, 3)


# ---------------------------------------------------------------- memory
def peak_bytes(fn, *args) -> int:
    """Peak bytes NumPy (and Python) allocated while ``fn(*args)`` ran, outputs included."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn(*args)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(4096, 1000), (8, 300_000)])
@pytest.mark.parametrize("threads", [False, True])
def test_softmax_fused_peak_memory_is_at_most_1_1_times_the_gradient(
        monkeypatch, dtype, shape, threads):
    if threads:
        monkeypatch.setattr(kernel_module, "_THREAD_MIN_BYTES", 0)
    x, y = logits(shape, 2.0, dtype), class_ids(shape)
    one_hot = np.zeros(shape, dtype)
    one_hot[np.arange(shape[0]), y] = 1
    grad_bytes = x.nbytes
    sparse = peak_bytes(nn.sparse_softmax_cross_entropy_with_logits_value_and_grad, y, x)
    dense = peak_bytes(nn.softmax_cross_entropy_with_logits_value_and_grad, one_hot, x)
    assert sparse <= 1.1 * grad_bytes, f"sparse peak {sparse / grad_bytes:.3f}x the gradient"
    assert dense <= 1.1 * grad_bytes, f"dense peak {dense / grad_bytes:.3f}x the gradient"


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_fused_peak_memory_is_its_outputs_plus_at_most_0_1(monkeypatch, dtype):
    monkeypatch.setattr(kernel_module, "_THREAD_MIN_BYTES", 0)
    x = logits((4096, 1000), 3.0, dtype)
    z = (np.random.default_rng(6).uniform(size=x.shape) < 0.01).astype(dtype)
    peak = peak_bytes(nn.sigmoid_cross_entropy_with_logits_value_and_grad, z, x)
    assert peak <= 2.1 * x.nbytes, f"peak {peak / x.nbytes:.3f}x the gradient (loss + grad = 2x)"
    assert sigmoid_module._BLOCK_BYTES <= 0.05 * x.nbytes
