"""The ``course`` command: ``release``, ``grade`` and ``gradescope``.

Exit status: 0 when the command completed (whatever the scores), 2 for a usage error (unknown
assignment, missing file, two submissions with the same file stem), 1 when grading itself
could not run (no worker process could start).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake in the command line: reported in one line, exit status 2."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("course_lib")
    except PackageNotFoundError:             # run from a checkout that was never installed
        return "unknown"


def _known_assignments() -> str:
    from course_lib.grading.assignments import ASSIGNMENTS

    return "; ".join(f"{name} ({a.title})" for name, a in ASSIGNMENTS.items())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description="Release and grade the "
                                     "course's assignments. Run it from the course folder "
                                     "(the one holding solutions/ and exercises/).")
    parser.add_argument("--version", action="version", version=f"course {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser(
        "release", help="regenerate exercises/ from solutions/",
        description="Write the student version of every notebook in the solutions folder into "
        "the exercises folder: answers replaced by `raise NotImplementedError()`, hidden "
        "tests and outputs removed. Prints the files it changed.")
    rel.add_argument("--solutions", type=Path, default=Path("solutions"),
                     help="the source notebooks (default: solutions/)")
    rel.add_argument("--exercises", type=Path, default=Path("exercises"),
                     help="where the student versions go (default: exercises/)")
    grade = sub.add_parser(
        "grade", help="grade submitted notebooks",
        description="Grade the notebooks students handed in (one file per student, named "
        "after the student) and merge the results into OUT: one folder per student "
        "(results.json, feedback.md) and grades.csv, one row per student.",
        epilog=f"Known assignments: {_known_assignments()}.")
    grade.add_argument("assignment", help="assignment name (see the list below) or the path "
                       "of its source notebook")
    grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION.ipynb",
                       help="the notebooks handed in, one per student, each named after its "
                       "student (alice.ipynb)")
    grade.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)),
                       help="submissions graded at once (default: the number of cores)")
    grade.add_argument("--out", type=Path, default=Path("grades"),
                       help="output directory (default: grades/; one per assignment)")
    grade.add_argument("--timeout", type=float, default=2.0,
                       help="least time limit per test and per answer cell, in seconds "
                       "(default 2; a test gets more when the reference needs it)")
    grade.add_argument("--seed", type=int, default=None,
                       help="seed of the hidden inputs (default: the one in OUT/run.json, "
                       "else a random one, kept there)")
    grade.add_argument("--regrade-all", action="store_true",
                       help="accept a --seed that differs from the one in OUT/run.json; the "
                       "students not graded in this run are dropped from grades.csv")
    grade.add_argument("--penalty", action="append", default=[], metavar="FLAG=POINTS",
                       help="subtract POINTS when a flag (e.g. import:os, monkeypatch) is raised")
    grade.add_argument("--solutions", type=Path, default=Path("solutions"),
                       help="where the source notebooks are (default: solutions/)")
    gs = sub.add_parser(
        "gradescope", help="build a Gradescope autograder bundle",
        description="Build a zip to upload to Gradescope as a 'Zip file upload' autograder "
        "(Ubuntu 24.04 base image). It grades each submission with `course grade`.",
        epilog=f"Known assignments: {_known_assignments()}.")
    gs.add_argument("assignment", help="assignment name or the path of its source notebook")
    gs.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    gs.add_argument("--solutions", type=Path, default=Path("solutions"),
                    help="where the source notebooks are (default: solutions/)")
    return parser


def resolve_assignment(spec: str, solutions: Path):
    """``(Assignment, source notebook)`` from a name or a source notebook's path."""
    from course_lib.grading import notebook
    from course_lib.grading.assignments import get_assignment

    path = Path(spec)
    source = path if spec.endswith(".ipynb") else solutions / f"{spec}.ipynb"
    try:
        assignment = get_assignment(source.stem)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    if not source.is_file():
        hint = "" if path.suffix else (f"; run `course` from the course folder (the one "
                                        f"holding {solutions}/) or give the notebook's path")
        raise UsageError(f"source notebook {source} not found{hint}")
    try:
        notebook.load(source)
    except notebook.NotebookError as exc:
        raise UsageError(f"source notebook {source}: {exc}") from None
    return assignment, source


def _check_submissions(paths: list[Path]) -> None:
    seen: dict[str, Path] = {}
    for path in paths:
        if path.is_dir():
            raise UsageError(f"submission {path} is a folder, not a notebook; give the "
                             f"notebooks in it, e.g. {path}/*.ipynb")
        if not path.is_file():
            raise UsageError(f"submission {path} not found")
        if path.stem in seen:
            raise UsageError(f"two submissions have the same file stem {path.stem!r}: "
                             f"{seen[path.stem]} and {path}")
        seen[path.stem] = path


def _penalties(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        code, sep, points = item.rpartition("=")
        try:
            out[code] = float(points)
        except ValueError:
            sep = ""
        if not sep or not code:
            raise UsageError(f"--penalty {item!r}: expected FLAG=POINTS, e.g. import:os=2")
    return out


def cmd_release(args: argparse.Namespace) -> int:
    from course_lib.grading.release import ReleaseError, release

    try:
        changed, total = release(args.solutions, args.exercises)
    except ReleaseError as exc:
        raise UsageError(str(exc)) from None
    for path in changed:
        print(f"wrote {path}")
    unchanged = total - len(changed)
    if unchanged:
        print(f"{args.exercises}/: {unchanged} of {total} notebooks already up to date")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from course_lib.grading.batch import BatchOptions, OutputConflict, choose_seed, grade_batch
    from course_lib.grading.console import GradeDisplay

    assignment, source = resolve_assignment(args.assignment, args.solutions)
    _check_submissions(args.submissions)
    if args.jobs < 1 or args.timeout <= 0:
        raise UsageError("--jobs must be >= 1 and --timeout > 0")
    try:
        seed = choose_seed(args.out, assignment.name, args.seed, args.regrade_all)
    except OutputConflict as exc:
        raise UsageError(str(exc)) from None
    options = BatchOptions(out=args.out, jobs=args.jobs, timeout=args.timeout, seed=seed,
                           penalties=_penalties(args.penalty), regrade_all=args.regrade_all)
    display = GradeDisplay(len(args.submissions), assignment)
    try:
        with display:
            results, warning, merge = grade_batch(assignment, source, args.submissions,
                                                  options, display.done)
    except RuntimeError as exc:
        print(f"course: grading could not run: {exc}", file=sys.stderr)
        return 1
    display.summary(results, warning, args.out, merge)
    return 0


def cmd_gradescope(args: argparse.Namespace) -> int:
    from course_lib.grading.gradescope import build_bundle

    assignment, source = resolve_assignment(args.assignment, args.solutions)
    build_bundle(assignment.name, source, args.output)
    print(f"wrote {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``course`` console script."""
    args = _parser().parse_args(argv)
    commands = {"release": cmd_release, "grade": cmd_grade, "gradescope": cmd_gradescope}
    try:
        return commands[args.command](args)
    except UsageError as exc:
        print(f"course: error: {exc}", file=sys.stderr)
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
