"""course_lib.custom_loop: the hand-written loop takes model.fit's steps; on replicas the loss
must be a share of the global mean (expected values come from model.fit itself)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from course_lib.custom_loop import train_epoch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 3, size=32)


def linear_model(keras):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum"])
def test_one_device_loop_takes_the_steps_of_fit(tf, data, reduction):
    import keras

    features, labels = data
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=reduction)
    fitted = linear_model(keras)
    fitted.compile(optimizer=keras.optimizers.SGD(0.05), loss=loss)
    history = fitted.fit(features, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
    looped = linear_model(keras)
    losses = train_epoch(looped, keras.optimizers.SGD(0.05), loss, features, labels,
                         batch_size=8)
    for ours, theirs in zip(looped.get_weights(), fitted.get_weights(), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    assert losses.shape == (4,)
    np.testing.assert_allclose(losses.mean(), history.history["loss"][0], rtol=1e-6)


def test_a_hand_written_sum_is_the_sum_reduction(tf, data):
    import keras

    features, labels = data
    fitted = linear_model(keras)
    fitted.compile(optimizer=keras.optimizers.SGD(0.01), loss=keras.losses.
                   SparseCategoricalCrossentropy(from_logits=True, reduction="sum"))
    fitted.fit(features, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)
    looped = linear_model(keras)
    train_epoch(looped, keras.optimizers.SGD(0.01), lambda y, z: tf.reduce_sum(
        tf.nn.sparse_softmax_cross_entropy_with_logits(y, z)), features, labels, batch_size=8)
    np.testing.assert_allclose(looped.get_weights()[0], fitted.get_weights()[0], rtol=1e-6,
                               atol=1e-7)


@pytest.mark.parametrize("kwargs, error", [
    ({"batch_size": 0}, "batch_size: expected a positive int, got 0"),
    ({"batch_size": 2.0}, "batch_size: expected a positive int, got 2.0"),
])
def test_bad_batch_size(tf, data, kwargs, error):
    with pytest.raises(ValueError, match=error):
        train_epoch(None, None, None, *data, **kwargs)


def test_features_and_labels_must_have_the_same_length(tf, data):
    with pytest.raises(ValueError, match=r"features and labels: .* got 32 and 31"):
        train_epoch(None, None, None, data[0], data[1][:31], batch_size=8)


@pytest.mark.slow
def test_on_two_replicas_a_per_replica_mean_doubles_the_step():
    """Runs in a fresh process: the two logical CPUs must exist before TF's first op."""
    code = textwrap.dedent("""
        import json
        import numpy as np
        from course_lib.custom_loop import train_epoch
        from course_lib.tf_setup import import_keras, import_tensorflow
        tf, keras = import_tensorflow(logical_cpus=2), import_keras()
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(8, 4)).astype(np.float32), rng.integers(0, 3, size=8)
        per_example = lambda y, z: tf.nn.sparse_softmax_cross_entropy_with_logits(y, z)
        losses = {
            "reduce_mean": lambda y, z: tf.reduce_mean(per_example(y, z)),
            "compute_average_loss": lambda y, z: tf.nn.compute_average_loss(
                per_example(y, z), global_batch_size=8),
            "keras_default": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        }
        def model():
            keras.utils.set_random_seed(0)
            return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        start = model().get_weights()[0]
        reference = model()
        reference.compile(optimizer=keras.optimizers.SGD(0.1), loss=losses["keras_default"])
        fit_loss = reference.fit(x, y, batch_size=8, verbose=0).history["loss"][0]
        fit_step = reference.get_weights()[0] - start
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        out = {"fit_loss": fit_loss}
        for name, loss_fn in losses.items():
            with strategy.scope():
                m, opt = model(), keras.optimizers.SGD(0.1)
            loss = train_epoch(m, opt, loss_fn, x, y, batch_size=8, strategy=strategy)
            ratio = (m.get_weights()[0] - start) / fit_step
            out[name] = [float(ratio.min()), float(ratio.max()), float(loss[0])]
        print(json.dumps(out))
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    np.testing.assert_allclose(out["reduce_mean"], [2, 2, 2 * out["fit_loss"]], rtol=1e-5)
    for right in ("compute_average_loss", "keras_default"):
        np.testing.assert_allclose(out[right], [1, 1, out["fit_loss"]], rtol=1e-5)
