"""The instructor's path: release and grade as the guide shows them, a class graded in several
runs, big and forbidden-import submissions, and the `course` command's help."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.grading.conftest import ROOT, course, read_grades

REFERENCE = ROOT / "solutions" / "01_softmax.ipynb"
COURSE = [sys.executable, "-m", "course_lib.grading"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*COURSE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def _submission(folder: Path, name: str, source: Path = REFERENCE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    shutil.copy(source, path)
    return path


def _grade(out: Path, *paths: Path, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "400"}           # the summary table on one line a row
    return course("grade", "01_softmax", *map(str, paths), "--out", str(out), "--jobs", "1",
                  "--timeout", "1", *extra, env=env)


# ------------------------------------------------------------------ course release
def test_release_outside_the_course_folder_is_a_usage_error(tmp_path):
    done = _run("release", cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "solutions" in done.stderr and "course folder" in done.stderr
    assert not (tmp_path / "exercises").exists()


def test_release_with_an_empty_solutions_folder_is_a_usage_error(tmp_path):
    (tmp_path / "solutions").mkdir()
    done = _run("release", cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "no notebooks" in done.stderr
    assert not (tmp_path / "exercises").exists()


def test_release_reports_only_the_files_it_changed(tmp_path):
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises")
    done = _run("release", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote" not in done.stdout and "up to date" in done.stdout
    (tmp_path / "exercises" / "02_sigmoid.ipynb").write_text("{}")
    done = _run("release", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("wrote") == 1 and "02_sigmoid.ipynb" in done.stdout
    assert (tmp_path / "exercises" / "02_sigmoid.ipynb").read_text() == (
        ROOT / "exercises" / "02_sigmoid.ipynb").read_text()


# ------------------------------------------------------------------ the command's help
def test_every_subcommand_has_a_description():
    for command in ("release", "grade", "gradescope"):
        done = course(command, "--help")
        assert done.returncode == 0
        _usage, _, rest = done.stdout.partition("\n\n")
        description = rest.split("\n\n")[0]
        assert not description.lower().startswith(("positional", "options")), done.stdout
        assert len(description.split()) >= 5, done.stdout


def test_version():
    from importlib.metadata import version

    done = course("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"course {version('course_lib')}"


def test_grade_help_lists_the_known_assignments():
    from course_lib.grading.assignments import ASSIGNMENTS

    text = " ".join(course("grade", "--help").stdout.split())
    for name in ASSIGNMENTS:
        assert name in text


def test_a_folder_given_as_a_submission_is_reported_as_a_folder(tmp_path):
    done = _grade(tmp_path / "out", tmp_path)
    assert done.returncode == 2
    assert "is a folder" in done.stderr and "not found" not in done.stderr
    assert f"{tmp_path}/*.ipynb" in done.stderr


# ------------------------------------------------------------------ a class in several runs
@pytest.mark.slow
def test_a_late_submission_is_merged_and_a_new_seed_is_refused(tmp_path):
    out, subs = tmp_path / "grades", tmp_path / "subs"
    alice, bob = _submission(subs, "alice"), _submission(subs, "bob")
    done = _grade(out, alice, bob, extra=("--seed", "5"))
    assert done.returncode == 0, done.stderr
    late = _submission(subs / "late", "carol", ROOT / "exercises" / "01_softmax.ipynb")
    done = _grade(out, late)
    assert done.returncode == 0, done.stderr
    rows = read_grades(out)
    assert sorted(rows) == ["alice", "bob", "carol"]
    assert [rows[s]["score"] for s in ("alice", "bob", "carol")] == ["10", "10", "0"]
    assert "kept 2 students graded earlier" in " ".join(done.stdout.split())
    assert json.loads((out / "run.json").read_text())["seed"] == 5

    regraded = _submission(subs / "again", "carol")          # carol hands in again
    done = _grade(out, regraded, extra=("--seed", "5"))
    assert done.returncode == 0, done.stderr
    rows = read_grades(out)
    assert sorted(rows) == ["alice", "bob", "carol"] and rows["carol"]["score"] == "10"
    assert "latest grading wins" in " ".join(done.stdout.split())

    done = _grade(out, regraded, extra=("--seed", "6"))
    assert done.returncode == 2
    assert "seed 5" in done.stderr and "--regrade-all" in done.stderr
    assert json.loads((out / "run.json").read_text())["seed"] == 5

    done = _grade(out, alice, bob, regraded, extra=("--seed", "6", "--regrade-all"))
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "run.json").read_text())["seed"] == 6
    assert sorted(read_grades(out)) == ["alice", "bob", "carol"]

    done = _grade(out, alice, extra=("--seed", "7", "--regrade-all"))     # not the whole class
    assert done.returncode == 0, done.stderr
    assert sorted(read_grades(out)) == ["alice"]
    assert "dropped from grades.csv" in done.stdout and "bob, carol" in done.stdout


def test_an_output_folder_of_another_assignment_is_refused(tmp_path):
    out = tmp_path / "grades"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"assignment": "02_sigmoid", "seed": 1}))
    done = _grade(out, REFERENCE)
    assert done.returncode == 2
    assert "02_sigmoid" in done.stderr


# ------------------------------------------------------------------ what the feedback says
def _with_big_output(folder: Path, megabytes: int) -> Path:
    nb = nbformat.read(REFERENCE, as_version=4)
    line = "0.123456789 " * 8 + "\n"
    text = line * (megabytes * (1 << 20) // len(line))
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.outputs)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "printer.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_correct_notebook_with_60_mb_of_outputs_is_graded(tmp_path):
    path = _with_big_output(tmp_path / "subs", 60)
    assert path.stat().st_size > 60_000_000
    done = _grade(tmp_path / "out", path, extra=("--seed", "1"))
    assert done.returncode == 0, done.stderr
    assert read_grades(tmp_path / "out")["printer"]["score"] == "10"
    feedback = (tmp_path / "out" / "printer" / "feedback.md").read_text()
    assert "outputs" in feedback and "ignored" in feedback


def test_a_notebook_above_the_size_limit_says_its_size_and_the_limit(tmp_path):
    from course_lib.grading import notebook

    path = tmp_path / "huge.ipynb"
    with open(path, "wb") as f:
        f.truncate((300 << 20) + (1 << 19))        # sparse: no disk used
    with pytest.raises(notebook.NotebookError, match=r"300\.5 MiB.*256 MiB"):
        notebook.load(path)


@pytest.mark.slow
def test_tensorflow_in_a_numpy_only_assignment_is_explained(tmp_path):
    nb = nbformat.read(REFERENCE, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "q1_answer")
    cell.source = "import tensorflow as tf\n\n" + cell.source
    path = tmp_path / "subs" / "tf_user.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    done = _grade(tmp_path / "out", path, extra=("--seed", "1"))
    assert done.returncode == 0, done.stderr
    feedback = (tmp_path / "out" / "tf_user" / "feedback.md").read_text()
    assert "TensorFlow is not available in this assignment" in feedback
    assert "failed to map segment" not in feedback
    # the functions defined after the failing import are missing: the feedback says why
    assert "answer cell 1 did not run to the end" in feedback
    notes = done.stdout
    assert "TensorFlow is not available" in " ".join(notes.split())   # the notes column
