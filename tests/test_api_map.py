"""course_lib.api_map: every row proved by behaviour in the installed TF 2.21 / Keras 3.

For each row the TF 2.21 function (found with ``resolve``) is called on small random input
and compared with the row's course_lib mirror; ``changed`` rows show the change itself (label
gradients, ``partition_strategy``), ``moved``/``removed`` rows show the old name is gone and
the new one works, and the Keras column is built and called. Sampled softmax and NCE are
also checked against course_lib.nn's full losses with every class sampled. The candidate
sampler rows show where each sampler lives in TF 2.21 (only the uniform and log-uniform ones
left tf.nn) and compare the mirror's expected counts with TF's on TF's own draw.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import subprocess
import sys

import numpy as np
import pytest
from tolerances import SLACK, assert_close

from course_lib import api_map, nn
from course_lib.api_map import API_MAP, Status, lookup, mirror, resolve

B, C = 6, 5
SCALE = 3.0  # logits are N(0, SCALE²)
OLD_NAMES = (
    "tf.losses.softmax_cross_entropy", "tf.losses.sparse_softmax_cross_entropy",
    "tf.losses.sigmoid_cross_entropy", "tf.contrib.losses.softmax_cross_entropy",
    "tf.contrib.losses.sigmoid_cross_entropy", "tf.nn.softmax_cross_entropy_with_logits",
    "tf.nn.softmax_cross_entropy_with_logits_v2", "tf.nn.sigmoid_cross_entropy_with_logits",
    "tf.nn.weighted_cross_entropy_with_logits", "tf.nn.sparse_softmax_cross_entropy_with_logits",
    "tf.nn.sampled_softmax_loss", "tf.nn.nce_loss", "tf.nn.log_uniform_candidate_sampler",
    "tf.nn.uniform_candidate_sampler", "tf.nn.fixed_unigram_candidate_sampler",
    "tf.nn.learned_unigram_candidate_sampler", "tf.nn.all_candidate_sampler",
    "tf.losses.log_loss",
)
SAMPLED = ("tf.nn.sampled_softmax_loss", "tf.nn.nce_loss")
SAMPLERS = tuple(name for name in OLD_NAMES if name.endswith("_candidate_sampler"))
DENSE_ROWS = [e for e in API_MAP if e.old_name not in SAMPLED + SAMPLERS]
V1_LOSS_ROWS = [e for e in DENSE_ROWS if e.course_lib.startswith("course_lib.losses.")]
NN_ROWS = [e for e in DENSE_ROWS if e.course_lib.startswith("course_lib.nn.")]


def ids(entries):
    return [e.old_name for e in entries]


def rows(*statuses):
    """The loss rows with these statuses (the sampler rows have their own tests below)."""
    return [e for e in API_MAP if e.status in statuses and e.old_name not in SAMPLERS]


# ---------------------------------------------------------------- inputs per kind of loss
def _kind(entry) -> str:
    """Which inputs the row's functions take, from the mirror's name."""
    name = entry.course_lib.rpartition(".")[2]
    for kind in ("sparse", "weighted", "sigmoid", "softmax", "log_loss"):
        if name.startswith(kind):
            return kind
    raise AssertionError(f"no inputs known for {entry.course_lib}")


def make_inputs(kind: str, dtype, seed: int = 0) -> tuple:
    """Positional arguments (labels first, as in TF 2 and course_lib) for a ``kind`` of loss."""
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((B, C)) * SCALE).astype(dtype)
    if kind == "softmax":
        raw = rng.gamma(0.5, size=(B, C)) + 1e-3
        return (raw / raw.sum(-1, keepdims=True)).astype(dtype), logits
    if kind == "sparse":
        return rng.integers(0, C, B).astype(np.int64), logits
    if kind == "sigmoid":
        return rng.uniform(size=(B, C)).astype(dtype), logits
    if kind == "weighted":
        return rng.uniform(size=(B, C)).astype(dtype), logits, rng.uniform(0.5, 4, C).astype(dtype)
    if kind == "log_loss":
        labels = rng.integers(0, 2, (B, C)).astype(dtype)
        return labels, rng.uniform(0.02, 0.98, (B, C)).astype(dtype)
    raise AssertionError(kind)


def v1_extras(kind: str) -> dict:
    """Weights with zeros (so SUM_BY_NONZERO_WEIGHTS matters) and label smoothing, per loss."""
    per_example = np.array([0.3, 0.0, 0.7, 1.0, 0.0, 2.0], np.float32)
    if kind in ("softmax", "sparse"):
        extras = {"weights": per_example}  # loss shape [B]
    else:
        extras = {"weights": per_example[:, None]}  # loss shape [B, C]: [B, 1], not [B]
    if kind in ("softmax", "sigmoid"):
        extras["label_smoothing"] = 0.2
    return extras


def call_tf(fn, *args, **kwargs) -> np.ndarray:
    return np.asarray(fn(*args, **kwargs))


def tape_grads(tf, fn, labels, logits):
    """(d labels, d logits) of ``reduce_sum(fn(labels, logits))``; an entry is None if cut."""
    z, x = tf.constant(labels), tf.constant(logits)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([z, x])
        total = tf.reduce_sum(fn(z, x))
    return tuple(None if g is None else g.numpy() for g in tape.gradient(total, [z, x]))


@pytest.fixture(scope="session")
def keras(tf):
    from course_lib.tf_setup import import_keras

    return import_keras()


# ---------------------------------------------------------------- the table itself
def test_table_has_one_row_per_old_name():
    assert tuple(e.old_name for e in API_MAP) == OLD_NAMES
    assert all(isinstance(e.status, Status) for e in API_MAP)
    assert all(e.course_lib.startswith("course_lib.") for e in API_MAP
               if e.old_name != "tf.nn.learned_unigram_candidate_sampler")
    assert lookup("tf.nn.learned_unigram_candidate_sampler").course_lib is None
    assert all(e.note and "\n" not in e.note for e in API_MAP)
    with pytest.raises(dataclasses.FrozenInstanceError):
        API_MAP[0].status = Status.SAME


def test_lookup_and_its_error():
    assert lookup(" tf.nn.nce_loss ") is API_MAP[OLD_NAMES.index("tf.nn.nce_loss")]
    with pytest.raises(KeyError, match=r"tf\.nn\.softmax_cross_entropy_with_logits_v2"):
        lookup("tf.nn.softmax")


def test_markdown_and_rows():
    table = api_map.to_markdown().splitlines()
    assert len(table) == len(API_MAP) + 2
    assert table[0] == "| " + " | ".join(api_map.COLUMNS) + " |"
    assert [r["old name"] for r in api_map.as_rows()] == list(OLD_NAMES)
    assert {r["status"] for r in api_map.as_rows()} <= {s.value for s in Status}


def test_importing_api_map_does_not_import_tensorflow():
    code = ("import sys, course_lib.api_map; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_resolve_walks_attributes(tf, keras):
    assert resolve("tf.nn") is tf.nn
    assert resolve("tf.contrib") is None
    assert resolve("tf.contrib.losses.softmax_cross_entropy") is None
    assert resolve("tf.losses.CategoricalCrossentropy") is keras.losses.CategoricalCrossentropy
    assert resolve("keras.losses.BinaryCrossentropy") is keras.losses.BinaryCrossentropy
    with pytest.raises(ValueError, match=r"expected 'tf\.'"):
        resolve("torch.nn")


def test_every_named_mirror_exists():
    for entry in API_MAP:
        assert api_map.has_mirror(entry) is (entry.course_lib is not None), entry.course_lib


# ---------------------------------------------------------------- status vs installed TF
@pytest.mark.parametrize("entry", API_MAP, ids=ids(API_MAP))
def test_status_agrees_with_installed_tf(tf, entry):
    old, new = resolve(entry.old_name), resolve(entry.tf2_name)
    assert callable(new), f"{entry.tf2_name} does not resolve"
    if entry.status in (Status.SAME, Status.CHANGED):
        assert old is not None and entry.tf2_name == entry.old_name
    else:
        assert old is None, f"{entry.old_name} resolves although the row says {entry.status}"
    if entry.status is Status.REMOVED:
        assert entry.compat_v1_name is None
    else:
        assert callable(resolve(entry.compat_v1_name)), entry.compat_v1_name


def test_check_installed_is_consistent(tf):
    checks = api_map.check_installed()
    assert [c.old_name for c in checks] == list(OLD_NAMES)
    assert all(c.consistent for c in checks), [c for c in checks if not c.consistent]


def test_tf_losses_is_keras_now(tf, keras):
    assert resolve("tf.losses.CategoricalCrossentropy") is keras.losses.CategoricalCrossentropy
    assert resolve("keras.losses.log_loss") is None
    for entry in rows(Status.MOVED):
        if entry.old_name.startswith("tf.losses."):
            assert resolve(entry.old_name) is None


# ---------------------------------------------------------------- TF 2.21 vs course_lib
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("entry", NN_ROWS, ids=ids(NN_ROWS))
def test_tf_nn_row_matches_course_lib(tf, entry, dtype):
    args = make_inputs(_kind(entry), dtype)
    expected = call_tf(resolve(entry.tf2_name), *args)
    assert_close(mirror(entry)(*args), expected, dtype, SCALE)


@pytest.mark.parametrize("input_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weighted", [False, True], ids=["defaults", "weights+smoothing"])
@pytest.mark.parametrize("entry", V1_LOSS_ROWS, ids=ids(V1_LOSS_ROWS))
def test_compat_v1_loss_row_matches_course_lib(tf, entry, weighted, input_dtype):
    """compat.v1 losses compute in float32 whatever the input: float32 tolerance."""
    kind = _kind(entry)
    args = make_inputs(kind, input_dtype)
    extras = v1_extras(kind) if weighted else {}
    expected = call_tf(resolve(entry.tf2_name), *args, **extras)
    assert_close(mirror(entry)(*args, **extras), expected, np.float32, SCALE, SLACK)


# ---------------------------------------------------------------- same: TF 1 version agrees
@pytest.mark.parametrize("entry", rows(Status.SAME), ids=ids(rows(Status.SAME)))
def test_same_rows_equal_their_tf1_version(tf, entry):
    args = make_inputs(_kind(entry), np.float64)
    new, old = resolve(entry.tf2_name), resolve(entry.compat_v1_name)
    np.testing.assert_array_equal(call_tf(new, *args), call_tf(old, *args))
    if _kind(entry) != "sparse":  # float labels: the label gradient is unchanged too
        extra = args[2:]
        grads_new = tape_grads(tf, lambda z, x: new(z, x, *extra), *args[:2])
        grads_old = tape_grads(tf, lambda z, x: old(z, x, *extra), *args[:2])
        for g_new, g_old in zip(grads_new, grads_old, strict=True):
            np.testing.assert_array_equal(g_new, g_old)


def test_weighted_ce_lost_only_the_targets_keyword(tf):
    labels, logits, q = make_inputs("weighted", np.float32)
    with pytest.raises(TypeError, match="targets"):
        tf.nn.weighted_cross_entropy_with_logits(targets=labels, logits=logits, pos_weight=q)
    old = tf.compat.v1.nn.weighted_cross_entropy_with_logits(targets=labels, logits=logits,
                                                             pos_weight=q)
    assert_close(nn.weighted_cross_entropy_with_logits(labels, logits, q), old, np.float32, SCALE)


# ---------------------------------------------------------------- changed: softmax CE
def test_softmax_ce_now_sends_gradients_into_labels(tf):
    entry = lookup("tf.nn.softmax_cross_entropy_with_logits")
    assert entry.status is Status.CHANGED
    labels, logits = make_inputs("softmax", np.float64)
    d_labels, d_logits = tape_grads(tf, resolve(entry.tf2_name), labels, logits)
    want_labels, want_logits = nn.softmax_cross_entropy_with_logits_grad(labels, logits)
    assert_close(d_labels, want_labels, np.float64, SCALE, SLACK)
    assert_close(d_labels, -nn.log_softmax(logits), np.float64, SCALE, SLACK)
    assert_close(d_logits, want_logits, np.float64, SCALE, SLACK)
    # TF 1 behaviour, kept in compat.v1: same values, labels cut from the graph.
    old = resolve(entry.compat_v1_name)
    assert tape_grads(tf, lambda z, x: old(labels=z, logits=x), labels, logits)[0] is None
    v1_loss = resolve("tf.compat.v1.losses.softmax_cross_entropy")
    assert tape_grads(tf, v1_loss, labels, logits)[0] is None
    assert_close(call_tf(old, labels=labels, logits=logits),
                 call_tf(resolve(entry.tf2_name), labels, logits), np.float64, SCALE)


def test_v2_moved_to_the_plain_name(tf):
    entry = lookup("tf.nn.softmax_cross_entropy_with_logits_v2")
    assert entry.status is Status.MOVED and resolve(entry.old_name) is None
    labels, logits = make_inputs("softmax", np.float64)
    kept, plain = resolve(entry.compat_v1_name), resolve(entry.tf2_name)
    assert_close(call_tf(kept, labels, logits), call_tf(plain, labels, logits), np.float64, SCALE)
    d_kept, d_plain = (tape_grads(tf, f, labels, logits) for f in (kept, plain))
    for a, b in zip(d_kept, d_plain, strict=True):
        assert_close(a, b, np.float64, SCALE, SLACK)


# ---------------------------------------------------------------- moved / removed
@pytest.mark.parametrize("entry", rows(Status.MOVED, Status.REMOVED),
                         ids=ids(rows(Status.MOVED, Status.REMOVED)))
def test_old_name_gone_new_name_works(tf, entry):
    assert resolve(entry.old_name) is None
    args = make_inputs(_kind(entry), np.float32)
    value = call_tf(resolve(entry.tf2_name), *args)
    assert np.all(np.isfinite(value))


@pytest.mark.parametrize("entry", rows(Status.REMOVED), ids=ids(rows(Status.REMOVED)))
def test_contrib_argument_order_makes_the_replacement_no_drop_in(tf, entry):
    """contrib took (logits, labels); the replacement takes (labels, logits)."""
    labels, logits = make_inputs(_kind(entry), np.float32)
    replacement = resolve(entry.tf2_name)
    right = call_tf(replacement, labels, logits)
    contrib_order = call_tf(replacement, logits, labels)
    assert not np.isclose(right, contrib_order)
    assert_close(mirror(entry)(labels, logits), right, np.float32, SCALE, SLACK)


# ---------------------------------------------------------------- sampled softmax and NCE
def _sampled_problem(tf, dtype, num_true, seed=1):
    """Output layer W [V, D], b [V], inputs [B, D], distinct labels, and every class sampled."""
    rng = np.random.default_rng(seed)
    num_classes, dim = 7, 4
    weights = rng.standard_normal((num_classes, dim)).astype(dtype)
    biases = rng.standard_normal(num_classes).astype(dtype)
    inputs = rng.standard_normal((B, dim)).astype(dtype)
    labels = np.stack([rng.choice(num_classes, num_true, replace=False) for _ in range(B)])
    cands, true_count, sampled_count = tf.random.all_candidate_sampler(
        labels, num_true, num_classes, True)
    # The sampler returns float32 counts (all 1 here); float64 losses need them cast.
    sampled = (cands, tf.cast(true_count, dtype), tf.cast(sampled_count, dtype))
    targets = np.zeros((B, num_classes), dtype)
    np.put_along_axis(targets, labels, 1.0 / num_true, axis=1)
    full_logits = inputs @ weights.T + biases
    return dict(weights=weights, biases=biases, labels=labels, inputs=inputs,
                num_sampled=num_classes, num_classes=num_classes, num_true=num_true,
                sampled_values=sampled), targets, full_logits


@pytest.mark.parametrize("num_true", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sampled_softmax_with_every_class_is_the_full_softmax(tf, dtype, num_true):
    entry = lookup("tf.nn.sampled_softmax_loss")
    kwargs, targets, logits = _sampled_problem(tf, dtype, num_true)
    got = call_tf(resolve(entry.tf2_name), **kwargs)  # remove_accidental_hits=True by default
    expected = nn.softmax_cross_entropy_with_logits(targets, logits)
    assert_close(got, expected, dtype, np.abs(logits).max(), SLACK)


@pytest.mark.parametrize("num_true", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nce_with_every_class_is_a_sum_of_sigmoid_ces(tf, dtype, num_true):
    """Targets 1/num_true on the true classes; without hit removal (the default) each true
    class also appears among the samples with target 0 and adds one more sigmoid CE."""
    entry = lookup("tf.nn.nce_loss")
    kwargs, targets, logits = _sampled_problem(tf, dtype, num_true)
    per_class = nn.sigmoid_cross_entropy_with_logits(targets, logits).sum(-1)
    true_logits = np.take_along_axis(logits, kwargs["labels"], axis=1)
    as_negatives = nn.sigmoid_cross_entropy_with_logits(np.zeros_like(true_logits),
                                                        true_logits).sum(-1)
    nce = resolve(entry.tf2_name)
    scale = np.abs(logits).max()
    assert_close(call_tf(nce, **kwargs, remove_accidental_hits=True), per_class, dtype, scale,
                 SLACK)
    assert_close(call_tf(nce, **kwargs), per_class + as_negatives, dtype, scale, SLACK)


@pytest.mark.parametrize("name", SAMPLED)
def test_sampled_losses_lost_partition_strategy(tf, name):
    """TF 2 hard-wires 'div'; compat.v1 keeps TF 1's default 'mod', which differs if sharded."""
    entry = lookup(name)
    assert entry.status is Status.CHANGED
    new, old = resolve(entry.tf2_name), resolve(entry.compat_v1_name)
    assert "partition_strategy" not in inspect.signature(new).parameters
    assert inspect.signature(old).parameters["partition_strategy"].default == "mod"
    kwargs, _, _ = _sampled_problem(tf, np.float32, 1)
    unsharded = call_tf(new, **kwargs)
    w = kwargs.pop("weights")
    shards = [w[:4], w[4:]]
    np.testing.assert_array_equal(call_tf(new, shards, **kwargs), unsharded)
    np.testing.assert_array_equal(call_tf(old, shards, **kwargs, partition_strategy="div"),
                                  unsharded)
    assert np.abs(call_tf(old, shards, **kwargs) - unsharded).max() > 0.1


