"""Assignments from one source: solutions/ is the source, exercises/ is released from it,
and nbgrader accepts the sources as they are."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import notebook
from course_lib.grading.assignments import ASSIGNMENTS
from course_lib.grading.release import release
from tests.grading.conftest import ROOT
from tests.grading.make_fixtures import expected_files

SOURCES = sorted((ROOT / "solutions").glob("*.ipynb"))


def test_every_assignment_has_a_source_and_an_exercise():
    assert [p.stem for p in SOURCES] == sorted(ASSIGNMENTS)
    assert len(SOURCES) >= 5
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == [
        p.name for p in SOURCES]


def test_exercises_are_up_to_date(tmp_path):
    """`course release` regenerates exercises/ byte for byte; re-run it after editing one."""
    release(ROOT / "solutions", tmp_path)
    for path in SOURCES:
        released = (tmp_path / path.name).read_text()
        assert (ROOT / "exercises" / path.name).read_text() == released, (
            f"exercises/{path.name} is out of date: run `course release`")


def test_fixtures_are_up_to_date():
    """The fixture notebooks are the current exercises filled in (make_fixtures.py)."""
    for path, text in expected_files().items():
        assert path.read_text() == text, f"{path} is stale: run tests/grading/make_fixtures.py"


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_source_metadata_matches_the_specifications(path):
    nb = json.loads(path.read_text())
    spec = ASSIGNMENTS[path.stem]
    for cell in nb["cells"]:
        meta = notebook.nbgrader(cell)
        if meta:
            assert meta["schema_version"] == 3 and {"grade_id", "solution", "grade",
                                                    "locked"} <= set(meta)
    pairs = notebook.questions_in_tests(nb)
    assert [q for q, _ in pairs] == [q.id for q in spec.questions]
    assert [f for _, f in pairs] == [q.function for q in spec.questions]
    points = {notebook.source(c).split('"')[1]: notebook.nbgrader(c)["points"]
              for c in nb["cells"] if notebook.nbgrader(c).get("grade")}
    assert points == {q.id: q.points for q in spec.questions}
    answers = "\n".join(notebook.source(c) for c in nb["cells"]
                        if notebook.nbgrader(c).get("solution"))
    for question in spec.questions:
        assert f"def {question.function}(" in answers


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_release_removes_solutions_and_hidden_tests(path):
    released = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
    text = json.dumps(released)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "hidden=True"):
        assert marker not in text
    for cell in released.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            if cell.metadata["nbgrader"].get("solution"):
                assert "raise NotImplementedError()" in cell.source


@pytest.mark.slow
def test_nbgrader_generate_assignment_accepts_the_sources(tmp_path):
    """The real `nbgrader generate_assignment` on our sources (all five notebooks as one
    nbgrader assignment, one process), in a throwaway course; it releases what we release."""
    course = tmp_path / "course"
    folder = course / "source" / "all"
    folder.mkdir(parents=True)
    for path in SOURCES:
        shutil.copy(path, folder / path.name)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = r'{course}'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n")
    bin_dir = Path(sys.executable).parent       # nbgrader runs `alembic` from PATH
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(bin_dir / "nbgrader"), "generate_assignment", "all", "--force"],
                          cwd=course, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    for path in SOURCES:
        generated = nbformat.read(course / "release" / "all" / path.name, as_version=4)
        ours = nbformat.read(ROOT / "exercises" / path.name, as_version=4)
        assert [c.source for c in generated.cells] == [c.source for c in ours.cells], (
            f"nbgrader released {path.name} differently")
