"""A linter for cross-entropy calls: ``diagnose(y_true, y_pred, loss)`` lists what looks wrong.

Each ``Finding`` has a stable ``code``, a ``message`` that quotes the data, and a ``fix``:

    probabilities-as-logits   a logits loss got probabilities (rows in [0, 1] summing to 1,
                              or, for sigmoid losses, every value in [0, 1])
    logits-as-probabilities   a probability loss (Keras' default from_logits=False) got
                              values outside [0, 1]
    double-softmax            a probability loss got probabilities that are the softmax
                              (sigmoid) of probabilities: every row within a factor e of
                              uniform (every value in [0.5, σ(1)])
    one-hot-into-sparse       a sparse loss got label rows of y_pred's shape
    int-labels-into-dense     a dense loss got class ids of shape y_pred.shape[:-1]
    softmax-on-multilabel     a softmax loss got 0/1 rows with several (or no) ones
    categorical-on-single-unit  a softmax (categorical) loss got one output unit: its softmax
                              is always 1, the loss 0 whatever the labels
    label-out-of-range        class ids outside [0, C), or dense labels outside [0, 1]
    silent-broadcast          y_true (B,) against y_pred (B, 1) given to a loss that
                              broadcasts them to (B, B) (tf.nn.softmax_cross_entropy_with_logits,
                              keras.losses.categorical_focal_crossentropy)
    rank-mismatch             the same shapes given to a loss that raises (quoted)
    float16-saturation        float16 probabilities at exactly 0 or 1 (or non-finite values)

It must not cry wolf: the statistical checks ask for enough evidence (``MIN_VALUES`` values,
``MIN_ROWS`` rows) before they speak, so a single logit of 0.3 is not called a probability.
``loss`` is a TF or Keras loss function, a Keras loss instance, or a name such as
``"tf.nn.softmax_cross_entropy_with_logits"``, ``"categorical_crossentropy"`` or
``"BinaryCrossentropy"`` (a Keras name means its default, ``from_logits=False``, used as
``model.compile(loss=name)``, which matches the ranks of y_true and y_pred). This module
imports no TensorFlow.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

CODES = ("probabilities-as-logits", "logits-as-probabilities", "double-softmax",
         "one-hot-into-sparse", "int-labels-into-dense", "softmax-on-multilabel",
         "categorical-on-single-unit", "label-out-of-range", "silent-broadcast",
         "rank-mismatch", "float16-saturation")
MIN_VALUES = 16  # sigmoid outputs: values needed before "all in [0, 1]" means probabilities
MIN_ROWS = 16    # softmax outputs: rows needed before "all near uniform" means a double softmax
ROW_SUM_TOLERANCE = 1e-3
SIGMOID_OF_ONE = 1 / (1 + math.exp(-1))   # σ(1): the largest sigmoid of a probability

# Loss names (TF 2 names without their "_v2" suffix) → (family, expects logits).
_TF_LOSSES = {
    "sparse_softmax_cross_entropy_with_logits": "sparse",
    "softmax_cross_entropy_with_logits": "softmax",
    "sigmoid_cross_entropy_with_logits": "sigmoid",
    "weighted_cross_entropy_with_logits": "sigmoid",
    "sparse_softmax_cross_entropy": "sparse",      # tf.compat.v1.losses: logits too
    "softmax_cross_entropy": "softmax",
    "sigmoid_cross_entropy": "sigmoid",
}
_KERAS_LOSSES = {
    "sparse_categorical_crossentropy": "sparse",
    "categorical_crossentropy": "softmax",
    "categorical_focal_crossentropy": "softmax",
    "binary_crossentropy": "sigmoid",
    "binary_focal_crossentropy": "sigmoid",
}


@dataclass(frozen=True)
class Finding:
    """One suspicious thing: a stable ``code``, what was seen, and how to fix it."""

    code: str
    message: str
    fix: str


@dataclass(frozen=True)
class LossSpec:
    """What ``diagnose`` needs to know about a loss."""

    name: str
    family: str            # "sparse", "softmax" (dense labels) or "sigmoid"
    expects_logits: bool
    fixes_rank: bool       # a Keras loss instance squeezes/expands (B,) vs (B, 1) itself
    ignore_class: int | None = None
    # "tf" (a TF function or its name), "course_lib" (a mirror), "keras_function",
    # "keras_object" (a loss instance) or "keras_name" (a name for model.compile)
    source: str = "tf"


def _snake(name: str) -> str:
    """``CategoricalCrossentropy`` → ``categorical_crossentropy``; drops TF's ``_v2``."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.rsplit(".", 1)[-1]).lower()
    return name.removesuffix("_v2")


