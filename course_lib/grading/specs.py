"""Question specifications: what a question calls, on which inputs, against which reference.

An :class:`Assignment` (one notebook, named by its stem) has :class:`Question` s; a question
names the student's function and a trusted reference (from ``course_lib``), and has
:class:`Case` s, each worth ``points``. A case builds its inputs from a NumPy generator:
visible cases from a fixed seed (the same inputs in the student's self-check and in the
grader), hidden cases from the seed chosen at grading time (``course grade --seed``), so no
one can precompute them. The assignments themselves live in ``course_lib.grading.assignments``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Inputs = tuple[tuple[Any, ...], dict[str, Any]]
# A behaviour check: (student output, reference output, args, kwargs) -> failure text or None.
Behaviour = Callable[[np.ndarray, np.ndarray, tuple, dict], str | None]
VISIBLE_SEED = 0
NUMPY_ONLY_FORBIDDEN = ("tensorflow", "keras", "torch", "jax", "scipy.special", "course_lib")


@dataclass(frozen=True)
class Case:
    """One test: an input kind, its points, visibility, tolerance, optional behaviour check."""

    name: str                                  # short, e.g. "large logits"
    describe: str                              # the input kind, shown in feedback
    make: Callable[[np.random.Generator], Inputs]
    points: float = 1.0
    hidden: bool = False
    rtol: float = 1e-6
    atol: float = 1e-8
    behaviour: Behaviour | None = None         # replaces the value comparison when given


@dataclass(frozen=True)
class Question:
    """A function the student writes, its reference and its cases."""

    id: str                                    # e.g. "01.q1": what check() names
    function: str                              # the name the answer cells must define
    reference: Callable[..., Any]
    cases: tuple[Case, ...]
    hint: str                                  # printed by the self-check on failure

    @property
    def points(self) -> float:
        return sum(c.points for c in self.cases)


@dataclass(frozen=True)
class Assignment:
    """The questions of one notebook and how its answer cells may run."""

    name: str                                  # the notebook's stem, e.g. "01_softmax"
    title: str
    questions: tuple[Question, ...]
    modules: dict[str, str] = field(default_factory=lambda: {"np": "numpy"})
    forbidden: tuple[str, ...] = NUMPY_ONLY_FORBIDDEN
    memory_mb: int = 512                       # address-space limit of a worker (MiB)
    time_floor: float = 0.0                    # least per-test time limit, seconds

    @property
    def points(self) -> float:
        return sum(q.points for q in self.questions)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise KeyError(question_id)


def case_rng(question: Question, case: Case, seed: int) -> np.random.Generator:
    """The generator of one case: fixed for visible cases, from ``seed`` for hidden ones."""
    key = zlib.crc32(f"{question.id}/{case.name}".encode())
    return np.random.default_rng([VISIBLE_SEED if not case.hidden else seed, key])


def case_inputs(question: Question, case: Case, seed: int) -> Inputs:
    """``(args, kwargs)`` of a case; hidden cases differ with every grading seed."""
    return case.make(case_rng(question, case, seed))
