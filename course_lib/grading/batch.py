"""Grade many submissions of one assignment in parallel and write every file.

``--jobs`` grading threads share one warm :class:`~course_lib.grading.pool.WorkerPool`; each
submission is written as it progresses (results.json after every test), grades.csv at the
end. The seed of the hidden inputs is kept in ``DIR/run.json`` (a directory students never
see), so re-running an interrupted batch without ``--seed`` regenerates the same hidden inputs
and the same files.
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


@dataclass(frozen=True)
class BatchOptions:
    """The knobs of ``course grade``."""

    out: Path
    jobs: int
    timeout: float
    seed: int | None
    penalties: dict[str, float]


def choose_seed(out: Path, assignment: str, seed: int | None) -> int:
    """``seed``, else the one an earlier run in ``out`` used for ``assignment``, else new."""
    record = out / "run.json"
    if seed is None and record.exists():
        try:
            saved = json.loads(record.read_text())
            if saved.get("assignment") == assignment and isinstance(saved.get("seed"), int):
                seed = saved["seed"]
        except ValueError:
            pass
    return secrets.randbelow(2**31) if seed is None else seed


def grade_batch(assignment: Assignment, source: Path, submissions: list[Path],
                options: BatchOptions,
                on_done: Callable[[SubmissionResult], None] = lambda r: None,
                ) -> tuple[list[SubmissionResult], str | None]:
    """Grade ``submissions``; return their results and the sandbox warning (if any)."""
    seed = choose_seed(options.out, assignment.name, options.seed)
    report.remove_stale_temporaries(options.out)
    mode = detect_mode()
    warning = warning_for(mode)
    report.write_atomic(options.out / "run.json", json.dumps(
        {"assignment": assignment.name, "seed": seed, "sandbox": mode}, indent=1) + "\n")
    grader = Grader(assignment, source, seed, options.timeout, options.penalties)
    needs_tf = "tensorflow" in assignment.modules.values()
    config = SandboxConfig(mode=mode, modules=assignment.modules, memory_mb=assignment.memory_mb,
                           cpu_seconds=600 if needs_tf else 120)
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
    report.write_atomic(options.out / "grades.csv", report.grades_csv(results, question_ids))
    return results, warning