def loss_spec(loss: object) -> LossSpec:
    """Family and logits/probabilities expectation of a loss function, instance or name."""
    keywords: dict = {}
    if isinstance(loss, functools.partial):
        keywords, loss = dict(loss.keywords), loss.func
    if isinstance(loss, str):
        name, instance = _snake(loss), False
    elif callable(loss) and hasattr(loss, "__name__"):
        name, instance = _snake(loss.__name__), False
    else:
        name, instance = _snake(type(loss).__name__), True
    mirror = str(getattr(loss, "__module__", "")).startswith("course_lib")
    if name in _TF_LOSSES:  # tf.nn, tf.compat.v1.losses and their course_lib mirrors
        return LossSpec(name, _TF_LOSSES[name], True, False,
                        source="course_lib" if mirror else "tf")
    if name not in _KERAS_LOSSES:
        known = sorted({*_TF_LOSSES, *_KERAS_LOSSES})
        raise ValueError(f"diagnose knows the cross-entropy losses {known}; got {loss!r}.")
    config = loss.get_config() if instance and hasattr(loss, "get_config") else {}
    from_logits = bool(keywords.get("from_logits", config.get("from_logits", False)))
    source = ("keras_object" if instance else "keras_name" if isinstance(loss, str)
              else "course_lib" if mirror else "keras_function")
    return LossSpec(name, _KERAS_LOSSES[name], from_logits,
                    source in ("keras_object", "keras_name"), config.get("ignore_class"), source)


# ---------------------------------------------------------------- shape and value helpers
def _num_classes(p: np.ndarray) -> int:
    return p.shape[-1] if p.ndim else 1


def _finite(a: np.ndarray) -> bool:
    return a.dtype.kind in "biuf" and bool(np.all(np.isfinite(a)))


def _integer_valued(a: np.ndarray) -> bool:
    return a.dtype.kind in "biu" or (_finite(a) and bool(np.all(a == np.round(a))))


def _in_unit_interval(a: np.ndarray) -> bool:
    return _finite(a) and a.size > 0 and bool(np.all((a >= 0) & (a <= 1)))


def _probability_rows(p: np.ndarray) -> bool:
    """Rows (last axis, C >= 2) of values in [0, 1] that sum to 1."""
    if p.ndim == 0 or _num_classes(p) < 2 or not _in_unit_interval(p):
        return False
    sums = p.astype(np.float64).sum(axis=-1)
    return bool(np.all(np.abs(sums - 1) <= ROW_SUM_TOLERANCE))


def _rank_mismatch(t: np.ndarray, p: np.ndarray) -> bool:
    """(B,) against (B, 1), either way round, with B > 1."""
    def trailing_one(a: np.ndarray, b: np.ndarray) -> bool:
        return a.ndim == b.ndim + 1 and a.shape[-1] == 1 and a.shape[:-1] == b.shape
    return (trailing_one(p, t) or trailing_one(t, p)) and t.ndim >= 1 and t.size > 1


def _ids_shape(t: np.ndarray, p: np.ndarray) -> bool:
    """``t`` is shaped like class ids for ``p``: ``p.shape[:-1]`` or that plus a trailing 1."""
    return p.ndim >= 1 and (t.shape == p.shape[:-1] or t.shape == (*p.shape[:-1], 1))


