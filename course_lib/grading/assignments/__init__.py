"""The course's assignments, by name (the stem of their notebook in ``solutions/``)."""

from __future__ import annotations

from course_lib.grading.assignments import (
    a01_softmax,
    a02_sigmoid,
    a03_sparse_weights,
    a04_choose_the_loss,
    a05_sampled_softmax,
)
from course_lib.grading.specs import Assignment, Question

ASSIGNMENTS: dict[str, Assignment] = {
    a.name: a for a in (a01_softmax.ASSIGNMENT, a02_sigmoid.ASSIGNMENT,
                        a03_sparse_weights.ASSIGNMENT, a04_choose_the_loss.ASSIGNMENT,
                        a05_sampled_softmax.ASSIGNMENT)
}


def get_assignment(name: str) -> Assignment:
    """The assignment called ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return ASSIGNMENTS[name]
    except KeyError:
        raise KeyError(f"unknown assignment {name!r}; known: {', '.join(ASSIGNMENTS)}") from None


def find_question(question_id: str) -> tuple[Assignment, Question]:
    """The assignment and question that ``check(question_id, ...)`` names."""
    for assignment in ASSIGNMENTS.values():
        for question in assignment.questions:
            if question.id == question_id:
                return assignment, question
    known = ", ".join(q.id for a in ASSIGNMENTS.values() for q in a.questions)
    raise KeyError(f"unknown question {question_id!r}; known: {known}")
