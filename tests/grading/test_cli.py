"""The `course` command's contract: usage errors exit 2, grading exits 0, flags, penalties."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.grading.conftest import FIXTURES, ROOT, course, read_grades, read_results

REFERENCE = ROOT / "solutions" / "01_softmax.ipynb"


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("course")
    assert script.is_file(), "pip install -e . creates the `course` command"


@pytest.mark.parametrize(("args", "message"), [
    (["grade", "99_nothing", str(REFERENCE)], "unknown assignment"),
    (["grade", "01_softmax", "missing.ipynb"], "not found"),
    (["grade", "01_softmax", str(REFERENCE), str(ROOT / "exercises" / "01_softmax.ipynb")],
     "same file stem"),
    (["grade", "01_softmax", str(REFERENCE), "--penalty", "import:os"], "FLAG=POINTS"),
    (["grade", "solutions/nothing.ipynb", str(REFERENCE)], "unknown assignment"),
    (["gradescope", "99_nothing", "-o", "x.zip"], "unknown assignment"),
    (["grade"], "usage"),
])
def test_usage_errors_exit_2(args, message, tmp_path):
    done = course(*args, "--out", str(tmp_path)) if args[0] == "grade" and len(args) > 2 \
        else course(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert not (tmp_path / "grades.csv").exists()


def test_grade_by_source_path_with_penalty_and_summary(tmp_path):
    """ASSIGNMENT may be the source notebook's path; a penalised flag costs points."""
    sub = FIXTURES / "01_softmax" / "fork.ipynb"
    done = course("grade", "solutions/01_softmax.ipynb", str(sub), str(REFERENCE),
                  "--out", str(tmp_path), "--penalty", "import:os=2.5", "--seed", "3",
                  "--timeout", "1")
    assert done.returncode == 0, done.stderr
    assert "fork" in done.stdout and "import:os" in done.stdout     # the summary table
    rows = read_grades(tmp_path)
    assert list(next(iter(rows.values())))[:4] == ["student_id", "score", "max_score", "flags"]
    assert float(rows["fork"]["score"]) == 7.5 and float(rows["01_softmax"]["score"]) == 10
    results = read_results(tmp_path, "fork")
    assert results["score"] == 7.5 and results["tests"][-1]["score"] == -2.5
    assert "Penalty for flagged code: -2.5" in (tmp_path / "fork" / "feedback.md").read_text()


def test_release_command_writes_exercises(tmp_path):
    done = course("release", "--exercises", str(tmp_path))
    assert done.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (ROOT / "solutions").glob("*.ipynb"))


def test_an_assignment_name_outside_the_course_folder_says_what_to_do(tmp_path):
    done = subprocess.run([sys.executable, "-m", "course_lib.grading", "grade", "01_softmax",
                           str(REFERENCE), "--out", str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "from the course folder" in done.stderr and "or give the notebook's path" in done.stderr