# ---------------------------------------------------------------- the checks
def _check_labels(t: np.ndarray, p: np.ndarray, spec: LossSpec) -> list[Finding]:
    """one-hot-into-sparse, int-labels-into-dense, softmax-on-multilabel, label-out-of-range."""
    c = _num_classes(p)
    if spec.family == "sparse":
        if c > 1 and t.ndim == p.ndim and t.shape[-1] == c:
            return [Finding("one-hot-into-sparse",
                            f"{spec.name} takes class ids of shape {p.shape[:-1]}, but y_true "
                            f"has y_pred's shape {t.shape}: label rows (one-hot?).",
                            "Pass class ids, y = argmax(y_true, axis=-1), or use the dense "
                            "loss (categorical_crossentropy / softmax_cross_entropy_with_"
                            "logits) for one-hot or probability rows.")]
        return _check_ids_in_range(t, c, spec)
    if c > 1 and _ids_shape(t, p) and _integer_valued(t):
        return [Finding("int-labels-into-dense",
                        f"{spec.name} takes label rows of y_pred's shape {p.shape}, but y_true "
                        f"{t.shape} holds integers (class ids?).",
                        "Use the sparse loss (sparse_categorical_crossentropy / sparse_softmax_"
                        "cross_entropy_with_logits), or one-hot encode: tf.one_hot(y, C).")]
    if _single_unit(t, p, spec):
        return [_single_unit_finding(spec)]
    if t.shape != p.shape or not _finite(t):
        return []
    if not _in_unit_interval(t):
        low, high = float(t.min()), float(t.max())
        return [Finding("label-out-of-range",
                        f"{spec.name} needs labels in [0, 1]; y_true spans [{low:g}, {high:g}] "
                        "(cross-entropy can then go negative).",
                        "Map the labels to [0, 1]: {-1, 1} → (y + 1) / 2, a 0/255 mask → "
                        "y / 255.")]
    return _check_multilabel(t, spec)


def _check_ids_in_range(t: np.ndarray, c: int, spec: LossSpec) -> list[Finding]:
    if not _integer_valued(t) or t.size == 0:
        return []
    bad = (t < 0) | (t >= c)
    if spec.ignore_class is not None:
        bad &= t != spec.ignore_class
    if not np.any(bad):
        return []
    value = t[bad].flat[0]
    return [Finding("label-out-of-range",
                    f"y_true holds the class id {value:g}, outside [0, {c}) for y_pred with "
                    f"{c} classes ({int(bad.sum())} such labels). TF raises "
                    "InvalidArgumentError; compiled with XLA (jit_compile=True, which Keras' "
                    "default jit_compile='auto' turns on where a GPU exists) the loss is NaN "
                    "instead, with no error.",
                    "Check the label encoding (1-based ids? a padding value like -1?); give "
                    "padding ignore_class=-1 in Keras or weight 0 after replacing it.")]


def _check_multilabel(t: np.ndarray, spec: LossSpec) -> list[Finding]:
    if spec.family != "softmax" or t.ndim == 0 or not np.all((t == 0) | (t == 1)):
        return []
    sums = t.sum(axis=-1)
    if np.all(sums == 1):
        return []
    return [Finding("softmax-on-multilabel",
                    f"{spec.name} is a softmax loss, but y_true has 0/1 rows with "
                    f"{int(sums.max())} ones (or none): several classes per example.",
                    "Use sigmoid CE per class: tf.nn.sigmoid_cross_entropy_with_logits or "
                    "keras.losses.BinaryCrossentropy(from_logits=True).")]


def _single_unit(t: np.ndarray, p: np.ndarray, spec: LossSpec) -> bool:
    """A softmax (categorical) loss on one output unit, with labels it will compare to it."""
    return (spec.family == "softmax" and p.ndim >= 1 and p.shape[-1] == 1 and t.size > 0
            and (t.shape == p.shape or (spec.fixes_rank and _rank_mismatch(t, p))))


