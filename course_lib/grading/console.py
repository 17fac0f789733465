"""What ``course grade`` shows: a progress bar (stderr) and a summary table (stdout)."""

from __future__ import annotations

import threading
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from course_lib.grading.batch import Merge
from course_lib.grading.grader import SubmissionResult
from course_lib.grading.specs import Assignment


class GradeDisplay:
    """A rich progress bar advanced from the grading threads, then a table of scores."""

    def __init__(self, total: int, assignment: Assignment) -> None:
        self.err, self.out = Console(stderr=True), Console()
        self.assignment = assignment
        self.progress = Progress(TextColumn(f"grading {assignment.name}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=self.err)
        self.task = self.progress.add_task("grading", total=total)
        self._lock = threading.Lock()

    def __enter__(self) -> GradeDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def done(self, result: SubmissionResult) -> None:
        with self._lock:
            self.progress.advance(self.task)

    def summary(self, results: list[SubmissionResult], warning: str | None, out: Path,
                merge: Merge | None = None) -> None:
        if warning:
            self.err.print(Panel(warning, title="NO SANDBOX", style="bold red"))
        table = Table(title=f"{self.assignment.name}: {self.assignment.title}")
        for column in ("student", "score", "max", "flags", "notes"):
            table.add_column(column, justify="right" if column in ("score", "max") else "left",
                             overflow="fold")       # a flag or a note is never cut short
        for r in sorted(results, key=lambda r: r.student_id):
            table.add_row(r.student_id, f"{r.score:g}", f"{r.max_score:g}", "; ".join(r.flags),
                          "\n".join(r.notes))
        self.out.print(table)
        self.out.print(f"results: {out}/<student>/results.json, feedback.md; {out}/grades.csv")
        if merge is not None:
            for line in merge_lines(merge, len(results)):
                self.out.print(line)


def merge_lines(merge: Merge, graded: int) -> list[str]:
    """What the run did to grades.csv, in words."""
    lines = [f"grades.csv: {graded} graded in this run"
             + (f"; kept {len(merge.kept)} student{'s' * (len(merge.kept) != 1)} graded "
                "earlier" if merge.kept else "")]
    if merge.replaced:
        lines.append(f"graded again, their earlier rows replaced (the latest grading wins): "
                     f"{', '.join(merge.replaced)}")
    if merge.dropped:
        lines.append(f"--regrade-all: dropped from grades.csv (graded with the old seed, not "
                     f"in this run; their folders are stale): {', '.join(merge.dropped)}")
    return lines
