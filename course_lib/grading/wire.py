"""Plain-data encoding between the trusted grader and the untrusted worker (never pickle).

A value on the wire is a JSON scalar, ``{"npy": base64 of an .npy file}`` or
``{"tuple": [values]}``. Decoding a student's reply goes through ``np.load(...,
allow_pickle=False)`` and accepts only boolean, integer and real dtypes of a bounded size:
what comes back is data, and nothing in it can run code in the grader.
``runner.py`` holds the worker's copies of :func:`encode` and :func:`decode` (it cannot
import course_lib); ``tests/grading`` checks that the two agree.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np

MAX_VALUE_BYTES = 8 << 20


class WireError(ValueError):
    """A reply that is not a well-formed numeric value."""


def encode(value: Any) -> Any:
    """Arrays as ``.npy`` bytes, tuples element by element, NumPy scalars as arrays."""
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, np.ndarray | np.generic):
        buf = io.BytesIO()
        np.save(buf, np.asarray(value), allow_pickle=False)
        return {"npy": base64.b64encode(buf.getvalue()).decode()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} to the worker")


def decode_reply(payload: Any) -> np.ndarray:
    """A student's returned value, checked: a numeric array no larger than the cap."""
    if not isinstance(payload, dict) or not isinstance(payload.get("npy"), str):
        raise WireError("the reply is not an array")
    if len(payload["npy"]) > MAX_VALUE_BYTES * 4 // 3 + 1024:
        raise WireError("the reply is larger than allowed")
    try:
        raw = base64.b64decode(payload["npy"], validate=True)
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except (binascii.Error, ValueError, OSError, EOFError) as exc:
        raise WireError(f"the reply is not a valid array ({exc})") from None
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf" or arr.dtype.fields:
        raise WireError("the reply is not an array of numbers")
    return arr
