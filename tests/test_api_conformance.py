"""The public contract: every promised name exists with exactly this signature.

Two checks: against the contract written down here (so it cannot drift silently), and against
the installed TensorFlow / Keras (so the mirror keeps TF's argument names and defaults, less
TF's graph-only arguments such as ``name``, ``scope`` and ``loss_collection``).
"""

from __future__ import annotations

import importlib
import inspect

import pytest

SUM_BY_NONZERO = "weighted_sum_by_nonzero_weights"
R = f"reduction={SUM_BY_NONZERO!r}"
SAMPLED = ("(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, "
           "sampled_values=None")
CONTRACT = {
    "course_lib.nn": {
        "softmax": "(logits, axis=-1)",
        "log_softmax": "(logits, axis=-1)",
        "logsumexp": "(x, axis=-1, keepdims=False)",
        "sigmoid": "(x)",
        "log_sigmoid": "(x)",
        "softmax_cross_entropy_with_logits": "(labels, logits, axis=-1)",
        "sparse_softmax_cross_entropy_with_logits": "(labels, logits)",
        "sigmoid_cross_entropy_with_logits": "(labels, logits)",
        "weighted_cross_entropy_with_logits": "(labels, logits, pos_weight)",
        "softmax_cross_entropy_with_logits_grad": "(labels, logits, axis=-1)",
        "sparse_softmax_cross_entropy_with_logits_grad": "(labels, logits)",
        "sigmoid_cross_entropy_with_logits_grad": "(labels, logits)",
        "weighted_cross_entropy_with_logits_grad": "(labels, logits, pos_weight)",
        "softmax_cross_entropy_with_logits_value_and_grad":
            "(labels, logits, axis=-1, *, out=None)",
        "sparse_softmax_cross_entropy_with_logits_value_and_grad": "(labels, logits, *, out=None)",
        "sigmoid_cross_entropy_with_logits_value_and_grad": "(labels, logits, *, out=None)",
        "compute_accidental_hits": "(true_classes, sampled_candidates, num_true)",
        "sampled_softmax_loss": SAMPLED + ", remove_accidental_hits=True, seed=None)",
        "sampled_softmax_loss_grad": SAMPLED + ", remove_accidental_hits=True, seed=None)",
        "nce_loss": SAMPLED + ", remove_accidental_hits=False, *, seed=None)",
        "nce_loss_grad": SAMPLED + ", remove_accidental_hits=False, *, seed=None)",
        "sampled_softmax_loss_value_and_grad":
            SAMPLED + ", remove_accidental_hits=True, seed=None)",
        "nce_loss_value_and_grad": SAMPLED + ", remove_accidental_hits=False, *, seed=None)",
        "estimate_full_softmax_loss":
            "(weights, biases, labels, inputs, num_sampled, proposal, seed=None)",
    },
    "course_lib.random": {
        "log_uniform_candidate_sampler":
            "(true_classes, num_true, num_sampled, unique, range_max, seed=None)",
        "uniform_candidate_sampler":
            "(true_classes, num_true, num_sampled, unique, range_max, seed=None)",
        "fixed_unigram_candidate_sampler":
            "(true_classes, num_true, num_sampled, unique, range_max, vocab_file='', "
            "distortion=1.0, num_reserved_ids=0, num_shards=1, shard=0, unigrams=(), seed=None)",
        "all_candidate_sampler": "(true_classes, num_true, num_sampled, unique, seed=None)",
    },
    "course_lib.losses": {
        "compute_weighted_loss": f"(losses, weights=1.0, reduction={SUM_BY_NONZERO!r})",
        "softmax_cross_entropy":
            f"(onehot_labels, logits, weights=1.0, label_smoothing=0, {R})",
        "sparse_softmax_cross_entropy":
            f"(labels, logits, weights=1.0, reduction={SUM_BY_NONZERO!r})",
        "sigmoid_cross_entropy": "(multi_class_labels, logits, weights=1.0, label_smoothing=0, "
                                 f"reduction={SUM_BY_NONZERO!r})",
        "log_loss": f"(labels, predictions, weights=1.0, epsilon=1e-07, {R})",
    },
    "course_lib.keras_losses": {
        "categorical_crossentropy":
            "(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1)",
        "sparse_categorical_crossentropy":
            "(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1)",
        "binary_crossentropy": "(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1)",
        "binary_focal_crossentropy": "(y_true, y_pred, apply_class_balancing=False, alpha=0.25, "
                                     "gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1)",
        "categorical_focal_crossentropy": "(y_true, y_pred, alpha=0.25, gamma=2.0, "
                                          "from_logits=False, label_smoothing=0.0, axis=-1)",
        "reduce_loss": "(losses, sample_weight=None, reduction='sum_over_batch_size')",
    },
    "course_lib.gradcheck": {
        "numerical_gradient": "(f, x, eps=1e-06)",
        "relative_error": "(a, b)",
    },
    "course_lib.api_map": {
        "resolve": "(name)",
    },
    "course_lib.diagnose_model": {
        "diagnose_model": "(model, *, y=None, class_weight=None, sample_weight=None)",
    },
    "course_lib.chooser": {
        "choose_loss": "(*, exclusive, num_classes, labels, outputs='logits', weighting='none', "
                       "huge_num_classes=False)",
    },
    "course_lib.diagnose": {
        "diagnose": "(y_true, y_pred, loss)",
        "loss_spec": "(loss)",
    },
    "course_lib.tf_setup": {
        "import_tensorflow": "(logical_cpus=None)",
        "import_keras": "()",
    },
    "course_lib.custom_loop": {
        "train_epoch": "(model, optimizer, loss_fn, features, labels, *, batch_size, "
                       "strategy=None)",
    },
}
# Where each course_lib module's functions live in TF / Keras, and the arguments TF has that a
# NumPy mirror has no use for.
MIRRORS = {
    "course_lib.nn": ("tf.nn", {"name"}),
    "course_lib.losses": ("tf.compat.v1.losses", {"scope", "loss_collection"}),
    "course_lib.keras_losses": ("keras.losses", set()),
    "course_lib.random": ("tf.random", {"name"}),
}
# Deliberate differences, each documented in the function's docstring.
EXTRA_ARGS = {"nce_loss": {"seed"}}          # TF's nce_loss cannot be seeded; ours can
MISSING_ARGS = {"compute_accidental_hits": {"seed"}}  # TF's seed there is unused
TF_NAMES = {"logsumexp": "tf.math.reduce_logsumexp", "log_sigmoid": "tf.math.log_sigmoid",
            "sigmoid": "tf.math.sigmoid"}
