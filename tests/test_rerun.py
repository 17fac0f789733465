"""Every lesson is safe to re-run: the same outputs on a second Run All, and from any one cell.

A learner runs a lesson, then runs it all again, or goes back and re-runs one cell. Both must
print what the lesson stores. For each notebook in ``notebooks/`` (the glob: new lessons are
included as they appear), in ONE kernel:

1. Run All once (this run's outputs are what nbval checks already);
2. Run All again, and compare each code cell's outputs with the stored ones;
3. re-execute every code cell once more, last to first, and compare each cell's outputs with
   its own stored ones. A cell that reads a name a later cell redefines, mutates an array in
   place, or draws random numbers from a generator seeded in an earlier cell fails here.

Outputs are compared as nbval compares them (``--nbval-sanitize-with tests/nbval_sanitize.cfg``
and this suite's conftest): streams coalesced per name and compared by text, stderr ignored,
every MIME type of a rich output compared except images (``image/png``, ``image/jpeg``) and
widget views, so a figure is compared by its ``text/plain``; the regex sanitizers applied to
both sides; cells tagged ``nbval-ignore-output`` (or with a ``# NBVAL_IGNORE_OUTPUT`` comment)
are executed but not compared, ``nbval-skip`` cells are not executed, and a cell marked
``raises-exception`` may raise (its error is compared like an output).
"""

from __future__ import annotations

import copy
import difflib
import re
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANITIZE = re.findall(r"^regex: (.*)$\n^replace: (.*)$",
                      (ROOT / "tests" / "nbval_sanitize.cfg").read_text(encoding="utf-8"),
                      flags=re.MULTILINE)
NOT_COMPARED = {"image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json"}
IGNORE_MARKERS = {"nbval-ignore-output", "nbval-skip"}
SKIP_MARKERS = {"nbval-skip"}                      # nbval does not run these cells at all
RAISES_MARKERS = {"raises-exception", "nbval-raises-exception"}
MAX_REPORTED = 8            # differing cells shown in a failure message
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def sanitize(text: str) -> str:
    for regex, replace in SANITIZE:
        text = re.sub(regex, replace, text)
    return text


def markers(cell) -> set[str]:
    """nbval's markers of a cell: its tags, and its marker comments spelt as tags."""
    comments = {line.strip().lstrip("#").strip() for line in cell.source.splitlines()
                if line.strip().startswith("#")}
    spelt = {c.lower().replace("_", "-") for c in comments if c.startswith(("NBVAL_", "PYTEST_"))}
    return set(cell.get("metadata", {}).get("tags", [])) | spelt | (
        {"nbval-ignore-output"} if "PYTEST_VALIDATE_IGNORE_OUTPUT" in comments else set())


def compared(cell) -> bool:
    """False for the cells nbval does not compare (tags, or the comment markers)."""
    return not IGNORE_MARKERS & markers(cell)


def comparable(outputs) -> dict[str, list[str]]:
    """nbval's view of a cell's outputs: per key (stream name, MIME type, error field), the list
    of sanitized values in output order."""
    view: dict[str, list[str]] = defaultdict(list)
    streams: dict[str, list[str]] = defaultdict(list)
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            streams[output.get("name", "stdout")].append(
                text if isinstance(text, str) else "".join(text))
        elif kind in ("execute_result", "display_data"):
            for mime, value in output.get("data", {}).items():
                if mime not in NOT_COMPARED:
                    view[mime].append(sanitize(value if isinstance(value, str) else
                                               "".join(value) if isinstance(value, list) else
                                               repr(value)))
        elif kind == "error":
            view["error"].append(f"{output.get('ename')}: {output.get('evalue')}")
    for name, texts in streams.items():
        if name != "stderr":                    # conftest: nbval does not compare stderr
            view[f"stream {name}"].append(sanitize("".join(texts)))
    return dict(view)


