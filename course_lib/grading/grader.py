"""Grade one submission: answer cells run untrusted, values compared trusted, per test.

The :class:`Grader` is built once per run from the *source* notebook (which answer cells
exist, which question each test cell names) and the package's specifications; it computes
every reference output and each test's time limit in the grader's own process. Grading a
submission then sends the answer cells and the inputs to a fresh worker and reads one value
per test. Whatever the worker does -- hang, crash, ``os._exit``, exhaust its memory, send
garbage -- costs the test it happened in; a new worker picks up with the next test (skipping
an answer cell that hung or crashed), so a submission is never dropped and a batch never hangs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from course_lib.grading import flags as flagging
from course_lib.grading import notebook, wire
from course_lib.grading.compare import Verdict, compare, failure
from course_lib.grading.pool import WorkerPool
from course_lib.grading.sandbox import Worker, WorkerError
from course_lib.grading.specs import Assignment, Case, Question, case_inputs

TIME_FACTOR = 50  # a test may take this many times the reference's own time (or the floor)


@dataclass(frozen=True)
class PreparedTest:
    """One case of one question, with its inputs, reference output and time limit."""

    index: int
    question: Question
    case: Case
    function: str
    args: tuple
    kwargs: dict
    expected: np.ndarray
    limit: float

    @property
    def name(self) -> str:
        return f"{self.question.id} {self.function}: {self.case.name}"

    def wire(self) -> dict[str, Any]:
        return {"index": self.index, "function": self.function,
                "args": [wire.encode(a) for a in self.args],
                "kwargs": {k: wire.encode(v) for k, v in self.kwargs.items()}}


@dataclass
class TestResult:
    """The outcome of one test: points earned and the feedback sentence."""

    test: PreparedTest
    verdict: Verdict

    @property
    def score(self) -> float:
        return self.test.case.points if self.verdict.passed else 0.0


@dataclass
class SubmissionResult:
    """Everything written about one submission."""

    student_id: str
    max_score: float
    results: list[TestResult] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    penalty: float = 0.0
    complete: bool = False
    execution_time: float = 0.0

    @property
    def score(self) -> float:
        return max(0.0, sum(r.score for r in self.results) - self.penalty)


Publish = Callable[[SubmissionResult], None]


class Grader:
    """The trusted half of grading one assignment with one seed."""

    def __init__(self, assignment: Assignment, source: Path, seed: int, timeout: float,
                 penalties: dict[str, float] | None = None) -> None:
        self.assignment, self.seed, self.timeout = assignment, seed, timeout
        self.penalties = penalties or {}
        nb = notebook.load(source)
        self.answer_ids = notebook.solution_ids(nb)
        self.tests = self._prepare(notebook.questions_in_tests(nb))
        self.cell_limit = max(timeout, assignment.time_floor)

    def _prepare(self, named: list[tuple[str, str]]) -> list[PreparedTest]:
        tests: list[PreparedTest] = []
        for qid, function in named:
            question = self.assignment.question(qid)
            for case in question.cases:
                args, kwargs = case_inputs(question, case, self.seed)
                start = time.perf_counter()
                expected = np.asarray(question.reference(*args, **kwargs))
                spent = time.perf_counter() - start
                limit = max(self.timeout, self.assignment.time_floor, TIME_FACTOR * spent)
                tests.append(PreparedTest(len(tests), question, case, function, args, kwargs,
                                          expected, limit))
        return tests

    @property
    def max_score(self) -> float:
        return sum(t.case.points for t in self.tests)

    # ------------------------------------------------------------ one submission
    def grade(self, path: Path, pool: WorkerPool, publish: Publish) -> SubmissionResult:
        """Grade the notebook at ``path``; ``publish`` is called after every test."""
        start = time.monotonic()
        result = SubmissionResult(path.stem, self.max_score)
        try:
            size = path.stat().st_size
            cells, notes = notebook.answer_cells(notebook.load(path), self.answer_ids)
            if size > notebook.LARGE_NOTEBOOK_BYTES:
                notes.insert(0, f"The notebook is {notebook.mib(size)}, mostly stored outputs. "
                             "Outputs play no part in grading: they were ignored and the "
                             "answer cells graded as usual.")
        except notebook.NotebookError as exc:
            pool.skip_one()                        # no worker needed for this one
            result.notes.append(f"The submission could not be read: {exc}. Every test scores 0.")
            for test in self.tests:
                result.results.append(TestResult(test, failure(
                    "not-run", "not run: the submission could not be read", test.case.hidden)))
        else:
            result.notes.extend(notes)
            result.flags = flagging.scan(cells, self.assignment.forbidden,
                                         self.assignment.modules)
            result.penalty = self._penalty(result.flags)
            self._run(cells, pool, result, lambda: publish(result))
        result.complete = True
        result.execution_time = time.monotonic() - start
        publish(result)
        return result

    def _penalty(self, codes: list[str]) -> float:
        return sum(self.penalties.get(code, self.penalties.get(code.split(":")[0], 0.0))
                   for code in codes)

    def _run(self, cells: list[str], pool: WorkerPool, result: SubmissionResult,
             publish: Callable[[], None]) -> None:
        remaining, skip, noted = list(self.tests), set(), set()
        first = True
        while remaining:
            worker = pool.get(new_submission=first)
            first = False
            try:
                remaining = self._session(worker, cells, skip, noted, remaining, result,
                                          publish)
            finally:
                worker.kill()

    def _session(self, worker: Worker, cells: list[str], skip: set[int], noted: set[int],
                 remaining: list[PreparedTest], result: SubmissionResult,
                 publish: Callable[[], None]) -> list[PreparedTest]:
        """Run what is left in one worker; return the tests still to run after a failure."""
        worker.send_job({"cells": cells, "skip": sorted(skip),
                         "tests": [t.wire() for t in remaining]})
        for index in range(len(cells)):
            if index in skip:
                continue
            try:
                frame = worker.read_frame(self.cell_limit)
                if frame.get("type") != "cell" or frame.get("index") != index:
                    raise WorkerError("garbage")
            except WorkerError as err:
                skip.add(index)
                result.notes.append(f"Answer cell {index + 1} {_cell_failure(err)}; it was "
                                    "skipped and grading went on.")
                return remaining
            if not frame.get("ok") and index not in noted:
                noted.add(index)
                result.notes.append(f"Answer cell {index + 1} raised "
                                    f"{str(frame.get('error'))[:300]}.")
        for position, test in enumerate(remaining):
            try:
                verdict = self._judge(test, worker.read_frame(test.limit), noted | skip)
            except WorkerError as err:
                result.results.append(TestResult(test, failure(err.kind, err.detail,
                                                               test.case.hidden)))
                publish()
                return remaining[position + 1:]
            result.results.append(TestResult(test, verdict))
            publish()
        return []

    def _judge(self, test: PreparedTest, frame: dict[str, Any],
               failed_cells: set[int] = frozenset()) -> Verdict:
        if frame.get("type") != "result" or frame.get("index") != test.index:
            raise WorkerError("garbage")
        hidden = test.case.hidden
        if "error" in frame:
            kind = frame.get("kind")
            kind = kind if kind in ("missing", "exception", "unencodable") else "exception"
            detail = str(frame["error"])[:300]
            if kind == "missing" and failed_cells:
                cells = ", ".join(str(i + 1) for i in sorted(failed_cells))
                detail += (f": answer cell {cells} did not run to the end (see the notes), so "
                           "nothing it defines after that point exists")
            return failure(kind, detail, hidden)
        try:
            got = wire.decode_reply(frame.get("value"))
        except wire.WireError as exc:
            return failure("unencodable", str(exc), hidden)
        try:
            return compare(got, test.expected, test.case, test.args, test.kwargs)
        except (ValueError, IndexError, TypeError):  # a behaviour check on a strange shape
            return Verdict(False, f"returned an array of unexpected shape {got.shape}"
                           if not hidden else "returned an array of unexpected shape")


def _cell_failure(err: WorkerError) -> str:
    if err.kind == "timeout":
        return "did not finish within the time limit (an endless loop at the top level?)"
    if err.kind == "exited":
        return "ended the process running it (os._exit or a crash)"
    return "made the process running it send unreadable output"