def _single_unit_finding(spec: LossSpec) -> Finding:
    return Finding("categorical-on-single-unit",
                   f"{spec.name} on a single output unit: the softmax of one unit is always 1, "
                   "so the loss is 0 (about 1e-7 on Keras' clipped probability path) whatever "
                   "the labels, and Keras' categorical losses warn that y_pred should have "
                   "num_classes > 1. On logits (and in fit, on a Dense(1, 'softmax')) TF's "
                   "gradient is 1 - y, not 0: the weights move while the output stays 1.",
                   "Two classes: one unit with sigmoid CE (binary_crossentropy / "
                   "sigmoid_cross_entropy_with_logits, labels [B, 1]); more: C units with "
                   "softmax CE.")


_SAME_SHAPE_FIX = ("Give both the same shape: y_true[:, None] (or tf.reshape(y_true, "
                   "tf.shape(y_pred))).")


def _raises(t: np.ndarray, p: np.ndarray, spec: LossSpec, loss: object) -> str | None:
    """The error ``loss(t, p)`` raises for ranks differing by a trailing 1; None if it runs."""
    if spec.source == "course_lib":
        try:
            with np.errstate(all="ignore"):
                loss(t, p)
        except (ValueError, TypeError) as err:
            return f"{type(err).__name__}: {err}"
        return None
    if spec.source == "keras_function":
        if spec.name == "categorical_focal_crossentropy":   # no rank check: it broadcasts
            return None
        return ("ValueError: Arguments `target` and `output` must have the same rank (ndim). "
                f"Received: target.shape={t.shape}, output.shape={p.shape}")
    if spec.name == "softmax_cross_entropy_with_logits":    # broadcasts [B] against [B, 1]
        return None if t.ndim < p.ndim else (
            f"InvalidArgumentError: Input to reshape is a tensor with {t.size} values, but the "
            "requested shape has 1")
    if spec.name in ("sigmoid_cross_entropy_with_logits", "weighted_cross_entropy_with_logits"):
        return (f"ValueError: `logits` and `labels` must have the same shape, received "
                f"({p.shape} vs {t.shape}).")
    return f"ValueError: Shapes {p.shape} and {t.shape} are incompatible"  # tf.compat.v1


def _check_broadcast(t: np.ndarray, p: np.ndarray, spec: LossSpec,
                     loss: object) -> list[Finding]:
    """silent-broadcast or rank-mismatch: y_true (B,) against y_pred (B, 1), or the reverse."""
    if spec.family == "sparse" or spec.fixes_rank or not _rank_mismatch(t, p):
        return []
    error = _raises(t, p, spec, loss)
    if error is None and spec.source == "course_lib":
        return []
    if error is not None:
        return [Finding("rank-mismatch",
                        f"y_true {t.shape} and y_pred {p.shape} differ by a trailing 1: this "
                        f"call raises {error}",
                        _SAME_SHAPE_FIX + " Keras' loss objects, and model.compile with any "
                        "loss, match the ranks themselves.")]
    shown = ("tf.nn.softmax_cross_entropy_with_logits" if spec.source == "tf"
             else f"keras.losses.{spec.name}")
    return [Finding("silent-broadcast",
                    f"y_true {t.shape} and y_pred {p.shape} differ by a trailing 1: any "
                    f"elementwise formula broadcasts them to ({t.shape[0]}, {t.shape[0]}) "
                    f"without an error ({shown} does).", _SAME_SHAPE_FIX)]


