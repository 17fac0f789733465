"""course_lib.extreme: the Zipf task, its optimal layer, full-softmax evaluation and sparse SGD."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from course_lib import extreme, nn


def small_task(num_classes=40, dim=6, noise=0.8, seed=0):
    return extreme.make_zipf_task(num_classes, dim, noise=noise, seed=seed)


# ---------------------------------------------------------------- zipf_probabilities
@pytest.mark.parametrize("exponent", [0.0, 0.7, 1.0, 1.5])
def test_zipf_probabilities_follow_the_power_law(exponent):
    p = extreme.zipf_probabilities(100, exponent)
    assert p.dtype == np.float64 and p.shape == (100,)
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-12)
    k = np.arange(100)
    np.testing.assert_allclose(p[0] / p, (k + 1.0) ** exponent, rtol=1e-12)   # p(k) ∝ (k+1)^-s


@pytest.mark.parametrize("args", [(0,), (2.5,), (True,), (10, -1.0), (10, np.nan)])
def test_zipf_probabilities_reject_bad_arguments(args):
    with pytest.raises(ValueError, match=r"num_classes|exponent"):
        extreme.zipf_probabilities(*args)


# ---------------------------------------------------------------- the task
def test_task_is_deterministic_and_shaped():
    task = small_task()
    again = small_task()
    np.testing.assert_array_equal(task.centers, again.centers)
    assert task.centers.shape == (40, 6) and task.centers.dtype == np.float32
    assert task.num_classes == 40
    x, y = task.sample(50, seed=3)
    assert x.shape == (50, 6) and x.dtype == np.float32 and y.shape == (50,)
    assert y.dtype == np.int64 and y.min() >= 0 and y.max() < 40
    x2, y2 = task.sample(50, seed=3)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(small_task(seed=1).centers, task.centers)


def test_task_labels_follow_zipf_and_features_centre_on_the_class():
    task = small_task(num_classes=20, noise=0.5)
    x, y = task.sample(100_000, seed=0)
    freq = np.bincount(y, minlength=20) / len(y)
    np.testing.assert_allclose(freq, task.class_probs, atol=4e-3)
    offsets = x - task.centers[y]
    np.testing.assert_allclose(offsets.mean(axis=0), 0.0, atol=1e-2)
    np.testing.assert_allclose(offsets.std(axis=0), 0.5, rtol=1e-2)


def test_optimal_layer_is_the_bayes_posterior():
    """softmax(x·Wᵀ + b) = p(y) N(x; c_y, σ²I) / Σ_k p(k) N(x; c_k, σ²I)."""
    task = small_task()
    x, _ = task.sample(30, seed=1)
    w, b = task.optimal_layer()
    assert w.shape == (40, 6) and b.shape == (40,)
    sq_dist = ((x[:, None, :].astype(np.float64) - task.centers[None]) ** 2).sum(-1)
    log_joint = np.log(task.class_probs) - sq_dist / (2 * task.noise**2)
    posterior = np.exp(log_joint - nn.logsumexp(log_joint, axis=1, keepdims=True))
    np.testing.assert_allclose(nn.softmax(x.astype(np.float64) @ w.T.astype(np.float64) + b),
                               posterior, atol=1e-5)


def test_make_zipf_task_rejects_bad_arguments():
    with pytest.raises(ValueError, match="noise"):
        extreme.make_zipf_task(10, 3, noise=0.0)
    with pytest.raises(ValueError, match="dim"):
        extreme.make_zipf_task(10, 0)
    with pytest.raises(ValueError, match="num_examples"):
        small_task().sample(0, seed=0)


# ---------------------------------------------------------------- full_softmax_loss
def test_full_softmax_loss_is_the_mean_sparse_softmax_ce_in_blocks():
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(30, 5)), rng.normal(size=30)
    x, y = rng.normal(size=(600, 5)), rng.integers(0, 30, 600)     # > 256 rows: 3 blocks
    expected = nn.sparse_softmax_cross_entropy_with_logits(y, x @ w.T + b).mean()
    np.testing.assert_allclose(extreme.full_softmax_loss(w, b, y, x), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="weights"):
        extreme.full_softmax_loss(w.T, b, y, x)
    with pytest.raises(ValueError, match="labels"):
        extreme.full_softmax_loss(w, b, y[:5], x)


# ---------------------------------------------------------------- train_output_layer
def train(loss, steps=20, **kwargs):
    task = small_task()
    x, y = task.sample(500, seed=1)
    kwargs.setdefault("num_sampled", None if loss == "softmax" else 8)
    return x, y, extreme.train_output_layer(loss, x, y, task.num_classes, steps=steps,
                                            batch_size=16, learning_rate=0.5, seed=2, **kwargs)


@pytest.mark.parametrize("loss", ["softmax", "sampled_softmax", "nce"])
def test_training_is_deterministic_and_reduces_the_full_loss(loss):
    x, y, run = train(loss, steps=60, eval_every=20, eval_features=None, eval_labels=None)
    _, _, again = train(loss, steps=60, eval_every=20)
    np.testing.assert_array_equal(run.weights, again.weights)
    np.testing.assert_array_equal(run.biases, again.biases)
    np.testing.assert_array_equal(run.steps, [0, 20, 40, 60])
    assert np.isnan(run.eval_loss).all()
    start = extreme.full_softmax_loss(np.zeros_like(run.weights), run.biases * 0, y, x)
    np.testing.assert_allclose(start, np.log(40), rtol=1e-6)
    assert extreme.full_softmax_loss(run.weights, run.biases, y, x) < 0.8 * start


def test_first_sampled_step_is_sgd_with_the_sparse_gradient_applied_by_add_at():
    x, y, run = train("sampled_softmax", steps=1)
    rng = np.random.default_rng(2)                    # the trainer's draws: batch, sampler seed
    batch = rng.integers(0, 500, 16)
    sampler_seed = int(rng.integers(2**32))
    w = np.zeros((40, 6), np.float32)
    b = np.full(40, -np.log(40), np.float32)
    (w_idx, w_val), (b_idx, b_val), _ = nn.sampled_softmax_loss_grad(
        w, b, y[batch][:, None], x[batch], 8, 40, seed=sampler_seed)
    np.add.at(w, w_idx, -0.5 / 16 * w_val)
    np.add.at(b, b_idx, -0.5 / 16 * b_val)
    np.testing.assert_allclose(run.weights, w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(run.biases, b, rtol=1e-6)
    moved = np.flatnonzero(np.any(run.weights != 0, axis=1))
    assert set(moved) <= set(w_idx.tolist()) and len(moved) < 40    # sparse: other rows stay
    values = nn.sampled_softmax_loss(np.zeros((40, 6), np.float32),
                                     np.full(40, -np.log(40), np.float32), y[batch][:, None],
                                     x[batch], 8, 40, seed=sampler_seed)
    np.testing.assert_allclose(run.train_loss[0], values.mean(), rtol=1e-6)
    np.testing.assert_allclose(run.batch_full_loss[0], np.log(40), rtol=1e-6)


def test_softmax_training_is_dense_gradient_descent_and_ignores_a_bias_shift():
    x, y, run = train("softmax", steps=3)
    rng = np.random.default_rng(2)
    w, b = np.zeros((40, 6)), np.zeros(40)
    for _ in range(3):
        batch = rng.integers(0, 500, 16)
        rng.integers(2**32)
        g = nn.sparse_softmax_cross_entropy_with_logits_grad(y[batch], x[batch] @ w.T + b)
        w, b = w - 0.5 / 16 * g.T @ x[batch], b - 0.5 / 16 * g.sum(axis=0)
    np.testing.assert_allclose(run.weights, w, atol=1e-6)
    np.testing.assert_allclose(run.biases - run.biases.mean(), b - b.mean(), atol=1e-6)
    _, _, shifted = train("softmax", steps=3, initial_bias=0.0)
    np.testing.assert_allclose(shifted.weights, run.weights, atol=1e-6)


def test_evaluation_is_recorded_every_eval_every_steps_and_after_the_last():
    task = small_task()
    xe, ye = task.sample(100, seed=5)
    _, _, run = train("nce", steps=25, eval_every=10, eval_features=xe, eval_labels=ye)
    np.testing.assert_array_equal(run.steps, [0, 10, 20, 25])
    np.testing.assert_allclose(run.eval_loss[0], np.log(40), rtol=1e-6)
    np.testing.assert_allclose(run.eval_loss[-1],
                               extreme.full_softmax_loss(run.weights, run.biases, ye, xe))
    assert run.train_loss.shape == run.batch_full_loss.shape == (4,)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"loss": "hinge"}, "loss"),
    ({"steps": 0}, "steps"),
    ({"batch_size": 2.0}, "batch_size"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"num_sampled": None}, "num_sampled"),
    ({"eval_features": np.zeros((3, 6), np.float32)}, "eval_labels"),
])
def test_train_output_layer_rejects_bad_arguments(kwargs, match):
    task = small_task()
    x, y = task.sample(50, seed=0)
    args = {"loss": "nce", "steps": 2, "batch_size": 4, "learning_rate": 0.1, "num_sampled": 3}
    args.update(kwargs)
    loss = args.pop("loss")
    with pytest.raises(ValueError, match=match):
        extreme.train_output_layer(loss, x, y, 40, **args)


def test_training_is_reproducible_across_processes_and_imports_numpy_only():
    """The lessons print losses of these runs: a fresh interpreter must get the same bits."""
    code = ("import sys; from course_lib import extreme\n"
            "task = extreme.make_zipf_task(30, 4, seed=1); x, y = task.sample(200, seed=2)\n"
            "run = extreme.train_output_layer('nce', x, y, 30, steps=10, batch_size=8,\n"
            "                                 learning_rate=0.5, num_sampled=5, seed=3)\n"
            "assert 'tensorflow' not in sys.modules\n"
            "print(run.weights.tobytes().hex() + run.biases.tobytes().hex())")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and runs[0]
