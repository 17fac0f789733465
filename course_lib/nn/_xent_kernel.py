"""The fused softmax cross-entropy kernel: loss and gradient in one pass, blocked and threaded.

``xent_rows(x, y, z, want_grad)`` computes, for 2-D logits ``x`` [N, C] and either class ids
``y`` [N] or dense labels ``z`` [N, C], the loss ``lse·Σz - Σ z·s`` (``s = x - max(x)``) and
the gradient ``softmax(x)·Σz - z`` of ``softmax_cross_entropy.py`` (at the top class of a row
whose softmax there exceeds 1/2, recomputed from the other entries in a wider dtype, where
``softmax - z`` would cancel: ``_softmax_tail``). What it optimises is
memory traffic: the logits are read once, a block at a time, and while a block is in the CPU
cache five passes run over it (max, subtract, exp, sum, scale), in place in the gradient: no
one-hot, no temporary of the logits' size. Rows wider than ``_TILE_BYTES`` are cut into column
tiles whose maxima and sums are combined online; large inputs are split between two threads.
How it was measured: ``benchmarks/bench_xent.py`` (``make bench``) times it against TF's
graph-mode and XLA ops in one process; ``tests/test_fused.py`` runs every path against TF.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from course_lib._checks import compute_dtype

# ---------------------------------------------------------------- blocking and threads
# Rows of up to _TILE_BYTES are processed a block of whole rows (about _ROW_BLOCK_BYTES) at a
# time; wider rows are cut into column tiles of about _TILE_BYTES, combined with an online
# max and sum. While the five passes (max, subtract, exp, sum, scale) run over a block it is
# in cache, so main memory sees about one read of the logits and one write of the gradient.
# Sizes measured on the course VM (2 MiB L2, large L3): smaller blocks were slower, because
# every ufunc call releases and retakes the GIL, and with two threads each hand-over costs
# more than a short call saves.
_TILE_BYTES = 1 << 20
_ROW_BLOCK_BYTES = 1 << 22
# Two Python threads share the work once the logits reach this size (NumPy releases the
# GIL inside its ufunc loops); below it, handing work to a thread costs more than it saves.
_THREAD_MIN_BYTES = 8 << 20
_PIECES_PER_THREAD = 2
_MAX_THREADS = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else os.cpu_count() or 1)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _thread_pool() -> ThreadPoolExecutor:
    """The module's worker threads, created on first use (the caller's thread is the other one)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_MAX_THREADS - 1, thread_name_prefix="course_lib.nn")
        return _pool