TF_ARG_NAMES = {"logsumexp": {"input_tensor": "x", "keepdims": "keepdims"}}


def plain(signature: inspect.Signature) -> str:
    """The signature without annotations, with enum defaults shown as their string value."""
    params = []
    for p in signature.parameters.values():
        default = getattr(p.default, "value", p.default)
        params.append(p.replace(annotation=inspect.Parameter.empty, default=default))
    return str(signature.replace(parameters=params, return_annotation=inspect.Signature.empty))


CASES = [(module, name, sig) for module, names in CONTRACT.items() for name, sig in names.items()]


@pytest.mark.parametrize(("module", "name", "expected"), CASES,
                         ids=[f"{m}.{n}" for m, n, _ in CASES])
def test_signature_is_the_contract(module, name, expected):
    function = getattr(importlib.import_module(module), name)
    assert plain(inspect.signature(function)) == expected
    assert function.__doc__ and len(function.__doc__.strip()) > 20, f"{name} needs a docstring"


def tf_object(tf, keras, dotted: str):
    obj = {"tf": tf, "keras": keras}[dotted.split(".")[0]]
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


MIRROR_CASES = [(m, n) for m in MIRRORS for n in CONTRACT[m] if not n.endswith(
    ("_grad", "reduce_loss")) and n not in ("estimate_full_softmax_loss",)]


@pytest.mark.parametrize(("module", "name"), MIRROR_CASES,
                         ids=[f"{m}.{n}" for m, n in MIRROR_CASES])
def test_mirror_keeps_tf_argument_names_and_defaults(tf, module, name):
    keras = importlib.import_module("keras")
    prefix, dropped = MIRRORS[module]
    theirs = inspect.signature(tf_object(tf, keras, TF_NAMES.get(name, f"{prefix}.{name}")))
    ours = inspect.signature(getattr(importlib.import_module(module), name))
    renames = TF_ARG_NAMES.get(name, {})
    their_params = {renames.get(k, k): getattr(p.default, "value", p.default)
                    for k, p in theirs.parameters.items() if k not in dropped}
    their_params = {k: v for k, v in their_params.items() if k not in MISSING_ARGS.get(name, ())}
    our_params = {k: getattr(p.default, "value", p.default) for k, p in ours.parameters.items()
                  if k not in EXTRA_ARGS.get(name, ())}
    # tf.nn's sigmoid CE defaults labels/logits to None only to raise a friendlier error.
    their_params = {k: (inspect.Parameter.empty if v is None and k in ("labels", "logits") else v)
                    for k, v in their_params.items()}
    # TF spells "the last axis" axis=None in softmax/log_softmax; reduce_logsumexp's None means
    # "all axes", and the issue asks ours to reduce the class axis: a documented difference.
    if name in ("softmax", "log_softmax", "logsumexp"):
        assert their_params["axis"] is None
        their_params["axis"] = -1
    assert our_params == their_params