@pytest.mark.parametrize("name", SAMPLED)
def test_sampled_mirror_matches_tf(tf, name):
    entry = lookup(name)
    fn = mirror(entry)
    kwargs, _, logits = _sampled_problem(tf, np.float64, 2)
    expected = call_tf(resolve(entry.tf2_name), **kwargs)
    kwargs["sampled_values"] = tuple(np.asarray(t) for t in kwargs["sampled_values"])
    assert_close(fn(**kwargs), expected, np.float64, np.abs(logits).max(), SLACK)


# ---------------------------------------------------------------- the Keras column
KERAS_ROWS = [e for e in API_MAP if e.keras is not None]
_KERAS_KIND = {"CategoricalCrossentropy": "softmax", "SparseCategoricalCrossentropy": "sparse",
               "BinaryCrossentropy": "sigmoid"}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("entry", KERAS_ROWS, ids=ids(KERAS_ROWS))
def test_keras_equivalent(tf, keras, entry):
    """The Keras class (default 'sum_over_batch_size', float32) vs course_lib.keras_losses
    and vs the row's own mirror, reduced to the mean as the Keras class reduces."""
    loss = api_map.keras_loss(entry)
    config = loss.get_config()
    cls = type(loss).__name__
    assert entry.keras.startswith(f"keras.losses.{cls}(")
    from_logits = config["from_logits"]
    args = make_inputs(_KERAS_KIND[cls] if from_logits else "log_loss", np.float32)
    got = np.asarray(loss(*args))
    keras_losses = importlib.import_module("course_lib.keras_losses")
    per_sample = getattr(keras_losses, _snake(cls))(*args, from_logits=from_logits)
    assert_close(got, np.mean(per_sample), np.float32, SCALE, SLACK)
    row_value = np.mean(mirror(entry)(*args))
    if from_logits:
        assert_close(got, row_value, np.float32, SCALE, SLACK)
    else:  # log_loss adds ε = 1e-7 inside the log, Keras clips: they differ by <= ε/min(p)
        np.testing.assert_allclose(got, row_value, rtol=0, atol=1e-7 / args[1].min() + 1e-6)


