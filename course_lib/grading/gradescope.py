"""``course gradescope``: a Gradescope autograder bundle that runs this same grader.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once (with network)
to build the image, and for every submission copies ``run_autograder`` to
``/autograder/run_autograder`` and runs it as root with the student's files in
``/autograder/submission``; it reads ``/autograder/results/results.json``. The bundle holds the
course_lib source (to install), the assignment's source notebook and the two scripts.
``run_autograder`` makes the bundle and the results directory readable by root only before
any student code runs, so even where no namespace is allowed the worker's unprivileged uid can
read neither, and it always leaves a results.json, even when grading fails; then it prints the
end of the grader's log to stdout, which Gradescope shows the instructor.
"""

from __future__ import annotations

import shlex
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]          # .../course_lib
PROJECT_FILES = ("pyproject.toml", "README.md")

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, with network, to build the autograder image (Ubuntu 24.04 base:
# course_lib needs Python >= 3.11). It installs course_lib and its pinned dependencies.
set -euo pipefail
cd /autograder/source
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv util-linux
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --no-cache-dir ./course
# The installed course_lib holds the reference answers: readable by root (the grader) only.
chmod -R go-rwx "$(/autograder/venv/bin/python -c \\
    'import course_lib, os; print(os.path.dirname(course_lib.__file__))')"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this as root for each submission. It grades the one notebook in
# submission/ with `course grade` (same sandbox, same trusted comparison) and always leaves
# results/results.json. AUTOGRADER_ROOT and COURSE_PYTHON override the defaults (for tests).
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)}}"
PYTHON="${{COURSE_PYTHON:-/autograder/venv/bin/python}}"
ASSIGNMENT={assignment}
RESULTS="$ROOT/results"
mkdir -p "$RESULTS"
# Student code runs as an unprivileged uid: make the bundle and the results root-only first.
chmod -R go-rwx "$ROOT/source" "$RESULTS"
fail() {{
    printf '{{"score": 0, "execution_time": 0, "output": "%s", "tests": []}}\\n' "$1" \\
        > "$RESULTS/results.json"
    exit 0
}}
shopt -s nullglob
notebooks=("$ROOT"/submission/*.ipynb)
[ "${{#notebooks[@]}}" -eq 1 ] || fail "Submit exactly one .ipynb file (found ${{#notebooks[@]}})."
work="$(mktemp -d)"
chmod 700 "$work"
cp "${{notebooks[0]}}" "$work/submission.ipynb"
seed="$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')"
"$PYTHON" -m course_lib.grading grade "$ROOT/source/assignment/$ASSIGNMENT.ipynb" \\
    "$work/submission.ipynb" --out "$work/grades" --jobs 1 --seed "$seed" \\
    > "$work/log.txt" 2>&1
if [ -f "$work/grades/submission/results.json" ]; then
    cp "$work/grades/submission/results.json" "$RESULTS/results.json"
    rm -rf "$work"
else
    # Gradescope shows this script's stdout to the instructor only: the end of the log, minus
    # indented lines (a traceback's source lines, which could quote a test).
    echo "course grade wrote no results.json; the last lines of its log:"
    tail -n 40 "$work/log.txt" | grep -v '^    '
    fail "The autograder could not grade this submission; please tell your instructor."
fi
"""


def _add_tree(zf: zipfile.ZipFile, root: Path, arcroot: str) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            zf.write(path, f"{arcroot}/{path.relative_to(root)}")


def _script(zf: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = 0o755 << 16          # executable once unpacked
    zf.writestr(info, text)


def build_bundle(assignment: str, source: Path, output: Path) -> None:
    """Write the Gradescope bundle for ``assignment`` (source notebook ``source``)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as zf:
        _script(zf, "setup.sh", SETUP_SH)
        _script(zf, "run_autograder", RUN_AUTOGRADER.format(assignment=shlex.quote(assignment)))
        zf.write(source, f"assignment/{assignment}.ipynb")
        _add_tree(zf, PACKAGE, "course/course_lib")
        for name in PROJECT_FILES:
            if (PACKAGE.parent / name).is_file():
                zf.write(PACKAGE.parent / name, f"course/{name}")