def difference(stored: dict[str, list[str]], got: dict[str, list[str]]) -> str:
    """A readable unified diff of two ``comparable`` views (empty when they agree)."""
    if stored == got:
        return ""

    def lines(view):
        return [f"[{key}] {line}" for key in sorted(view) for value in view[key]
                for line in value.splitlines() or [""]]

    diff = difflib.unified_diff(lines(stored), lines(got), "stored", "re-run", lineterm="", n=1)
    return "\n".join(list(diff)[:40])


def first_line(cell) -> str:
    return next((line for line in cell.source.splitlines() if line.strip()), "")[:70]


def test_the_comparison_is_nbvals():
    """Images, widget views and stderr are not compared; streams are joined per name; the
    sanitizers apply; tags and comments mark cells as nbval reads them."""
    def out(**fields):
        return nbformat.from_dict(fields)

    outputs = [out(output_type="stream", name="stdout", text="a = 1\n"),
               out(output_type="stream", name="stderr", text="W0000 a warning\n"),
               out(output_type="stream", name="stdout", text="<object at 0x7f3a>\n"),
               out(output_type="display_data", metadata={},
                   data={"image/png": "iVBOR", "text/plain": "<Figure size 600x350 with 1 Axes>"})]
    view = comparable(outputs)
    assert view == {"stream stdout": ["a = 1\n<object at 0xADDRESS>\n"],
                    "text/plain": ["<Figure size 600x350 with 1 Axes>"]}
    figure = "<Figure size 600x350 with 1 Axes>"
    other = comparable([*outputs[:3], out(output_type="display_data", metadata={},
                                          data={"image/png": "other", "text/plain": figure})])
    assert difference(view, other) == ""
    changed = comparable([out(output_type="stream", name="stdout", text="a = 2\n")])
    assert "-[stream stdout] a = 1" in difference(view, changed)
    assert "+[stream stdout] a = 2" in difference(view, changed)
    tagged = nbformat.v4.new_code_cell("x", metadata={"tags": ["nbval-ignore-output"]})
    commented = nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nx")
    skipped = nbformat.v4.new_code_cell("# NBVAL_SKIP\nx")
    assert not compared(tagged) and not compared(commented)
    assert compared(nbformat.v4.new_code_cell("x  # a comment"))
    assert SKIP_MARKERS & markers(skipped)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_second_run_all_and_each_cell_again_reproduce_the_stored_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [(index, cell) for index, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    stored = {index: comparable(copy.deepcopy(cell.outputs)) for index, cell in code}
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=False, coalesce_streams=True,
                            record_timing=False)
    failures: list[str] = []

    def run(index, cell, when: str, compare: bool = True) -> None:
        if SKIP_MARKERS & markers(cell):
            return
        try:
            client.execute_cell(cell, index)
        except CellExecutionError as error:
            if not RAISES_MARKERS & markers(cell):  # else expected: its error is compared below
                message = ANSI.sub("", f"{error.ename}: {error.evalue}".strip())
                failures.append(f"{path.name}, cell {index} ({when}) `{first_line(cell)}` "
                                f"raised {message}")
                return
        if compare and compared(cell):
            if diff := difference(stored[index], comparable(cell.outputs)):
                failures.append(f"{path.name}, cell {index} ({when}) `{first_line(cell)}` "
                                f"prints something else:\n{diff}")

    with client.setup_kernel():
        for index, cell in code:
            run(index, cell, "first Run All", compare=False)          # nbval compares it
        for index, cell in code:
            run(index, cell, "second Run All")
        for index, cell in reversed(code):
            run(index, cell, "re-run alone, last cell to first")
    if failures:
        shown = "\n\n".join(failures[:MAX_REPORTED])
        more = len(failures) - MAX_REPORTED
        pytest.fail(f"{path.name} is not safe to re-run:\n\n{shown}"
                    + (f"\n\n... and {more} more" if more > 0 else ""), pytrace=False)
