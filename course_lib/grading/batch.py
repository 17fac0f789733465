"""Grade many submissions of one assignment in parallel and write every file.

``--jobs`` grading threads share one warm :class:`~course_lib.grading.pool.WorkerPool`; each
submission is written as it progresses (results.json after every test), grades.csv at the
end, merged with the rows of students graded earlier into the same folder (one row per
student; the latest grading wins). The seed of the hidden inputs is kept in ``DIR/run.json`` (a
directory students never see), so re-running an interrupted batch without ``--seed``
regenerates the same hidden inputs and the same files, and a late submission is graded with
the seed of the rest of the class. A different seed is refused unless the whole class is
regraded (``regrade_all``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from course_lib.grading import report
from course_lib.grading.grader import Grader, SubmissionResult
from course_lib.grading.pool import WorkerPool
from course_lib.grading.sandbox import SandboxConfig, detect_mode, warning_for
from course_lib.grading.specs import Assignment

READY_TIMEOUT = {False: 60.0, True: 300.0}  # seconds for a worker to import NumPy / TF
# What a NumPy-only assignment's answer cells cannot import (the worker's memory limit is far
# below what TensorFlow needs): refused at the import, with these names in the message.
TENSORFLOW = {"tensorflow": "TensorFlow", "keras": "Keras", "tf_keras": "Keras"}


@dataclass(frozen=True)
class BatchOptions:
    """The knobs of ``course grade``."""

    out: Path
    jobs: int
    timeout: float
    seed: int | None
    penalties: dict[str, float]
    regrade_all: bool = False


class OutputConflict(Exception):
    """``--out`` holds another assignment's results, or results graded with another seed."""


@dataclass(frozen=True)
class Merge:
    """How this run's rows joined grades.csv: who was kept, replaced or dropped."""

    kept: list[str]
    replaced: list[str]
    dropped: list[str]


def _stored_run(out: Path) -> dict:
    try:
        saved = json.loads((out / "run.json").read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def choose_seed(out: Path, assignment: str, seed: int | None, regrade_all: bool = False) -> int:
    """``seed``, else the one an earlier run in ``out`` used for ``assignment``, else new.

    :class:`OutputConflict` when ``out`` belongs to another assignment, or when ``seed``
    differs from the stored one and ``regrade_all`` is not set (the class would be graded
    with two seeds).
    """
    saved = _stored_run(out)
    other = saved.get("assignment")
    if other is not None and other != assignment:
        raise OutputConflict(f"{out} holds the results of {other}, not {assignment}: use one "
                             "--out folder per assignment")
    stored = saved.get("seed") if isinstance(saved.get("seed"), int) else None
    if seed is None:
        return secrets.randbelow(2**31) if stored is None else stored
    if stored is not None and seed != stored and not regrade_all:
        raise OutputConflict(
            f"{out} was graded with seed {stored}, not {seed}: the class would be graded with "
            f"two seeds. Leave out --seed (or give --seed {stored}) to add these submissions "
            f"to the class, or add --regrade-all to grade everyone again with seed {seed}")
    return seed


def grade_batch(assignment: Assignment, source: Path, submissions: list[Path],
                options: BatchOptions,
                on_done: Callable[[SubmissionResult], None] = lambda r: None,
                ) -> tuple[list[SubmissionResult], str | None, Merge]:
    """Grade ``submissions``; return their results, the sandbox warning (if any) and how
    their rows were merged into ``grades.csv``."""
    seed = choose_seed(options.out, assignment.name, options.seed, options.regrade_all)
    report.remove_stale_temporaries(options.out)
    mode = detect_mode()
    warning = warning_for(mode)
    report.write_atomic(options.out / "run.json", json.dumps(
        {"assignment": assignment.name, "seed": seed, "sandbox": mode}, indent=1) + "\n")
    grader = Grader(assignment, source, seed, options.timeout, options.penalties)
    needs_tf = "tensorflow" in assignment.modules.values()
    config = SandboxConfig(mode=mode, modules=assignment.modules, memory_mb=assignment.memory_mb,
                           cpu_seconds=600 if needs_tf else 120,
                           unavailable={} if needs_tf else TENSORFLOW)
    pool = WorkerPool(config, options.jobs, len(submissions), READY_TIMEOUT[needs_tf])

    def publish(result: SubmissionResult) -> None:
        folder = options.out / result.student_id
        report.write_atomic(folder / "results.json", report.results_json(result, warning))
        report.write_atomic(folder / "feedback.md", report.feedback_md(result, assignment.title))

    def one(path: Path) -> SubmissionResult:
        result = grader.grade(path, pool, publish)
        on_done(result)
        return result

    try:
        with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as executor:
            results = list(executor.map(one, submissions))
    finally:
        pool.close()
    question_ids = list(dict.fromkeys(t.question.id for t in grader.tests))
    grades = options.out / "grades.csv"
    earlier = [] if options.regrade_all else report.read_grades_csv(grades)
    dropped = sorted(set(r["student_id"] for r in report.read_grades_csv(grades))
                     - {r.student_id for r in results}) if options.regrade_all else []
    text, kept, replaced = report.merge_grades_csv(earlier, results, question_ids)
    report.write_atomic(grades, text)
    return results, warning, Merge(kept, replaced, dropped)
