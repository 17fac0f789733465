"""Grading speed: `course grade` against `nbgrader autograde`, on the same submissions.

Run by ``make bench`` (``.venv/bin/python benchmarks/bench_grading.py``). The submissions are
copies of five ordinary fixtures of the NumPy-only assignment 01_softmax (reference,
alternative, naive, partial, exception), ``--submissions`` of them in all. Both tools get the
very same files, in which the Setup cell is NumPy-only (the lessons' Setup imports TensorFlow
to assert its version; nbgrader runs every cell, and charging it TF's ~4 s start-up per
notebook would flatter us). nbgrader's gradebook is prepared untimed (``generate_assignment``
and the submitted/ tree); then, round-robin for ``--rounds`` rounds, one
``nbgrader autograde --force`` of the batch (its documented way: one process, one kernel per
notebook) and one ``course grade --jobs N`` of the batch (N = the core count) are timed: wall
time, and the CPU time of the process and all its children (kernels, workers) from
``RUSAGE_CHILDREN``. Per-submission numbers are batch totals divided by the batch size;
medians over the rounds are reported.

Targets: <= 0.5 s CPU per submission for `course grade`, and >= 3x faster per
submission (wall) than `nbgrader autograde`. Writes benchmarks/results/grading.md and .json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import LoadMeter, cpu_model, md_table, versions

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ASSIGNMENT = "01_softmax"
KINDS = ("reference", "alternative", "naive", "partial", "exception")
NUMPY_SETUP = "import numpy as np\n\nfrom course_lib.grading import check"
CPU_TARGET, SPEEDUP_TARGET = 0.5, 3.0


def numpy_setup(path: Path, target: Path) -> None:
    """``path`` with its Setup cell reduced to NumPy (and its stored outputs dropped)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "setup":
            cell.source = NUMPY_SETUP
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def prepare(work: Path, count: int) -> list[Path]:
    """The nbgrader course tree and the same ``count`` submissions for `course grade`."""
    numpy_setup(ROOT / "solutions" / f"{ASSIGNMENT}.ipynb",
                work / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    (work / "course" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = r'{work / 'course'}'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{work / 'course'}/gradebook.db'\n"
        "c.ExecutePreprocessor.timeout = 30\n")
    sources = {"reference": ROOT / "solutions" / f"{ASSIGNMENT}.ipynb"}
    sources.update({k: ROOT / "tests" / "grading" / "fixtures" / ASSIGNMENT / f"{k}.ipynb"
                    for k in KINDS[1:]})
    paths = []
    for i in range(count):
        student = f"student{i + 1:02d}"
        path = work / "submissions" / f"{student}.ipynb"
        numpy_setup(sources[KINDS[i % len(KINDS)]], path)
        target = work / "course" / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copy(path, target)
        paths.append(path)
    run(_nbgrader("generate_assignment", ASSIGNMENT, "--force"), work / "course")
    return paths


def _nbgrader(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("nbgrader")), *args]


