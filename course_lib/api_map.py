"""Old TensorFlow cross-entropy names, and what to call in TF 2.21, Keras 3 and course_lib.

Stack Overflow answers from the TF 1 years name functions (``tf.losses.softmax_cross_entropy``,
``tf.contrib.losses.*``, ``tf.nn.softmax_cross_entropy_with_logits_v2``, ...) that TF 2.21
moved, removed or changed. ``API_MAP`` is that translation as data: one ``ApiEntry`` per old
name, with its ``Status`` in TF 2.21, the TF 2.21 name to use, the TF 1 function as kept in
``tf.compat.v1`` (if any), the Keras 3 loss class to use instead, the NumPy mirror in
course_lib, and a one-line note. ``tests/test_api_map.py`` proves every row by calling the
functions in the installed TensorFlow.

``resolve`` looks a dotted name up in the installed TensorFlow or Keras, ``check_installed``
does it for every row (what lesson 0 shows), and ``to_markdown`` renders the table. Importing
this module imports neither TensorFlow nor Keras; only ``resolve`` and ``keras_loss`` do.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """What TF 2.21 did to an old name."""

    SAME = "same"  # the old name exists and behaves as in TF 1
    CHANGED = "changed"  # the old name exists but behaves differently
    MOVED = "moved"  # the old name is gone; the TF 1 function lives on in tf.compat.v1
    REMOVED = "removed"  # the old name is gone and no TF 2.21 function has its signature

    @property
    def old_name_exists(self) -> bool:
        """Whether the old name must still resolve in TF 2.21."""
        return self in (Status.SAME, Status.CHANGED)


@dataclass(frozen=True)
class ApiEntry:
    """One row: an old TF name and its TF 2.21 / Keras 3 / course_lib equivalents."""

    old_name: str
    status: Status
    tf2_name: str  # what to call in TF 2.21 (the old name itself when it survives)
    compat_v1_name: str | None  # the TF 1 function as kept in TF 2.21, None if there is none
    keras: str | None  # the Keras 3 loss to use instead, as a constructor call
    course_lib: str | None  # the NumPy mirror, as a dotted name; None if course_lib has none
    note: str


_CV1 = "tf.compat.v1"
_CCE = "keras.losses.CategoricalCrossentropy(from_logits=True)"
_SCCE = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
_BCE_LOGITS = "keras.losses.BinaryCrossentropy(from_logits=True)"

API_MAP: tuple[ApiEntry, ...] = (
    ApiEntry(
        "tf.losses.softmax_cross_entropy", Status.MOVED,
        f"{_CV1}.losses.softmax_cross_entropy", f"{_CV1}.losses.softmax_cross_entropy",
        _CCE, "course_lib.losses.softmax_cross_entropy",
        "tf.losses is now Keras 3; the TF 1 loss (weights=, label_smoothing=) is in "
        "tf.compat.v1.losses. Its default divides by the count of nonzero weights, Keras by B."),
    ApiEntry(
        "tf.losses.sparse_softmax_cross_entropy", Status.MOVED,
        f"{_CV1}.losses.sparse_softmax_cross_entropy",
        f"{_CV1}.losses.sparse_softmax_cross_entropy",
        _SCCE, "course_lib.losses.sparse_softmax_cross_entropy",
        "Kept in tf.compat.v1.losses (labels [B] or [B,1]); the Keras class has no "
        "label_smoothing and divides by B, not by the count of nonzero weights."),
    ApiEntry(
        "tf.losses.sigmoid_cross_entropy", Status.MOVED,
        f"{_CV1}.losses.sigmoid_cross_entropy", f"{_CV1}.losses.sigmoid_cross_entropy",
        _BCE_LOGITS, "course_lib.losses.sigmoid_cross_entropy",
        "Kept in tf.compat.v1.losses; with unit weights it is the mean over all B*C entries, "
        "like Keras BinaryCrossentropy. Per-example weights must be [B,1], not [B]."),
    ApiEntry(
        "tf.contrib.losses.softmax_cross_entropy", Status.REMOVED,
        f"{_CV1}.losses.softmax_cross_entropy", None,
        _CCE, "course_lib.losses.softmax_cross_entropy",
        "tf.contrib is gone. The replacement takes (onehot_labels, logits), the reverse of "
        "contrib's (logits, onehot_labels), so it is not a drop-in: removed, not moved."),
    ApiEntry(
        "tf.contrib.losses.sigmoid_cross_entropy", Status.REMOVED,
        f"{_CV1}.losses.sigmoid_cross_entropy", None,
        _BCE_LOGITS, "course_lib.losses.sigmoid_cross_entropy",
        "tf.contrib is gone. The replacement takes (multi_class_labels, logits), the reverse "
        "of contrib's (logits, multi_class_labels): removed, not moved."),
    ApiEntry(
        "tf.nn.softmax_cross_entropy_with_logits", Status.CHANGED,
        "tf.nn.softmax_cross_entropy_with_logits",
        f"{_CV1}.nn.softmax_cross_entropy_with_logits",
        _CCE, "course_lib.nn.softmax_cross_entropy_with_logits",
        "Same values, but it is now the TF 1 _v2: gradients flow into the labels "
        "(-log_softmax). Wrap the labels in tf.stop_gradient for the TF 1 behaviour."),
    ApiEntry(
        "tf.nn.softmax_cross_entropy_with_logits_v2", Status.MOVED,
        "tf.nn.softmax_cross_entropy_with_logits",
        f"{_CV1}.nn.softmax_cross_entropy_with_logits_v2",
        _CCE, "course_lib.nn.softmax_cross_entropy_with_logits",
        "Gone from tf.nn because the plain name is now this function (same values and label "
        "gradients); kept as tf.compat.v1.nn.softmax_cross_entropy_with_logits_v2: moved."),
    ApiEntry(
        "tf.nn.sigmoid_cross_entropy_with_logits", Status.SAME,
        "tf.nn.sigmoid_cross_entropy_with_logits",
        f"{_CV1}.nn.sigmoid_cross_entropy_with_logits",
        _BCE_LOGITS, "course_lib.nn.sigmoid_cross_entropy_with_logits",
        "Elementwise; float labels of exactly the logits' shape (no broadcasting, no int "
        "cast). Keras BinaryCrossentropy averages over the last axis."),
    ApiEntry(
        "tf.nn.weighted_cross_entropy_with_logits", Status.SAME,
        "tf.nn.weighted_cross_entropy_with_logits",
        f"{_CV1}.nn.weighted_cross_entropy_with_logits",
        None, "course_lib.nn.weighted_cross_entropy_with_logits",
        "pos_weight scales the positive term only. The early TF 1 keyword targets= is now "
        "labels= (targets= survives in tf.compat.v1.nn). No Keras loss takes a pos_weight."),
    ApiEntry(
        "tf.nn.sparse_softmax_cross_entropy_with_logits", Status.SAME,
        "tf.nn.sparse_softmax_cross_entropy_with_logits",
        f"{_CV1}.nn.sparse_softmax_cross_entropy_with_logits",
        _SCCE, "course_lib.nn.sparse_softmax_cross_entropy_with_logits",
        "int32/int64 labels of rank rank(logits)-1; out-of-range labels raise on CPU but "
        "give NaN on GPU (per the docs)."),
    ApiEntry(
        "tf.nn.sampled_softmax_loss", Status.CHANGED,
        "tf.nn.sampled_softmax_loss", f"{_CV1}.nn.sampled_softmax_loss",
        None, "course_lib.nn.sampled_softmax_loss",
        "partition_strategy is gone and hard-wired to 'div' (TF 1 default 'mod'): results "
        "differ for sharded weights. Training only; evaluate with the full softmax CE."),
    ApiEntry(
        "tf.nn.nce_loss", Status.CHANGED,
        "tf.nn.nce_loss", f"{_CV1}.nn.nce_loss",
        None, "course_lib.nn.nce_loss",
        "partition_strategy is gone and hard-wired to 'div' (TF 1 default 'mod'). The value is "
        "a sum of sigmoid CEs (targets 1/num_true), not an estimate of the softmax CE."),
    ApiEntry(
        "tf.nn.log_uniform_candidate_sampler", Status.MOVED,
        "tf.random.log_uniform_candidate_sampler", f"{_CV1}.nn.log_uniform_candidate_sampler",
        None, "course_lib.random.log_uniform_candidate_sampler",
        "TF 2 moved it to tf.random (tf.compat.v1.nn keeps the TF 1 name). Its prior assumes "
        "class ids sorted by decreasing frequency; for other ids use the fixed-unigram sampler."),
    ApiEntry(
        "tf.nn.uniform_candidate_sampler", Status.MOVED,
        "tf.random.uniform_candidate_sampler", f"{_CV1}.nn.uniform_candidate_sampler",
        None, "course_lib.random.uniform_candidate_sampler",
        "TF 2 moved it to tf.random (tf.compat.v1.nn keeps the TF 1 name); same function."),
    ApiEntry(
        "tf.nn.fixed_unigram_candidate_sampler", Status.SAME,
        "tf.nn.fixed_unigram_candidate_sampler", f"{_CV1}.nn.fixed_unigram_candidate_sampler",
        None, "course_lib.random.fixed_unigram_candidate_sampler",
        "Still in tf.nn in TF 2.21, and the same function as "
        "tf.random.fixed_unigram_candidate_sampler. unigrams= (counts in id order) and "
        "distortion= fit ids in any order."),
    ApiEntry(
        "tf.nn.learned_unigram_candidate_sampler", Status.SAME,
        "tf.nn.learned_unigram_candidate_sampler",
        f"{_CV1}.nn.learned_unigram_candidate_sampler", None, None,
        "Still in tf.nn in TF 2.21 (also tf.random). Stateful: the distribution counts the "
        "true classes of earlier calls. course_lib has no mirror."),
    ApiEntry(
        "tf.nn.all_candidate_sampler", Status.SAME,
        "tf.nn.all_candidate_sampler", f"{_CV1}.nn.all_candidate_sampler",
        None, "course_lib.random.all_candidate_sampler",
        "Still in tf.nn in TF 2.21 (also tf.random). Every class, expected count 1: the "
        "sampled losses then equal their full versions (a test harness, not a trainer)."),
    ApiEntry(
        "tf.losses.log_loss", Status.MOVED,
        f"{_CV1}.losses.log_loss", f"{_CV1}.losses.log_loss",
        "keras.losses.BinaryCrossentropy()", "course_lib.losses.log_loss",
        "Takes probabilities, not logits, and adds epsilon=1e-7 inside the log (Keras clips "
        "to [1e-7, 1-1e-7] instead). keras.losses.log_loss does not exist."),
)

_BY_OLD_NAME = {entry.old_name: entry for entry in API_MAP}

COLUMNS = ("old name", "status", "TF 2.21", "tf.compat.v1", "Keras 3", "course_lib", "note")


def lookup(old_name: str) -> ApiEntry:
    """The row for ``old_name``; ``KeyError`` naming every known old name otherwise."""
    try:
        return _BY_OLD_NAME[old_name.strip()]
    except KeyError:
        known = ", ".join(sorted(_BY_OLD_NAME))
        raise KeyError(f"{old_name!r} is not in course_lib.api_map.API_MAP; "
                       f"known old names: {known}.") from None


def _root(head: str) -> Any:
    """The installed ``tensorflow`` (for ``tf.``) or ``keras`` (for ``keras.``), quietly."""
    from course_lib.tf_setup import import_keras, import_tensorflow

    if head in ("tf", "tensorflow"):
        return import_tensorflow()
    if head == "keras":
        return import_keras()
    raise ValueError(f"Cannot resolve names starting with {head!r}; "
                     "expected 'tf.', 'tensorflow.' or 'keras.'.")


def resolve(name: str) -> Any | None:
    """The object that dotted ``name`` (``tf.…`` or ``keras.…``) names, or None if it is missing.

    Walks the attributes one by one, so a missing namespace (``tf.contrib``) also gives None.
    """
    head, *parts = name.strip().split(".")
    obj = _root(head)
    for part in parts:
        try:
            obj = getattr(obj, part)
        except (AttributeError, ImportError):  # lazy TF/Keras namespaces may raise ImportError
            return None
    return obj


def mirror(entry: ApiEntry) -> Callable[..., Any] | None:
    """The course_lib function of ``entry``, or None if it has none (or it does not exist)."""
    if entry.course_lib is None:
        return None
    module_name, _, attr = entry.course_lib.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:  # a missing dependency inside an existing module
            raise
        return None
    return getattr(module, attr, None)


def has_mirror(entry: ApiEntry) -> bool:
    """Whether ``entry.course_lib`` names a course_lib function that exists."""
    return mirror(entry) is not None


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    raise ValueError(f"Expected a dotted name; got {ast.dump(node)}.")


def keras_loss(entry: ApiEntry) -> Any:
    """A Keras loss object built from ``entry.keras`` (keyword arguments must be literals)."""
    if entry.keras is None:
        raise ValueError(f"{entry.old_name} has no Keras 3 equivalent.")
    call = ast.parse(entry.keras, mode="eval").body
    if not isinstance(call, ast.Call) or call.args:
        raise ValueError(f"Expected `keras.losses.Name(key=value, ...)`; got {entry.keras!r}.")
    cls = resolve(_dotted(call.func))
    if cls is None:
        raise LookupError(f"{_dotted(call.func)} does not exist in the installed Keras.")
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    return cls(**kwargs)


@dataclass(frozen=True)
class InstalledCheck:
    """What the installed TensorFlow finds for one row."""

    old_name: str
    status: Status
    old_name_resolves: bool
    tf2_name_resolves: bool
    compat_v1_resolves: bool | None  # None when the row has no compat.v1 name
    mirror_available: bool

    @property
    def consistent(self) -> bool:
        """Whether the row's status agrees with what resolves."""
        if not self.tf2_name_resolves or self.compat_v1_resolves is False:
            return False
        if self.old_name_resolves != self.status.old_name_exists:
            return False
        return (self.compat_v1_resolves is None) == (self.status is Status.REMOVED)


