"""Argument checks shared by every public function.

Each check raises with a message that names the argument, says what it got and what was
expected: ``TypeError`` for a wrong kind of dtype, ``ValueError`` for a wrong shape or value.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def float_array(x: ArrayLike, name: str) -> np.ndarray:
    """``x`` as a floating array: float16/32/64 kept, integers and booleans become float64.

    Integer input is accepted (as NumPy's own ufuncs accept it) so that ``softmax([1, 2, 3])``
    works; TensorFlow would reject int logits, which the docstrings of the ops say.
    """
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    raise TypeError(f"`{name}` must hold real numbers; got an array of dtype {arr.dtype}.")


def compute_dtype(dtype: DTypeLike) -> np.dtype:
    """float16 is computed in float32 and cast back, as TF's kernels do; others as given."""
    return np.dtype(np.float32) if np.dtype(dtype) == np.float16 else np.dtype(dtype)


def labels_like(labels: ArrayLike, logits: np.ndarray, name: str = "labels") -> np.ndarray:
    """Dense labels cast to the logits' dtype (TF casts softmax-CE labels the same way)."""
    arr = np.asarray(labels)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"`{name}` must hold real numbers; got an array of dtype {arr.dtype}.")
    return arr.astype(logits.dtype, copy=False)


def check_axis(axis: int, ndim: int, name: str = "logits") -> int:
    """``axis`` normalised to a non-negative index into an array of rank ``ndim``."""
    if not isinstance(axis, int | np.integer):
        raise TypeError(f"`axis` must be an int; got {type(axis).__name__}.")
    if ndim == 0:
        raise ValueError(f"`{name}` must have at least one dimension (the classes); got a scalar.")
    if not -ndim <= axis < ndim:
        raise ValueError(f"`axis`={axis} is out of range for `{name}` of rank {ndim}; "
                         f"expected {-ndim} <= axis < {ndim}.")
    return int(axis) % ndim


def check_broadcasts_to(arr: np.ndarray, shape: tuple[int, ...], name: str,
                        target: str = "logits") -> None:
    """``arr`` must broadcast to ``shape`` without growing it (TF's rule for softmax CE labels)."""
    try:
        result = np.broadcast_shapes(arr.shape, shape)
    except ValueError:
        result = None
    if result != tuple(shape):
        raise ValueError(f"`{name}` shape {arr.shape} does not broadcast to `{target}` shape "
                         f"{tuple(shape)}; expected the same shape or one that broadcasts to it.")


def check_same_shape(arr: np.ndarray, shape: tuple[int, ...], name: str,
                     target: str = "logits", function: str = "sigmoid cross-entropy") -> None:
    """``arr`` must have exactly ``shape`` (TF's rule for sigmoid and weighted CE, compat.v1)."""
    if arr.shape != tuple(shape):
        raise ValueError(f"`{name}` shape {arr.shape} must equal `{target}` shape {tuple(shape)}; "
                         f"{function} does not broadcast them.")


def positive_int(value: object, name: str) -> int:
    """``value`` as an int >= 1 (a count such as ``num_sampled``)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    return int(value)


def _check_id_range(arr: np.ndarray, num_classes: int, name: str, detail: str = "") -> None:
    """Every id in ``[0, num_classes)``, else a ValueError naming the first offending one."""
    if arr.size:
        bad = (arr < 0) | (arr >= num_classes)
        if bad.any():
            raise ValueError(f"`{name}` holds the class id {arr[bad].flat[0]}, outside the valid "
                             f"range [0, {num_classes}){detail}.")


def class_id_matrix(labels: ArrayLike, num_true: int, num_classes: int | None,
                    name: str = "labels") -> np.ndarray:
    """Integer class ids of shape ``[batch, num_true]`` (sampled losses, samplers), as int64."""
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"`{name}` must be integer class ids; got dtype {arr.dtype}.")
    if arr.ndim != 2 or arr.shape[1] != num_true:
        raise ValueError(f"`{name}` must have shape [batch, num_true={num_true}]; got shape "
                         f"{arr.shape}. A [batch] vector of ids becomes [batch, 1] with "
                         "labels[:, None].")
    if num_classes is not None:
        _check_id_range(arr, num_classes, name)
    return arr.astype(np.int64, copy=False)


def class_ids(labels: ArrayLike, logits: np.ndarray, name: str = "labels") -> np.ndarray:
    """Integer class ids of rank ``logits.ndim - 1``, each in ``[0, num_classes)``, as int64."""
    arr = np.asarray(labels)
    if arr.dtype.kind not in "iu":
        hint = (" One-hot or probability labels go to softmax_cross_entropy_with_logits."
                if arr.dtype.kind == "f" else "")
        raise TypeError(f"`{name}` must be integer class ids (int32 or int64); "
                        f"got dtype {arr.dtype}.{hint}")
    if logits.ndim == 0:
        raise ValueError("`logits` must have at least one dimension (the classes); got a scalar.")
    expected = logits.shape[:-1]
    if arr.shape != expected:
        raise ValueError(f"`{name}` shape {arr.shape} must equal `logits` shape {logits.shape} "
                         f"without its last (class) dimension, i.e. {expected}.")
    num_classes = logits.shape[-1]
    _check_id_range(arr, num_classes, name, f" for logits with {num_classes} classes")
    return arr.astype(np.int64, copy=False)


def finite_array(x: ArrayLike, name: str) -> np.ndarray:
    """A float array with no NaN or infinity."""
    arr = float_array(x, name)
    if not np.all(np.isfinite(arr)):
        first_bad = arr.ravel()[~np.isfinite(arr.ravel())][0]
        raise ValueError(f"`{name}` must be finite; got {first_bad}.")
    return arr


def gradient_buffer(out: object, logits: np.ndarray,
                    **inputs: np.ndarray) -> np.ndarray | None:
    """``out`` checked to be a gradient buffer for ``logits`` (NumPy's ``out=`` convention).

    ``None`` stays ``None`` (the function allocates a fresh gradient). Otherwise ``out`` must
    be a writeable, C-contiguous ndarray of the logits' shape and dtype that shares no memory
    with the logits or with any of ``inputs`` (the kernel overwrites it while it still reads
    them).
    """
    if out is None:
        return None
    if not isinstance(out, np.ndarray):
        raise TypeError(f"`out` must be a NumPy array to hold the gradient; got "
                        f"{type(out).__name__}.")
    if out.shape != logits.shape:
        raise ValueError(f"`out` shape {out.shape} must equal `logits` shape {logits.shape}.")
    if out.dtype != logits.dtype:
        raise TypeError(f"`out` dtype {out.dtype} must equal `logits` dtype {logits.dtype}.")
    if not (out.flags.c_contiguous and out.flags.writeable):
        raise ValueError("`out` must be a writeable, C-contiguous array, such as "
                         "np.empty_like(logits); got one that is "
                         + ("read-only." if out.flags.c_contiguous else "not contiguous."))
    for name, arr in {"logits": logits, **inputs}.items():
        if np.shares_memory(out, arr):
            raise ValueError(f"`out` must not share memory with `{name}`: the gradient is "
                             f"written while `{name}` is still read.")
    return out
