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


def release(solutions: Path, exercises: Path) -> list[Path]:
    """Write ``exercises/NAME.ipynb`` for every ``solutions/NAME.ipynb``; return the paths."""
    import nbformat

    exercises.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(solutions.glob("*.ipynb")):
        released = release_notebook(nbformat.read(path, as_version=4))
        target = exercises / path.name
        target.write_text(nbformat.writes(released) + "\n", encoding="utf-8")
        written.append(target)
    return written
