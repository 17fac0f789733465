"""What grading writes: Gradescope's results.json, feedback.md and grades.csv, atomically.

Every file is written to a temporary file in the same directory and renamed over the old one,
so a reader (or Gradescope, or an interrupted run) sees either the previous complete file or
the new one. Nothing here prints a hidden input: hidden tests' messages come from
:mod:`course_lib.grading.compare`, which gives shapes and counts only.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from course_lib.grading.flags import explain
from course_lib.grading.grader import SubmissionResult, TestResult

CSV_HEAD = ["student_id", "score", "max_score", "flags"]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temporaries(folder: Path) -> None:
    """Delete the temporary files of writes that an interrupted run never renamed."""
    for tmp in folder.glob("**/.*.tmp"):
        tmp.unlink(missing_ok=True)


def _points(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 4)


def _test_entry(r: TestResult, number: int) -> dict:
    case = r.test.case
    return {"name": r.test.name, "number": str(number), "score": _points(r.score),
            "max_score": _points(case.points),
            "status": "passed" if r.verdict.passed else "failed",
            "output": f"Input: {case.describe}.\n{r.verdict.message}",
            "visibility": "after_published" if case.hidden else "visible",
            "tags": [r.test.question.id]}


def results_json(result: SubmissionResult, warning: str | None) -> str:
    """Gradescope's results.json for ``result`` (complete or as far as it got)."""
    tests = [_test_entry(r, i + 1) for i, r in enumerate(result.results)]
    if result.penalty:
        tests.append({"name": "Penalty for flagged code", "score": -_points(result.penalty),
                      "max_score": 0, "status": "failed", "visibility": "visible",
                      "output": "; ".join(result.flags)})
    lines = [*([warning] if warning else []), *result.notes]
    if result.flags:
        lines.append("Flags: " + "; ".join(result.flags))
    data = {"score": _points(result.score), "execution_time": round(result.execution_time, 3),
            "output": "\n".join(lines), "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"complete": result.complete, "max_score": _points(result.max_score),
                           "flags": result.flags}}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def feedback_md(result: SubmissionResult, title: str) -> str:
    """The student's feedback: one line per test, the notes and the flags."""
    lines = [f"# {title}: feedback for {result.student_id}", "",
             f"**Score: {_points(result.score)} / {_points(result.max_score)}**", "",
             "Only your answer cells were run, in a fresh process; the outputs stored in your "
             "notebook were ignored.", ""]
    if not result.complete:
        lines += ["*Grading did not finish; this is a partial report.*", ""]
    for r in result.results:
        mark = "✓" if r.verdict.passed else "✗"
        hidden = " (hidden test)" if r.test.case.hidden else ""
        lines.append(f"- {mark} **{r.test.name}**{hidden}: {_points(r.score)} / "
                     f"{_points(r.test.case.points)}. Input: {r.test.case.describe}. "
                     f"{r.verdict.message if not r.verdict.passed else 'Correct.'}")
    if result.notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in result.notes]]
    if result.flags:
        lines += ["", "## Flags", "",
                  "Your answer cells use something this exercise does not expect; your "
                  "instructor will see these flags.", "",
                  *[f"- {explain(code)}" for code in result.flags]]
    if result.penalty:
        lines += ["", f"Penalty for flagged code: -{_points(result.penalty)} points."]
    return "\n".join(lines) + "\n"


def _row(res: SubmissionResult, question_ids: list[str]) -> dict[str, object]:
    per_question = {q: 0.0 for q in question_ids}
    for r in res.results:
        per_question[r.test.question.id] += r.score
    return {"student_id": res.student_id, "score": _points(res.score),
            "max_score": _points(res.max_score), "flags": ";".join(res.flags),
            **{q: _points(per_question[q]) for q in question_ids}}


def grades_csv(results: list[SubmissionResult], question_ids: list[str]) -> str:
    """``student_id,score,max_score,flags`` then one column per question."""
    return merge_grades_csv([], results, question_ids)[0]


def read_grades_csv(path: Path) -> list[dict[str, str]]:
    """The rows of an earlier ``grades.csv`` (none when there is no such file)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return [row for row in csv.DictReader(f) if row.get("student_id")]
    except FileNotFoundError:
        return []


def merge_grades_csv(earlier: list[dict[str, str]], results: list[SubmissionResult],
                     question_ids: list[str]) -> tuple[str, list[str], list[str]]:
    """grades.csv with one row per student: this run's rows, and the ``earlier`` rows of
    students not graded in this run. Returns the text, the student ids kept from
    ``earlier`` and those this run replaced (the latest grading wins)."""
    now = {res.student_id: _row(res, question_ids) for res in results}
    before = {row["student_id"]: row for row in earlier}
    kept = sorted(set(before) - set(now))
    replaced = sorted(set(before) & set(now))
    rows = {**{s: before[s] for s in kept}, **now}
    buf = io.StringIO()
    writer = csv.DictWriter(buf, [*CSV_HEAD, *question_ids], restval="", extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for student in sorted(rows):
        writer.writerow(rows[student])
    return buf.getvalue(), kept, replaced