# ---------------------------------------------------------------- candidate samplers
def test_only_uniform_and_log_uniform_samplers_left_tf_nn(tf):
    """All five samplers are in tf.random; tf.nn keeps three of them, the same functions."""
    for name in SAMPLERS:
        short = name.rpartition(".")[2]
        in_random, in_nn = resolve(f"tf.random.{short}"), resolve(name)
        assert callable(in_random) and callable(resolve(f"tf.compat.v1.nn.{short}"))
        left = short in ("log_uniform_candidate_sampler", "uniform_candidate_sampler")
        assert (in_nn is None) is left, name
        assert lookup(name).status is (Status.MOVED if left else Status.SAME)
        assert lookup(name).tf2_name == (f"tf.random.{short}" if left else name)
        if not left:
            assert in_nn is in_random


SAMPLER_ARGS = {
    "tf.nn.log_uniform_candidate_sampler": ((7, 50), {}, lambda p: p),
    "tf.nn.uniform_candidate_sampler": ((7, 50), {}, lambda p: p),
    "tf.nn.fixed_unigram_candidate_sampler":
        ((7, 6), {"unigrams": [3.0, 1.0, 9.0, 0.5, 4.0, 2.0], "distortion": 0.75}, lambda p: p),
    "tf.nn.all_candidate_sampler": ((6,), {}, lambda p: p),
}


