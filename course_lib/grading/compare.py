"""The trusted comparison: a student's raw output against the reference, as a verdict.

Everything here runs in the grader's own process on plain NumPy arrays decoded from bytes
(:mod:`course_lib.grading.wire`), never on objects the student made, so no ``__eq__``,
``__abs__`` or ``__lt__`` of theirs is ever called. Messages say what input kind was used,
what was expected (shape, dtype, values) and what came back; for hidden cases they give no
values at all (neither inputs nor outputs), only shapes, dtypes and counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from course_lib.grading.specs import Case

MAX_SHOWN = 6  # values printed per array in the feedback of a visible case


@dataclass(frozen=True)
class Verdict:
    """Passed or not, and the sentence that says why."""

    passed: bool
    message: str


def _show(arr: np.ndarray) -> str:
    flat = arr.ravel()
    text = np.array2string(flat[:MAX_SHOWN], precision=4, separator=", ")
    return text[:-1] + ", ...]" if flat.size > MAX_SHOWN else text


def _describe(arr: np.ndarray) -> str:
    return f"shape {arr.shape}, {arr.dtype}"


def _nonfinite(got: np.ndarray, expected: np.ndarray) -> str | None:
    """Where the reference is finite the answer must be too (the usual overflow symptom)."""
    bad = np.isfinite(expected) & ~np.isfinite(got)
    if not bad.any():
        return None
    kinds = sorted({"nan" if np.isnan(v) else "inf" for v in got[bad]})
    return (f"got {'/'.join(kinds)} in {int(bad.sum())} of {bad.size} entries where finite "
            "values were expected (an overflow or log(0)?)")


def _values(got: np.ndarray, expected: np.ndarray, case: Case) -> str | None:
    g, e = got.astype(np.float64), expected.astype(np.float64)
    problem = _nonfinite(g, e)
    if problem:
        return problem
    close = np.isclose(g, e, rtol=case.rtol, atol=case.atol, equal_nan=True)
    if close.all():
        return None
    diff = np.abs(np.where(close, 0.0, np.nan_to_num(g - e, nan=np.inf)))
    where = np.unravel_index(int(np.argmax(diff)), diff.shape)
    head = (f"{int((~close).sum())} of {close.size} entries differ beyond the tolerance "
            f"(rtol {case.rtol:g}, atol {case.atol:g})")
    if case.hidden:
        return f"{head}; largest difference ~{float(diff[where]):.0e}"
    return (f"{head}; largest at index {tuple(int(i) for i in where)}: expected "
            f"{e[where]:.6g}, got {g[where]:.6g}")


def compare(got: np.ndarray, expected: np.ndarray, case: Case, args: tuple = (),
            kwargs: dict | None = None) -> Verdict:
    """The verdict on ``got`` for one case whose reference output is ``expected``."""
    expected = np.asarray(expected)
    if case.behaviour is not None:
        problem = case.behaviour(got, expected, args, kwargs or {})
    elif got.shape != expected.shape:
        problem = f"expected {_describe(expected)}, got an array of shape {got.shape}" \
            if not case.hidden else f"expected {_describe(expected)}, got a different shape"
    else:
        problem = _values(got, expected, case)
    if problem is None:
        return Verdict(True, "correct")
    if case.hidden:
        return Verdict(False, problem)
    return Verdict(False, f"{problem}. Expected {_describe(expected)}: {_show(expected)}; "
                          f"got {_describe(got)}: {_show(got)}")


def failure(kind: str, detail: str, hidden: bool) -> Verdict:
    """The verdict when no value came back: an exception, a timeout, a crash, ..."""
    reasons = {
        "timeout": "did not return within the time limit (an endless loop?); the process was "
                   "killed and grading went on",
        "exited": "the process running your code ended during this test (os._exit, a crash "
                  "or a kill)",
        "too-large": "returned more data than allowed",
        "garbage": "the process running your code sent back something unreadable",
        "missing": detail,
        "unencodable": f"{detail}",
        "exception": f"raised {detail}",
        "memory": f"ran out of memory: {detail}",
        "not-run": detail,
    }
    text = reasons.get(kind, detail)
    if kind == "exception" and detail.startswith("NotImplementedError"):
        return Verdict(False, "not attempted yet (raised NotImplementedError)")
    if hidden and kind == "exception":
        text = f"raised {detail.split(':')[0]}"  # the message could quote a hidden input
    return Verdict(False, text)
