"""Write tests/grading/fixtures/<assignment>/<kind>.ipynb from fixture_specs.py.

Run ``.venv/bin/python tests/grading/make_fixtures.py`` after changing an exercise or a
fixture; ``test_fixtures_are_up_to_date`` fails until you do. Each fixture is the released
exercise with its answer cells filled in: the fixture's code where it gives some, the
reference solution's code (the part between the solution markers) elsewhere.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIXTURES = HERE / "fixtures"
sys.path.insert(0, str(HERE))

from fixture_specs import CORRUPT  # noqa: E402 - found through the sys.path line above
from fixture_specs import FIXTURES as SPECS  # noqa: E402

CORRUPT_TEXT = '{"cells": [{"cell_type": "code", "source": "def log_softmax(x'


def solution_code(source: str) -> str:
    """A solution cell's source without the ``### BEGIN/END SOLUTION`` marker lines."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def build(assignment: str, kind: str, answers: dict[str, str]) -> str:
    """The fixture notebook's text."""
    exercise = nbformat.read(ROOT / "exercises" / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(ROOT / "solutions" / f"{assignment}.ipynb", as_version=4)
    reference = {c.metadata["nbgrader"]["grade_id"]: solution_code(c.source)
                 for c in solution.cells if c.metadata.get("nbgrader", {}).get("solution")}
    nb = copy.deepcopy(exercise)
    unknown = set(answers) - set(reference)
    if unknown:
        raise KeyError(f"{assignment}/{kind}: no answer cells {sorted(unknown)}")
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in reference:
            cell.source = answers.get(grade_id, reference[grade_id]).strip("\n")
    return nbformat.writes(nb) + "\n"


def expected_files() -> dict[Path, str]:
    """Every fixture's path and text."""
    files = {}
    for assignment, kinds in SPECS.items():
        for kind, answers in kinds.items():
            files[FIXTURES / assignment / f"{kind}.ipynb"] = build(assignment, kind, answers)
    for assignment, kind in CORRUPT.items():
        files[FIXTURES / assignment / f"{kind}.ipynb"] = CORRUPT_TEXT
    return files


def main() -> None:
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