@pytest.mark.parametrize("name", list(SAMPLER_ARGS))
def test_sampler_mirror_gives_tfs_expected_counts_on_tfs_draw(tf, name):
    """With replacement (unique=False), E = p·num_sampled: TF's counts must come out exactly
    from the mirror's probabilities; the mirror's own draw has TF's shapes and dtypes."""
    entry = lookup(name)
    sizes, extra, _ = SAMPLER_ARGS[name]
    labels = np.array([[0, 3], [5, 1]])
    args = (labels, 2, sizes[0], False, *sizes[1:])
    cands, true_count, sampled_count = (v.numpy() for v in resolve(entry.tf2_name)(
        *args, **extra, seed=1))
    ours = mirror(entry)(*args, **extra, seed=1)
    for got, want in zip(ours, (cands, true_count, sampled_count), strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
    random = importlib.import_module("course_lib.random")
    if name.endswith("all_candidate_sampler"):
        np.testing.assert_array_equal(ours[0], cands)
        p = np.full(sizes[0], 1.0 / sizes[0], np.float32)
    elif name.endswith("fixed_unigram_candidate_sampler"):
        p = random.fixed_unigram_probabilities(extra["unigrams"], extra["distortion"])
    elif name.endswith("log_uniform_candidate_sampler"):
        p = random.log_uniform_probabilities(sizes[1])
    else:
        p = np.full(sizes[1], 1.0 / sizes[1])
    num_sampled = sizes[0]
    np.testing.assert_array_equal(random.expected_count(p[cands], num_sampled, num_sampled),
                                  sampled_count)
    np.testing.assert_array_equal(random.expected_count(p[labels], num_sampled, num_sampled),
                                  true_count)
