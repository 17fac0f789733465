"""``course release``: exercises/ from solutions/, as nbgrader's generate_assignment does.

In every notebook of ``solutions/``: the code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` becomes ``# YOUR CODE HERE`` / ``raise NotImplementedError()`` (a
solution cell without the markers is replaced whole; a Markdown one becomes
``YOUR ANSWER HERE``), the lines from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN
TESTS`` are removed, and outputs, execution counts and execution timings are cleared.
The nbgrader metadata stays, so the released notebooks still say which cells are answers.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"


def clear_solutions(text: str, markdown: bool = False) -> str:
    """Replace each solution region (markers included) by the stub, at the marker's indent."""
    lines = text.splitlines()
    if not any(line.strip() == BEGIN_SOLUTION for line in lines):
        return MARKDOWN_STUB if markdown else "\n".join(CODE_STUB)
    out: list[str] = []
    inside = False
    for line in lines:
        if line.strip() == BEGIN_SOLUTION:
            indent = line[: len(line) - len(line.lstrip())]
            out.extend([indent + MARKDOWN_STUB] if markdown else [indent + s for s in CODE_STUB])
            inside = True
        elif line.strip() == END_SOLUTION:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def remove_hidden_tests(text: str) -> str:
    """Drop the hidden-test regions, markers included."""
    out, inside = [], False
    for line in text.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            inside = True
        elif line.strip() == END_HIDDEN:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out).rstrip("\n")


def release_notebook(nb: Any) -> Any:
    """The student version of the source notebook ``nb`` (an nbformat NotebookNode)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = clear_solutions(cell.source, markdown=cell.cell_type == "markdown")
        if BEGIN_HIDDEN in cell.source:
            cell.source = remove_hidden_tests(cell.source)
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.metadata.pop("widgets", None)
    return nb


class ReleaseError(Exception):
    """Nothing to release: no solutions folder, or no notebooks in it."""


def release(solutions: Path, exercises: Path) -> tuple[list[Path], int]:
    """Write ``exercises/NAME.ipynb`` for every ``solutions/NAME.ipynb``.

    Returns the paths whose content changed (only those are written) and the number of
    notebooks released. :class:`ReleaseError` when ``solutions`` holds no notebook, before
    anything is created.
    """
    import nbformat

    if not solutions.is_dir():
        raise ReleaseError(f"no folder {solutions}/ here ({Path.cwd()}): run `course release` "
                           "from the course folder (the one holding solutions/), or give "
                           "--solutions DIR")
    sources = sorted(solutions.glob("*.ipynb"))
    if not sources:
        raise ReleaseError(f"no notebooks in {solutions}/: nothing to release")
    exercises.mkdir(parents=True, exist_ok=True)
    changed = []
    for path in sources:
        released = release_notebook(nbformat.read(path, as_version=4))
        target = exercises / path.name
        text = nbformat.writes(released) + "\n"
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.write_text(text, encoding="utf-8")
        changed.append(target)
    return changed, len(sources)
