"""`course grade` on every fixture: the scores, the flags, the files, and what never leaks.

One grading run per assignment (``--jobs 2``, a fixed seed) is shared by the tests here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading.assignments import get_assignment
from course_lib.grading.compare import _show
from course_lib.grading.specs import case_inputs
from tests.grading.conftest import (
    ROOT,
    SEED,
    TIMEOUT,
    grade,
    read_grades,
    read_results,
    stage,
    worker_processes,
)
from tests.grading.fixture_specs import EXPECTED

pytestmark = pytest.mark.slow
CASES = [(a, kind) for a, kinds in EXPECTED.items() for kind in kinds]


@pytest.mark.parametrize(("assignment", "kind"), CASES, ids=[f"{a}-{k}" for a, k in CASES])
def test_fixture_scores_as_expected(graded, assignment, kind):
    out = graded(assignment)
    score, flags = EXPECTED[assignment][kind]
    row = read_grades(out)[kind]
    assert float(row["score"]) == score, (out / kind / "feedback.md").read_text()
    assert float(row["max_score"]) == 10
    assert tuple(row["flags"].split(";") if row["flags"] else ()) == flags
    results = read_results(out, kind)
    assert results["score"] == score
    assert results["extra_data"]["complete"] is True
    assert sum(t["score"] for t in results["tests"]) == score


@pytest.mark.parametrize("assignment", list(EXPECTED))
def test_results_json_is_gradescope_format(graded, assignment):
    out = graded(assignment)
    spec = get_assignment(assignment)
    cases = {f"{q.id} {q.function}: {c.name}": c for q in spec.questions for c in q.cases}
    for folder in sorted(p for p in out.iterdir() if p.is_dir()):
        data = read_results(out, folder.name)
        assert {"score", "execution_time", "output", "tests"} <= set(data)
        assert [t["name"] for t in data["tests"]] == list(cases), folder.name
        for test in data["tests"]:
            case = cases[test["name"]]
            assert test["status"] in ("passed", "failed")
            assert (test["status"] == "passed") == (test["score"] == test["max_score"])
            assert test["max_score"] == case.points
            assert test["visibility"] == ("after_published" if case.hidden else "visible")
            assert test["output"].startswith(f"Input: {case.describe}.")
        assert (folder / "feedback.md").is_file()
    assert not list(out.rglob("*.tmp")), "a temporary file of an atomic write was left"


def _hidden_strings(assignment: str) -> set[str]:
    """Renderings of every hidden input value that a leaky message could contain."""
    spec = get_assignment(assignment)
    strings: set[str] = set()
    for question in spec.questions:
        for case in (c for c in question.cases if c.hidden):
            args, kwargs = case_inputs(question, case, SEED)
            for value in [*args, *kwargs.values()]:
                for arr in value if isinstance(value, tuple) else (value,):
                    arr = np.asarray(arr)
                    if arr.dtype.kind != "f" or arr.size == 0:
                        continue
                    strings.add(_show(arr))
                    for v in arr.ravel()[:200]:
                        strings.update({repr(float(v)), f"{v:.6g}"})
    # Short numbers (0.5, 2.0) appear anywhere (a score, a tolerance): not evidence of a leak.
    return {s for s in strings if sum(ch.isdigit() for ch in s) >= 4}


@pytest.mark.parametrize("assignment", list(EXPECTED))
def test_no_feedback_contains_a_hidden_input(graded, assignment):
    out = graded(assignment)
    hidden = _hidden_strings(assignment)
    assert len(hidden) > 20
    for path in [*out.rglob("feedback.md"), *out.rglob("results.json")]:
        text = path.read_text()
        leaked = sorted(s for s in hidden if s in text)
        assert not leaked, f"{path}: {leaked[:5]}"


def test_no_process_outlives_grading(graded):
    for assignment in EXPECTED:
        graded(assignment)          # the fork fixture left children that must be gone
    assert worker_processes() == []


def test_forged_results_files_do_not_count(graded):
    out = graded("01_softmax")
    assert read_results(out, "fake_results")["score"] == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*EXPECTED["01_softmax"], "grades.csv", "run.json"])
    assert not (ROOT / "results.json").exists() and not (ROOT / "grades").exists()


def _comparable(out: Path) -> dict[str, str]:
    """Every file under ``out`` except run-time numbers (results.json's execution_time)."""
    files = {}
    for path in sorted(out.rglob("*")):
        if path.is_file():
            text = path.read_text()
            if path.name == "results.json":
                text = "\n".join(line for line in text.splitlines()
                                 if '"execution_time"' not in line)
            files[str(path.relative_to(out))] = text
    return files


def _wait_for_results(out: Path, count: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while len(list(out.glob("*/results.json"))) < count and time.monotonic() < deadline:
        assert proc.poll() is None, "grading finished before it could be interrupted"
        time.sleep(0.05)


def test_interrupted_run_reruns_to_the_same_files_with_one_job(graded, tmp_path):
    """Kill `course grade` mid-run (--jobs 2): no worker survives; a re-run with --jobs 1 and
    no --seed (it reuses the seed in run.json) writes exactly the files of the full run."""
    reference = graded("01_softmax")
    out = tmp_path / "grades"
    paths = stage("01_softmax", tmp_path / "submissions")
    cmd = [sys.executable, "-m", "course_lib.grading", "grade", "01_softmax", *map(str, paths),
           "--out", str(out), "--jobs", "2", "--timeout", TIMEOUT, "--seed", str(SEED)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_results(out, 4, proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    time.sleep(1.0)                 # parent-death signals are delivered asynchronously
    assert worker_processes() == []
    assert not (out / "grades.csv").exists()
    grade("01_softmax", out, jobs=1)
    ours, theirs = _comparable(out), _comparable(reference)
    assert sorted(ours) == sorted(theirs)
    assert [k for k in ours if ours[k] != theirs[k]] == []
    shutil.rmtree(tmp_path / "submissions")
