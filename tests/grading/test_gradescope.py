"""`course gradescope`: the bundle, unpacked as Gradescope lays it out, grades for real."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.grading.conftest import FIXTURES, ROOT, course

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    done = course("gradescope", "01_softmax", "-o", str(out))
    assert done.returncode == 0, done.stderr
    return out


def _layout(bundle: Path, root: Path, submission: Path | None) -> Path:
    """/autograder as Gradescope makes it: source/ (the zip), run_autograder, submission/."""
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "submission").mkdir()
    (root / "results").mkdir()
    if submission is not None:
        shutil.copy(submission, root / "submission" / "notebook.ipynb")
    return root


def _run(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": sys.executable}
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def test_bundle_content(bundle):
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        setup = zf.read("setup.sh").decode()
        run = zf.read("run_autograder").decode()
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    assert {"setup.sh", "run_autograder", "assignment/01_softmax.ipynb",
            "course/pyproject.toml", "course/course_lib/grading/runner.py"} <= names
    assert not any("__pycache__" in n for n in names)
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert "pip install" in setup and "./course" in setup and "chmod -R go-rwx" in setup
    assert "course_lib.grading grade" in run and "ASSIGNMENT=01_softmax" in run


def test_run_autograder_grades_the_reference(bundle, tmp_path):
    root = _layout(bundle, tmp_path, ROOT / "solutions" / "01_softmax.ipynb")
    results = _run(root)
    assert results["score"] == 10 and len(results["tests"]) == 10
    assert (root / "source").stat().st_mode & 0o077 == 0    # root-only before student code


def test_run_autograder_ignores_a_forged_results_file(bundle, tmp_path):
    root = _layout(bundle, tmp_path, FIXTURES / "01_softmax" / "fake_results.ipynb")
    results = _run(root)
    assert results["score"] == 0 and results["tests"], results


def test_run_autograder_without_a_notebook_still_writes_results(bundle, tmp_path):
    results = _run(_layout(bundle, tmp_path, None))
    assert results["score"] == 0 and "exactly one .ipynb" in results["output"]


def test_a_failing_grade_prints_its_log_tail_and_no_hidden_test(bundle, tmp_path):
    """Gradescope shows the instructor run_autograder's stdout: when `course grade` fails,
    the end of its log is there (the error), without source lines that could hold tests."""
    root = _layout(bundle, tmp_path, ROOT / "solutions" / "01_softmax.ipynb")
    source = root / "source" / "assignment" / "01_softmax.ipynb"
    text = source.read_text()
    source.write_text(text[: text.index("BEGIN HIDDEN TESTS") + 200])   # a truncated source
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "COURSE_PYTHON": sys.executable}
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and "could not grade" in results["output"]
    assert "course grade" in done.stdout and "not a readable notebook" in done.stdout
    assert "HIDDEN" not in done.stdout and "hidden=True" not in done.stdout
    assert not [line for line in done.stdout.splitlines() if line.startswith("    ")]
