"""``check(question_id, function)``: the student's in-notebook self-check.

It runs the *visible* tests of a question on the student's function in the notebook's own
process (no sandbox: it is the student's code in the student's kernel) and prints a friendly
verdict with a hint. It never produces a grade: ``course grade`` runs the question in its own
trusted way and adds the hidden tests. On failure it raises :class:`CheckFailed` (an
``AssertionError``) so that a test cell fails visibly, for nbgrader's autograder as well;
in Jupyter the error shows as the verdict's last line, without a traceback.
``hidden=True`` (only in the source notebooks' hidden-test regions) runs the hidden tests with
the seed in ``$COURSE_GRADING_SEED`` (default 0), for nbgrader's autograde.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from course_lib.grading.compare import Verdict, compare
from course_lib.grading.specs import Case, Question, case_inputs


class CheckFailed(AssertionError):
    """A self-check found a failing test (shown without a traceback in IPython)."""

    def _render_traceback_(self) -> list[str]:
        return [f"CheckFailed: {self}"]


def _run_case(question: Question, case: Case, function: Callable, seed: int) -> Verdict:
    args, kwargs = case_inputs(question, case, seed)
    expected = question.reference(*args, **kwargs)
    try:
        # NumPy's overflow warnings would print like a traceback under the verdict; the
        # verdict already says what went wrong.
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = function(*args, **kwargs)
    except Exception as exc:
        return Verdict(False, f"raised {type(exc).__name__}: {exc}")
    got = np.asarray(value)
    if got.dtype.kind not in "biuf":
        return Verdict(False, f"returned {type(value).__name__}, not an array of numbers")
    return compare(got, expected, case, args, kwargs)


def check(question_id: str, function: Callable[..., Any], hidden: bool = False) -> None:
    """Run the visible tests of ``question_id`` on ``function``; print a verdict and a hint."""
    from course_lib.grading.assignments import find_question

    _, question = find_question(question_id)
    seed = int(os.environ.get("COURSE_GRADING_SEED", "0"))
    cases = [c for c in question.cases if c.hidden == hidden]
    kind = "hidden" if hidden else "visible"
    if not callable(function):
        raise CheckFailed(f"{question_id}: expected the function {question.function}, got "
                          f"{type(function).__name__}")
    failed = [(c, v) for c in cases if not (v := _run_case(question, c, function, seed)).passed]
    title = f"{question_id} {question.function}"
    if not failed:
        extra = sum(c.hidden for c in question.cases)
        more = f" The grader also runs {_count(extra, 'hidden test')}." if extra and not hidden \
            else ""
        verdict = f"all {len(cases)} {kind} tests pass" if len(cases) > 1 else \
            f"the {kind} test passes"
        print(f"✓ {title}: {verdict}.{more}")
        return
    print(f"✗ {title}: {len(failed)} of {_count(len(cases), kind + ' test')} failed.")
    for case, verdict in failed:
        print(f"  - {case.name} ({case.describe}): {verdict.message}")
    print(f"Hint: {question.hint}")
    raise CheckFailed(f"{title}: {len(failed)} of {_count(len(cases), kind + ' test')} failed "
                      "(see above).")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