def run(cmd: list[str], cwd: Path) -> dict[str, float]:
    """Run ``cmd``; its wall time and the CPU seconds of it and all its children."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with LoadMeter() as load:
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "other_load": load.other}


def course_grade(work: Path, paths: list[Path], jobs: int) -> dict[str, float]:
    out = work / "grades"
    shutil.rmtree(out, ignore_errors=True)
    source = work / "course" / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return run([sys.executable, "-m", "course_lib.grading", "grade", str(source),
                *map(str, paths), "--out", str(out), "--jobs", str(jobs), "--seed", "1"], ROOT)


def nbgrader_autograde(work: Path) -> dict[str, float]:
    return run(_nbgrader("autograde", ASSIGNMENT, "--force"), work / "course")


def check_scores(work: Path, count: int) -> dict[str, float]:
    """Both tools' total scores: proof that both graded (nbgrader's are lower, as a test
    cell there is all or nothing, where `course grade` gives each test its points)."""
    rows = (work / "grades" / "grades.csv").read_text().splitlines()[1:]
    ours = sum(float(r.split(",")[1]) for r in rows)
    import sqlite3

    db = sqlite3.connect(work / "course" / "gradebook.db")
    theirs = db.execute("SELECT SUM(COALESCE(manual_score, auto_score)) FROM grade").fetchone()[0]
    return {"course_total": ours, "nbgrader_total": float(theirs), "submissions": count}


def summarise(samples: list[dict[str, float]], count: int) -> dict[str, float]:
    return {"wall_per_submission": statistics.median(s["wall"] for s in samples) / count,
            "cpu_per_submission": statistics.median(s["cpu"] for s in samples) / count,
            "batch_wall": statistics.median(s["wall"] for s in samples),
            "other_load": statistics.median(s["other_load"] for s in samples)}


def report(result: dict) -> str:
    ours, theirs = result["course"], result["nbgrader"]
    rows = [[name, f"{r['wall_per_submission']:.3f}", f"{r['cpu_per_submission']:.3f}",
             f"{r['batch_wall']:.1f}", f"{r['other_load']:.2f}"]
            for name, r in ((f"course grade --jobs {result['jobs']}", ours),
                            ("nbgrader autograde", theirs))]
    verdicts = [[f"CPU per submission <= {CPU_TARGET} s", f"{ours['cpu_per_submission']:.3f} s",
                 result["cpu_verdict"]],
                [f"per submission >= {SPEEDUP_TARGET:g}x faster than nbgrader (wall)",
                 f"{result['speedup']:.1f}x", result["speedup_verdict"]]]
    return "\n\n".join([
        "# Grading speed: `course grade` vs `nbgrader autograde`",
        f"{result['submissions']} submissions of {ASSIGNMENT} (NumPy only), the same files for "
        f"both tools; median of {result['rounds']} rounds. Generated by "
        f"`benchmarks/bench_grading.py` on {result['date']}, {result['cpu']}, "
        f"{result['cores']} cores; versions {result['versions']}.",
        md_table(["tool", "wall s / submission", "CPU s / submission", "batch wall s",
                  "others' CPU share"], rows),
        md_table(["target", "measured", "verdict"], verdicts),
        f"Total scores: course {result['scores']['course_total']:g} (points per test), "
        f"nbgrader {result['scores']['nbgrader_total']:g} (a test cell is all or nothing: "
        "the naive submission's overflow costs it whole questions). CPU counts every process "
        "(nbgrader's "
        "kernels; course's sandboxed workers). Others' CPU share is the machine's load from "
        "other processes during the runs (0.5 = one core of two).",
    ]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    jobs = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="bench-grading-"))
    try:
        paths = prepare(work, args.submissions)
        course_grade(work, paths, jobs)                 # warm the page cache, untimed
        ours, theirs = [], []
        for _ in range(args.rounds):
            theirs.append(nbgrader_autograde(work))
            ours.append(course_grade(work, paths, jobs))
        scores = check_scores(work, args.submissions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"date": dt.date.today().isoformat(), "cpu": cpu_model(), "cores": jobs,
              "versions": versions(), "submissions": args.submissions, "rounds": args.rounds,
              "jobs": jobs, "course": summarise(ours, args.submissions),
              "nbgrader": summarise(theirs, args.submissions), "scores": scores,
              "samples": {"course": ours, "nbgrader": theirs}}
    result["speedup"] = (result["nbgrader"]["wall_per_submission"]
                         / result["course"]["wall_per_submission"])
    result["cpu_verdict"] = "PASS" if result["course"]["cpu_per_submission"] <= CPU_TARGET \
        else "FAIL"
    result["speedup_verdict"] = "PASS" if result["speedup"] >= SPEEDUP_TARGET else "FAIL"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "grading.json").write_text(json.dumps(result, indent=1) + "\n")
    text = report(result)
    (RESULTS / "grading.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