def _forget_pool() -> None:
    """A forked child inherits the pool object but not its threads: start a fresh one there."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def split_work(length: int, nbytes: int, work: Callable[[slice], None]) -> None:
    """Call ``work`` on contiguous ranges that cover ``range(length)``, on up to two threads.

    Small data (``nbytes < _THREAD_MIN_BYTES``) is one plain call. Large data is cut into
    ``_PIECES_PER_THREAD`` ranges per thread that the caller's thread and a pool thread take
    in turn, so that when another process takes one core, the other thread does more of the
    work instead of waiting. The ranges write disjoint parts of the outputs, so only handing
    them out takes a lock.
    """
    threads = min(_MAX_THREADS, length) if nbytes >= _THREAD_MIN_BYTES else 1
    if threads <= 1:
        work(slice(0, length))
        return
    pieces = min(length, threads * _PIECES_PER_THREAD)
    ranges = iter([slice(length * i // pieces, length * (i + 1) // pieces)
                   for i in range(pieces)])
    lock = threading.Lock()

    def take_ranges() -> None:
        while True:
            with lock:
                part = next(ranges, None)
            if part is None:
                return
            try:
                work(part)
            except BaseException:
                with lock:
                    for _ in ranges:                  # hand out no more work, then report
                        pass
                raise

    futures = [_thread_pool().submit(take_ranges) for _ in range(threads - 1)]
    try:
        take_ranges()
    finally:
        wait(futures)  # never return (or raise) while a worker still writes the outputs
    for future in futures:
        future.result()  # re-raise a worker's exception


def _column_tiles(num_classes: int, itemsize: int) -> tuple[int, list[slice]]:
    """``(rows per block, column tiles of a row)``: whole rows per block, or tiles of one row."""
    row_bytes = max(num_classes * itemsize, 1)
    if row_bytes <= _TILE_BYTES:
        return max(1, _ROW_BLOCK_BYTES // row_bytes), [slice(0, num_classes)]
    num_tiles = -(-row_bytes // _TILE_BYTES)
    width = -(-num_classes // num_tiles)
    return 1, [slice(start, min(start + width, num_classes))
               for start in range(0, num_classes, width)]


def ufunc_buffer_size(num_classes: int) -> int:
    """NumPy's ufunc buffer size (``np.setbufsize``) for rows of ``num_classes`` entries.

    To broadcast a per-row value over rows shorter than its 8192-element buffer
    (``x - m[:, None]``, ``g *= scale[:, None]``), NumPy copies several rows into the buffer
    first. A buffer no longer than one row avoids the copies: 10-20% faster at 1000 classes,
    measured slower below ~500 classes, no change from 8192 classes up.
    """
    return min(8192, num_classes // 16 * 16) if num_classes >= 512 else np.getbufsize()


# ---------------------------------------------------------------- the fused kernel
def _xent_block(x: np.ndarray, g: np.ndarray, tiles: list[slice], y: np.ndarray | None,
                z: np.ndarray | None, want_grad: bool = True) -> np.ndarray:
    """Loss of each row of the block ``x`` [r, C]; ``g`` [r, C] is overwritten with d loss/dx.

    Exactly one of ``y`` (class ids, sparse) and ``z`` (dense labels) is given. ``g`` has the
    compute dtype (float32 for float16 logits). Each column tile t is shifted by its own max
    ``m_t``; the row's ``M = max_t m_t`` and ``Σ_k exp(x_k - M)`` follow from
    ``exp(x_k - M) = exp(x_k - m_t)·exp(m_t - M)``. With one tile (rows of up to _TILE_BYTES)
    ``m_t = M`` and every factor ``exp(m_t - M)`` is exactly 1: TF's formula, unchanged.
    """
    dtype = g.dtype
    lowest = np.finfo(dtype).min
    shape = (len(tiles), len(x))
    tile_max, tile_sum = np.empty(shape, dtype), np.empty(shape, dtype)
    if z is not None:
        tile_zs, tile_zsum = np.empty(shape, dtype), np.empty(shape, dtype)
    for t, cols in enumerate(tiles):
        xt, gt = x[:, cols], g[:, cols]
        # m_t = max(x over the tile), at least the lowest finite number so that a tile of
        # -inf logits contributes exp(-inf) = 0 (not exp(-inf - -inf) = NaN)
        xt.max(axis=1, out=tile_max[t], initial=lowest)
        np.subtract(xt, tile_max[t][:, None], out=gt)      # g = x - m_t   (= s when one tile)
        if z is not None:
            zt = z[:, cols]
            np.vecdot(zt, gt, out=tile_zs[t])               # Σ_tile z·(x - m_t)
            zt.sum(axis=1, out=tile_zsum[t])                # Σ_tile z
        np.exp(gt, out=gt)                                  # g = exp(x - m_t), in (0, 1]
        gt.sum(axis=1, out=tile_sum[t])                     # Σ_tile exp(x - m_t)

    row_max = tile_max.max(axis=0)                          # M = max(x)
    rescale = np.exp(tile_max - row_max)                    # exp(m_t - M), 1 for a single tile
    total = np.sum(tile_sum * rescale, axis=0)              # Σ_k exp(s_k),  s = x - M
    lse = np.log(total)                                     # lse = log Σ_k exp(s_k)
    if z is None:
        s_y = x[np.arange(len(x)), y] - row_max             # s_y = x_y - M
        loss = lse - s_y                                    # loss = lse - s_y   (TF's form)
        label_mass = 1
    else:
        label_mass = tile_zsum.sum(axis=0)                  # Σ_k z_k (1 for proper labels)
        # Σ z·s = Σ_t [Σ_tile z·(x - m_t) + (m_t - M)·Σ_tile z]
        z_dot_s = np.sum(tile_zs + (tile_max - row_max) * tile_zsum, axis=0)
        # Σ_j z_j (lse - s_j) = lse·Σz - Σ z·s: two non-negative terms (lse >= 0, s <= 0),
        # and for a one-hot row exactly lse - s_y, the sparse loss
        loss = lse * label_mass - z_dot_s
    if not want_grad:
        return loss                                         # forward only: g was scratch
    scale = rescale * (label_mass / total)                  # exp(m_t - M)·Σz / Σ_k exp(s_k)
    for t, cols in enumerate(tiles):
        gt = g[:, cols]
        gt *= scale[t][:, None]                             # g = softmax(x)·Σz
        if z is not None:
            gt -= z[:, cols]                                # g = softmax(x)·Σz - z
    rows = np.arange(len(x))
    if z is None:
        g[rows, y] -= 1                                     # g = softmax(x) - onehot(y)
    # Rows whose largest softmax s_j exceeds 1/2 (Σ_k exp(s_k) < 2, as exp(s_j) = 1): there
    # softmax·Σz - z cancels at j, and the entry is recomputed from the other entries.
    rows = np.flatnonzero((total >= 1) & (total < 2))
    if len(rows):
        j, rest = _softmax_tail(x, row_max, rows)           # rest = Σ_{k≠j} s_k, in wide
        wide = rest.dtype
        z_j = (y[rows] == j).astype(wide) if z is None else z[rows, j].astype(wide)
        mass = 1 if z is None else z[rows].astype(wide).sum(axis=1)
        # g_j = s_j·Σ_{k≠j} z_k - z_j·Σ_{k≠j} s_k = Σ_{k≠j} z_k - Σz·Σ_{k≠j} s_k, since
        # s_j = 1 - Σ_{k≠j} s_k: summed from the other entries, never subtracted from 1;
        # computed in the wider dtype and rounded once into g.
        g[rows, j] = (mass - z_j) - mass * rest
    return loss


def _softmax_tail(x: np.ndarray, row_max: np.ndarray,
                  rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(j, Σ_{k≠j} softmax(x)_k)`` for each of ``rows``, ``j`` the column of the row's max.

    Only for confident rows (softmax at j above 1/2), where ``1 - s_j`` would cancel. Computed
    from the logits in a wider dtype (float64 for float16/32 logits, ``np.longdouble`` for
    float64 where it is wider, as on x86-64 and aarch64 Linux), so that the one rounding to the
    gradient's dtype is the only one that counts: within 1 ulp of exact arithmetic. The sum
    of the other entries is summed from them (the max entry set to 0), not taken as
    ``total - 1``, which keeps none of the digits below ulp(1). Such rows are few in a batch
    of random logits; ``benchmarks/bench_xent.py`` times a batch where every row is confident
    (a trained model), where this costs most (``np.longdouble``'s ``exp`` is many times slower
    than float64's). Rows go a few at a time, so the wide copy stays small.
    """
    wide = np.float64 if np.dtype(x.dtype).itemsize < 8 else np.longdouble
    j = np.empty(len(rows), np.intp)
    rest = np.empty(len(rows), wide)
    step = max(1, _ROW_BLOCK_BYTES // max(x.shape[1] * np.dtype(wide).itemsize, 1))
    for start in range(0, len(rows), step):
        part = slice(start, start + step)
        these = rows[part]
        # s = x - M in the wide dtype (exact there): a wide copy of these rows
        xr = np.subtract(x[these], row_max[these][:, None], dtype=wide)
        np.exp(xr, out=xr)                                  # exp(s), exactly 1 at j
        picked = np.arange(len(xr))
        jr = xr.argmax(axis=1)
        xr[picked, jr] = 0
        others = xr.sum(axis=1)                             # Σ_{k≠j} exp(s_k)
        j[part], rest[part] = jr, others / (1 + others)     # Σ_{k≠j} s_k
    return j, rest


def xent_rows(x: np.ndarray, y: np.ndarray | None, z: np.ndarray | None,
              want_grad: bool, out: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray | None]:
    """``(loss [N], grad [N, C] or None)`` for 2-D logits ``x`` and labels ``y`` [N] or ``z``.

    The gradient is ``out`` when given (a checked [N, C] buffer of the logits' dtype, reused
    across calls: no page faults for a fresh allocation), else allocated once, in the logits'
    dtype; the kernel works in it in place. float16 logits are computed block by block in a
    float32 scratch (as TF computes them in float32) and rounded once into the float16
    gradient. Nothing of size N·C is allocated besides the gradient.
    """
    num_rows, num_classes = x.shape
    dtype = compute_dtype(x.dtype)
    loss = np.zeros(num_rows, dtype)
    grad = out if out is not None else np.empty(x.shape, x.dtype) if want_grad else None
    if x.size == 0:
        return loss, grad
    in_place = grad is not None and grad.dtype == dtype
    block_rows, tiles = _column_tiles(num_classes, dtype.itemsize)
    bufsize = ufunc_buffer_size(num_classes)

    def run(chunk: slice) -> None:
        scratch = None if in_place else np.empty(
            (min(block_rows, chunk.stop - chunk.start), num_classes), dtype)
        with np.errstate():                                 # restores the buffer size on exit
            np.setbufsize(bufsize)
            for start in range(chunk.start, chunk.stop, block_rows):
                rows = slice(start, min(start + block_rows, chunk.stop))
                g = grad[rows] if in_place else scratch[: rows.stop - rows.start]
                loss[rows] = _xent_block(x[rows], g, tiles, None if y is None else y[rows],
                                         None if z is None else z[rows], want_grad)
                if grad is not None and not in_place:
                    grad[rows] = g                          # float16: round the result once

    split_work(num_rows, x.size * dtype.itemsize, run)
    return loss, grad
