"""Shared helpers of the grading tests: run `course grade`, read what it wrote."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The test modules import helpers as `tests.grading...`, whichever way pytest was started.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED = 20261126
TIMEOUT = "1"  # seconds per test: the fixtures' inputs are tiny, their loops endless


def course(*args: str, env: dict | None = None,
           timeout: float = 600) -> subprocess.CompletedProcess:
    """``python -m course_lib.grading ARGS`` from the repository root."""
    return subprocess.run([sys.executable, "-m", "course_lib.grading", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env)


def submissions(assignment: str) -> list[Path]:
    """The fixture notebooks of ``assignment`` (their file stem is the kind)."""
    return sorted((FIXTURES / assignment).glob("*.ipynb"))


def stage(assignment: str, folder: Path) -> list[Path]:
    """The fixtures of ``assignment`` plus, copied into ``folder`` under the names
    ``reference`` and ``template``, its solution and its released exercise."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, source in [("reference", ROOT / "solutions"), ("template", ROOT / "exercises")]:
        target = folder / f"{kind}.ipynb"
        target.write_bytes((source / f"{assignment}.ipynb").read_bytes())
        paths.append(target)
    return paths + submissions(assignment)


def read_grades(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {row["student_id"]: row for row in csv.DictReader(f)}


def read_results(out: Path, student: str) -> dict:
    return json.loads((out / student / "results.json").read_text())


def grade(assignment: str, out: Path, *extra: str, jobs: int = 2) -> subprocess.CompletedProcess:
    """Grade every submission of ``assignment`` into ``out`` (staged next to it)."""
    paths = stage(assignment, out.parent / f"{out.name}-submissions")
    done = course("grade", assignment, *map(str, paths), "--out", str(out), "--jobs", str(jobs),
                  "--timeout", TIMEOUT, *extra)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``graded(assignment)``: the output folder of one `course grade` run, made once."""
    cache: dict[str, Path] = {}

    def run(assignment: str) -> Path:
        if assignment not in cache:
            out = tmp_path_factory.mktemp(assignment) / "grades"
            grade(assignment, out, "--seed", str(SEED))
            cache[assignment] = out
        return cache[assignment]

    return run


def worker_processes() -> list[str]:
    """Command lines of grading workers still alive (runner, bootstrap or their unshare)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ("runner.py" in cmd and "site_dirs" in cmd) or "grading/bootstrap.py" in cmd:
            found.append(f"{proc.name}: {cmd[:200]}")
    return found