def check_entry(entry: ApiEntry) -> InstalledCheck:
    """Resolve the old, TF 2.21 and compat.v1 names of ``entry`` in the installed TF."""
    compat = None if entry.compat_v1_name is None else resolve(entry.compat_v1_name) is not None
    return InstalledCheck(
        old_name=entry.old_name,
        status=entry.status,
        old_name_resolves=resolve(entry.old_name) is not None,
        tf2_name_resolves=resolve(entry.tf2_name) is not None,
        compat_v1_resolves=compat,
        mirror_available=has_mirror(entry),
    )


def check_installed() -> tuple[InstalledCheck, ...]:
    """``check_entry`` for every row of ``API_MAP`` (imports TensorFlow)."""
    return tuple(check_entry(entry) for entry in API_MAP)


def as_rows() -> list[dict[str, str]]:
    """The table as a list of dicts keyed by ``COLUMNS`` (``pandas.DataFrame(as_rows())``)."""
    return [dict(zip(COLUMNS, (e.old_name, e.status.value, e.tf2_name, e.compat_v1_name or "—",
                               e.keras or "—", e.course_lib or "—", e.note),
                     strict=True))
            for e in API_MAP]


def to_markdown() -> str:
    """The table in Markdown (``IPython.display.Markdown(to_markdown())`` in a notebook)."""
    def line(cells) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    rows = [line(COLUMNS), line("---" for _ in COLUMNS)]
    rows += [line(row.values()) for row in as_rows()]
    return "\n".join(rows)


__all__ = [
    "API_MAP",
    "COLUMNS",
    "ApiEntry",
    "InstalledCheck",
    "Status",
    "as_rows",
    "check_entry",
    "check_installed",
    "has_mirror",
    "keras_loss",
    "lookup",
    "mirror",
    "resolve",
    "to_markdown",
]
