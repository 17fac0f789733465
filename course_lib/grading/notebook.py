"""Reading notebooks: answer cells, test cells and nbgrader metadata, with no kernel.

A submission is read as plain JSON (up to 256 MiB; the outputs stored in it are dropped at
once, since grading runs the answer cells and never looks at outputs); anything unreadable raises
:class:`NotebookError` with a reason, which the grader turns into a score of 0, not a crash.
Answer cells are matched to the source notebook's solution cells by nbgrader ``grade_id``;
test cells are read only from the *source* notebook, never from a submission.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

MAX_NOTEBOOK_BYTES = 256 << 20
LARGE_NOTEBOOK_BYTES = 20 << 20     # above this the feedback says why size did not matter
MAGIC = re.compile(r"^(\s*)([%!].*|.*\?\s*)$")


class NotebookError(Exception):
    """A notebook that cannot be read or has no usable cells."""


def load(path: Path) -> dict[str, Any]:
    """The notebook at ``path`` as a dict with a list of ``cells``."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            raise NotebookError(f"the file is {mib(size)}, more than the {mib(MAX_NOTEBOOK_BYTES)} "
                                "the grader reads (clear the outputs and hand it in again)")
        nb = json.loads(path.read_bytes())
    except NotebookError:
        raise
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(f"not a readable notebook ({type(exc).__name__}: {exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("not a notebook: no list of cells")
    for cell in nb["cells"]:
        if isinstance(cell, dict):
            cell.pop("outputs", None)           # they play no part in grading
    return nb


def mib(size: int) -> str:
    """``"60.0 MiB"``; the limits are stated in MiB (1 MiB = 1,048,576 bytes)."""
    return f"{size / (1 << 20):.1f} MiB" if size % (1 << 20) else f"{size >> 20} MiB"


def source(cell: Any) -> str:
    """A cell's source as one string (nbformat stores a string or a list of lines)."""
    if not isinstance(cell, dict):
        return ""
    src = cell.get("source", "")
    if isinstance(src, list):
        return "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else ""


def nbgrader(cell: Any) -> dict[str, Any]:
    """The cell's ``metadata.nbgrader`` dict (empty when absent or malformed)."""
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    value = meta.get("nbgrader") if isinstance(meta, dict) else None
    return value if isinstance(value, dict) else {}


def solution_ids(nb: dict[str, Any]) -> list[str]:
    """grade_ids of the source's code answer cells, in notebook order."""
    return [nbgrader(c)["grade_id"] for c in nb["cells"]
            if c.get("cell_type") == "code" and nbgrader(c).get("solution")]


def questions_in_tests(nb: dict[str, Any]) -> list[tuple[str, str]]:
    """``(question id, function name)`` of every ``check("id", function)`` in the test cells.

    This is all a test cell means to ``course grade``: which question specification to run
    against which of the student's functions.
    """
    found: list[tuple[str, str]] = []
    for cell in nb["cells"]:
        if cell.get("cell_type") != "code" or not nbgrader(cell).get("grade"):
            continue
        for node in ast.walk(ast.parse(source(cell))):
            name = getattr(node, "func", None)
            name = getattr(name, "id", None) or getattr(name, "attr", None)
            if isinstance(node, ast.Call) and name == "check" and len(node.args) >= 2:
                qid, fn = node.args[0], node.args[1]
                if isinstance(qid, ast.Constant) and isinstance(fn, ast.Name):
                    pair = (qid.value, fn.id)
                    if pair not in found:
                        found.append(pair)
    return found


def answer_cells(nb: dict[str, Any], ids: list[str]) -> tuple[list[str], list[str]]:
    """Sources of the submission's answer cells in the order of ``ids``, and notes.

    A missing answer cell (deleted, or its metadata edited) counts as empty.
    """
    by_id: dict[str, str] = {}
    for cell in nb["cells"]:
        grade_id = nbgrader(cell).get("grade_id")
        if isinstance(cell, dict) and cell.get("cell_type") == "code" and grade_id not in by_id:
            by_id[grade_id] = source(cell)
    notes = [f"answer cell {i} ({gid}) is missing from the submission; graded as empty"
             for i, gid in enumerate(ids) if gid not in by_id]
    return [to_python(by_id.get(gid, "")) for gid in ids], notes


def to_python(text: str) -> str:
    """IPython-only lines (``%magic``, ``!shell``, ``obj?``) commented out, line numbers kept.

    Grading runs plain Python; a cell magic (``%%``) comments out its whole cell.
    """
    try:
        ast.parse(text)
        return text                  # plain Python already (the usual case): leave it alone
    except SyntaxError:
        pass
    if text.lstrip().startswith("%%"):
        return "\n".join("# " + line for line in text.splitlines())
    return "\n".join(MAGIC.sub(r"\1# \2", line) if MAGIC.match(line) and not _is_python(line)
                     else line for line in text.splitlines())


def _is_python(line: str) -> bool:
    """A line ending in ``?`` may still be Python inside a string; trust the parser."""
    stripped = line.strip()
    if stripped.startswith(("%", "!")):
        return False
    try:
        ast.parse(stripped)
    except SyntaxError:
        return False
    return True
