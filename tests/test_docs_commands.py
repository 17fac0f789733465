"""Every command README.md and docs/instructors.md print works when pasted.

A command is a line of a ``bash``/``sh``/``console`` code block, or an inline code span that
starts with a program and an argument (``make lab``, ``.venv/bin/course release``,
``conda env create ...``; not a bare program name such as ``make``). Each one is
either run here exactly as written, in a temporary copy of the working tree that reuses
``.venv`` through a symlink (servers are probed over HTTP, then stopped), or listed in
``NOT_RUN`` with the reason it is not. A command found in neither fails the test, and so does
a listed command the docs no longer print.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from servers import ROOT, TOKEN, copy_course, get, page_config, quiet_env, running

DOCS = ("README.md", "docs/instructors.md")
SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console)\n(.*?)^```", re.M | re.S)
ANY_BLOCK = re.compile(r"^```.*?^```", re.M | re.S)
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND_START = re.compile(r"(make|\.venv/bin/\S+|conda|apt-get|pip|python3?|jupyter|voila|"
                           r"playwright|nbgrader|course) \S")   # a program and an argument

NOT_RUN = {
    "make test": "runs the whole suite, this test included",
    "make test-e2e": "the browser suite: CI runs it as its own step after `make test`",
    "make clean": "removes .venv, which the copy shares with the working tree",
    "make bench": "minutes of timing that needs a quiet machine; its tables are in "
                  "benchmarks/results/",
    "make notebooks": "re-executes every lesson and solution (minutes); nbval re-runs each "
                      "of them in `make test`",
    "conda env create -f environment.yml && conda activate which-cross-entropy":
        "needs conda and downloads every package; tests/test_environment.py checks that "
        "environment.yml pins what pyproject.toml pins",
    "python -m pytest": "the conda variant of `make test`",
    "apt-get install chromium": "installs a system package as root",
    "playwright install": "the README says never to run it (it downloads a browser)",
    "nbgrader generate_assignment": "names nbgrader's release command for comparison; "
                                    "tests/grading checks that it releases the same cells",
    "course grade": "names the command; its full form `.venv/bin/course grade ...` is run here",
    "python3 -m http.server -d build/site": "serves the built site on port 8000 until stopped; "
                                            "tests/e2e/test_site.py serves the same folder "
                                            "with http.server on a free port and opens every "
                                            "page",
}


def documented_commands() -> dict[str, str]:
    """``{command: "file, line N"}`` for every command the docs print."""
    found: dict[str, str] = {}
    for name in DOCS:
        text = (ROOT / name).read_text(encoding="utf-8")

        def where(pos: int, name: str = name, text: str = text) -> str:
            return f"{name}, line {text.count(chr(10), 0, pos) + 1}"

        for block in SHELL_BLOCK.finditer(text):
            body = block.group(1).replace("\\\n", " ")
            for offset, line in enumerate(body.splitlines()):
                command = re.sub(r"(^|\s+)#.*$", "", line).removeprefix("$ ").strip()
                if command:
                    found.setdefault(command, where(block.start(1)) + f" (+{offset})")
        prose = ANY_BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for span in INLINE.finditer(prose):
            command = span.group(1).strip()
            if COMMAND_START.match(command):
                found.setdefault(command, where(span.start()))
    return found


def test_every_documented_command_is_run_or_excused():
    documented = documented_commands()
    assert "make lab" in documented and ".venv/bin/course release" in documented
    unknown = {c: w for c, w in documented.items() if c not in RUN and c not in NOT_RUN}
    assert not unknown, ("commands in the docs that this test neither runs nor excuses "
                         f"(add them to RUN or NOT_RUN): {unknown}")
    stale = sorted((set(RUN) | set(NOT_RUN)) - set(documented))
    assert not stale, f"listed here but no longer in the docs: {stale}"
    assert not set(RUN) & set(NOT_RUN)


# ------------------------------------------------------------------ running them
@pytest.fixture(scope="module")
def course_copy(tmp_path_factory) -> Path:
    """A copy of the working tree (no .git, no caches) whose .venv is the real one."""
    return copy_course(tmp_path_factory.mktemp("course") / "which-cross-entropy")


def shell(command: str, cwd: Path, home: Path, timeout: float = 600) -> str:
    """Run ``command`` with bash in ``cwd``; return its output, fail with it on a non-zero exit."""
    result = subprocess.run(["bash", "-c", command], cwd=cwd, env=quiet_env(home),
                            capture_output=True, text=True, timeout=timeout)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command!r} exited with {result.returncode}:\n{output[-3000:]}"
    return output


def check_make_lab(command, copy, home):
    with running(command, cwd=copy, home=home, kind="lab") as base:
        status, headers, _ = get(f"{base}/?token={TOKEN}", follow=False)
        assert status == 302 and headers["Location"].split("?")[0].endswith(
            "/lab/tree/START_HERE.ipynb")
        status, _, _ = get(f"{base}/api/contents/notebooks/01_logits.ipynb?content=0"
                           f"&token={TOKEN}")
        assert status == 200


def check_activated_lab(command, copy, home):
    """The conda route: the same Lab as `make lab`, from an activated environment."""
    with running(command, cwd=copy, home=home, kind="activated") as base:
        status, headers, _ = get(f"{base}/?token={TOKEN}", follow=False)
        assert status == 302 and headers["Location"].split("?")[0].endswith(
            "/lab/tree/START_HERE.ipynb")
        assert "@jupyter/nbgrader" in page_config(base)["disabledExtensions"]


def check_make_lab_instructor(command, copy, home):
    with running(command, cwd=copy, home=home, kind="lab") as base:
        assert "@jupyter/nbgrader" not in page_config(base).get("disabledExtensions", {})


def check_voila_app(command, copy, home):
    """The app page renders: Voilà runs the notebook and the page carries its widget views."""
    with running(command, cwd=copy, home=home, kind="voila") as base:
        status, _, body = get(f"{base}/", timeout=300)
        assert status == 200, status
        assert b"application/vnd.jupyter.widget-view+json" in body, body[-2000:]


def check_make_venv(command, copy, home):
    output = shell(command, copy, home)
    assert "pip install" not in output, output     # up to date: nothing reinstalled


def check_release(command, copy, home):
    before = {p.name: p.read_bytes() for p in (copy / "exercises").glob("*.ipynb")}
    shell(command, copy, home)
    after = {p.name: p.read_bytes() for p in (copy / "exercises").glob("*.ipynb")}
    assert before.keys() == after.keys() and len(after) == 5


def check_grade(command, copy, home):
    submissions = copy / "submissions"
    submissions.mkdir(exist_ok=True)
    shutil.copy(copy / "solutions" / "01_softmax.ipynb", submissions / "alice.ipynb")
    shutil.copy(copy / "exercises" / "01_softmax.ipynb", submissions / "bob.ipynb")
    shell(command, copy, home)
    rows = (copy / "grades" / "01_softmax" / "grades.csv").read_text().splitlines()
    students = {row.split(",")[0]: row.split(",") for row in rows[1:]}
    assert set(students) == {"alice", "bob"}, rows
    score, max_score = float(students["alice"][1]), float(students["alice"][2])
    assert score == max_score > float(students["bob"][1]), rows


def check_late(command, copy, home):
    """A late submission graded into the class's folder joins the class's grades.csv."""
    grades = copy / "grades" / "01_softmax" / "grades.csv"
    if not grades.exists():     # the class is graded first, as the guide does
        check_grade(CLASS_GRADING, copy, home)
    late = copy / "late"
    late.mkdir(exist_ok=True)
    shutil.copy(copy / "solutions" / "01_softmax.ipynb", late / "carol.ipynb")
    shell(command, copy, home)
    students = {row.split(",")[0] for row in grades.read_text().splitlines()[1:]}
    assert students == {"alice", "bob", "carol"}, students


def check_help(command, copy, home):
    output = shell(command, copy, home)
    assert all(name in output for name in ("01_softmax", "05_sampled_softmax")), output


def check_version(command, copy, home):
    from importlib.metadata import version

    assert version("course_lib") in shell(command, copy, home)


def check_gradescope(command, copy, home):
    shell(command, copy, home)
    with zipfile.ZipFile(copy / "autograder-01.zip") as bundle:
        assert {"setup.sh", "run_autograder"} <= set(bundle.namelist())


def check_make_site(command, copy, home):
    shell(command, copy, home)
    assert (copy / "build" / "site" / "index.html").is_file()
    assert (copy / "build" / "site" / "notebooks" / "01_logits.html").is_file()


CLASS_GRADING = ".venv/bin/course grade 01_softmax submissions/*.ipynb --out grades/01_softmax"
RUN = {
    "make lab": check_make_lab,
    "make lab-instructor": check_make_lab_instructor,
    "jupyter lab --LabApp.app_settings_dir=jupyter/learner "
    "--LabApp.default_url=/lab/tree/START_HERE.ipynb": check_activated_lab,
    "make chooser": check_voila_app,
    "make experiments": check_voila_app,
    "make venv": check_make_venv,
    "make site": check_make_site,
    ".venv/bin/course release": check_release,
    CLASS_GRADING: check_grade,
    ".venv/bin/course grade 01_softmax late/*.ipynb --out grades/01_softmax": check_late,
    ".venv/bin/course grade --help": check_help,
    ".venv/bin/course --version": check_version,
    ".venv/bin/course gradescope 01_softmax -o autograder-01.zip": check_gradescope,
}


@pytest.mark.slow
@pytest.mark.parametrize("command", RUN, ids=list(RUN))
def test_documented_command_runs_as_written(command, course_copy, tmp_path):
    RUN[command](command, course_copy, tmp_path)
