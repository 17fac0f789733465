"""Classroom assignments: the self-check in notebooks, and a sandboxed, trusted autograder.

``check(question_id, function)`` is what a notebook's test cell calls. The ``course`` command
(:mod:`course_lib.grading.cli`) releases exercises and grades submissions; see
``docs/instructors.md``. The package imports NumPy only; the grader's modules load when used.

Modules, one concept each: ``specs`` (question specifications) and ``assignments`` (the
course's five), ``compare`` (the trusted comparison), ``wire`` (plain-data encoding),
``runner`` (the untrusted worker), ``bootstrap`` and ``sandbox`` (namespaces, limits, killing),
``pool`` (warm workers), ``flags`` (the AST scan), ``notebook`` (reading notebooks),
``grader`` and ``batch`` (grading), ``report`` (results.json, feedback.md, grades.csv),
``release``, ``gradescope``, ``console`` and ``cli``.
"""

from course_lib.grading.selfcheck import CheckFailed, check

__all__ = ["CheckFailed", "check"]