def _check_outputs(p: np.ndarray, spec: LossSpec) -> list[Finding]:
    """probabilities-as-logits, logits-as-probabilities, double-softmax."""
    act = "sigmoid" if spec.family == "sigmoid" else "softmax"
    if spec.expects_logits:
        looks = (_probability_rows(p) if act == "softmax"
                 else _in_unit_interval(p) and p.size >= MIN_VALUES)
        if not looks:
            return []
        what = "rows in [0, 1] summing to 1" if act == "softmax" else "all values in [0, 1]"
        return [Finding("probabilities-as-logits",
                        f"{spec.name} expects logits, but y_pred looks like probabilities "
                        f"({what}): the {act} is applied a second time (a double {act}), "
                        "which squashes the loss and its gradient.",
                        f"Feed the logits (drop the final {act} activation), or keep the "
                        "probabilities and use the Keras loss with from_logits=False.")]
    if _finite(p) and p.size and (p.min() < 0 or p.max() > 1):
        return [Finding("logits-as-probabilities",
                        f"{spec.name} with from_logits=False expects probabilities, but y_pred "
                        f"spans [{float(p.min()):.4g}, {float(p.max()):.4g}]: logits, read as "
                        "probabilities and clipped into [1e-7, 1 - 1e-7].",
                        f"Pass from_logits=True (keras.losses.{_camel(spec.name)}"
                        "(from_logits=True)).")]
    return _check_double(p, spec, act)


def _check_double(p: np.ndarray, spec: LossSpec, act: str) -> list[Finding]:
    if act == "softmax":
        if not _probability_rows(p) or p.reshape(-1, p.shape[-1]).shape[0] < MIN_ROWS:
            return []
        rows = p.reshape(-1, p.shape[-1]).astype(np.float64)
        ratio = rows.max(axis=1) / np.maximum(rows.min(axis=1), 1e-300)
        doubled = np.all(ratio <= math.e * (1 + 1e-6)) and np.any(ratio > 1 + 1e-6)
        band = "within a factor e of uniform"
    else:
        doubled = (_in_unit_interval(p) and p.size >= MIN_VALUES
                   and np.all((p >= 0.5) & (p <= SIGMOID_OF_ONE + 1e-6)) and np.ptp(p) > 0)
        band = f"in [0.5, {SIGMOID_OF_ONE:.4f}] = sigmoid([0, 1])"
    if not doubled:
        return []
    return [Finding("double-softmax",
                    f"Every prediction of y_pred is {band}: the {act} of probabilities. The "
                    f"model applies {act} twice (an activation plus a second {act} layer or "
                    "op).",
                    f"Apply the {act} once: remove the extra layer, or output logits and use "
                    "from_logits=True.")]


def _check_float16(p: np.ndarray, spec: LossSpec) -> list[Finding]:
    if p.dtype != np.float16 or p.size == 0:
        return []
    if not np.all(np.isfinite(p)):
        seen = "non-finite values (overflow past 65504?)"
    elif not spec.expects_logits and np.any((p == 0) | (p == 1)):
        seen = f"{int(np.sum((p == 0) | (p == 1)))} probabilities of exactly 0 or 1"
    else:
        return []
    return [Finding("float16-saturation",
                    f"y_pred is float16 with {seen}: float16 sigmoid/softmax saturate (σ(x) "
                    "is already 1 at x = 7.625, and for every x above 8.32), so the loss no "
                    "longer sees how wrong the prediction is: capped with a zero gradient by "
                    "Keras' float32 clip, or infinite in float16, where 1 - 1e-7 rounds to 1.",
                    "Compute the last activation and the loss in float32 (mixed precision: "
                    "the output layer with dtype='float32'), or pass logits with "
                    "from_logits=True.")]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def diagnose(y_true: ArrayLike, y_pred: ArrayLike, loss: object) -> list[Finding]:
    """Findings for ``loss(y_true, y_pred)``, in the order of ``CODES``; [] if nothing looks off.

    ``y_true`` and ``y_pred`` may be NumPy arrays, lists or eager TF tensors.
    """
    spec = loss_spec(loss)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if p.dtype.kind not in "biuf" or t.dtype.kind not in "biuf":
        raise ValueError(f"y_true and y_pred must hold numbers; got {t.dtype} and {p.dtype}.")
    outputs = [] if _single_unit(t, p, spec) else _check_outputs(p, spec)
    findings = (outputs + _check_labels(t, p, spec)
                + _check_broadcast(t, p, spec, loss) + _check_float16(p, spec))
    return sorted(findings, key=lambda f: CODES.index(f.code))
