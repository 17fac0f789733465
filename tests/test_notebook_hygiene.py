"""Stored notebooks are clean: run in order, no tracebacks, no widget state, versions asserted."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(ROOT.glob("notebooks/*.ipynb"))
NOTEBOOKS = LESSONS + sorted(ROOT.glob("solutions/*.ipynb"))
# The only kinds of cell whose output nbval may ignore: timings and interactive widgets.
ALLOWED_IGNORE = re.compile(r"perf_counter|timeit|time\.time|widgets|display\(|interact|results/")


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


@pytest.fixture(params=NOTEBOOKS, ids=ids(NOTEBOOKS))
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_there_are_lessons():
    assert LESSONS, "notebooks/ holds no lesson"


def test_executed_in_order_with_outputs(notebook):
    path, nb = notebook
    counts = [c.execution_count for c in code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: run out of order: {counts}"


def test_no_traceback_and_no_widget_state(notebook):
    path, nb = notebook
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state (use make notebooks)"
    for cell in code_cells(nb):
        for out in cell.outputs:
            assert out.output_type != "error", f"{path.name}: traceback in {cell.source[:60]}"
            assert not (out.output_type == "stream" and out.name == "stderr"), (
                f"{path.name}: stored stderr in cell {cell.execution_count}")


def test_structure_title_setup_and_version_asserts(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), path.name
    titles = [line for c in nb.cells if c.cell_type == "markdown"
              for line in c.source.splitlines() if line.startswith("# ")]
    assert len(titles) == 1, f"{path.name}: one H1 title, found {titles}"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for section in ("## Overview", "## Setup", "## Key takeaways"):
        assert section in markdown, f"{path.name}: missing {section}"
    setup = "\n".join(c.source for c in code_cells(nb)[:2])
    assert "tf.__version__" in setup and "keras.__version__" in setup, path.name


def test_ignore_output_only_on_timing_or_widget_cells(notebook):
    """nbval reads the cell tag ``nbval-ignore-output``; only timings and widgets may carry it."""
    path, nb = notebook
    for cell in code_cells(nb):
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            assert ALLOWED_IGNORE.search(cell.source), (
                f"{path.name}: nbval-ignore-output on a cell that neither times nor shows a widget:"
                f"\n{cell.source}")


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_no_nbval_comments_in_lessons(path):
    """Test plumbing stays out of the reader's view: nbval markers are cell tags, not comments."""
    nb = nbformat.read(path, as_version=4)
    marked = [cell.source for cell in code_cells(nb) if "NBVAL_" in cell.source]
    assert not marked, f"{path.name}: use the cell tag nbval-ignore-output instead of:\n{marked}"


RAW_ASSERTION = re.compile(r"\s*(assert\b|np\.testing\.assert)")


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_raw_assertions_are_at_most_a_tenth_of_the_code(path):
    """Checks read as part of the lesson (course_lib.proof.agree/holds print what they checked);
    lines starting with ``assert`` or ``np.testing.assert`` are at most 10 % of the code lines."""
    nb = nbformat.read(path, as_version=4)
    lines = [line for cell in code_cells(nb) for line in cell.source.splitlines() if line.strip()]
    raw = [line for line in lines if RAW_ASSERTION.match(line)]
    assert len(raw) <= 0.1 * len(lines), (
        f"{path.name}: {len(raw)} of {len(lines)} code lines are raw assertions; use "
        f"course_lib.proof.agree/holds:\n" + "\n".join(raw[:10]))


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_no_helper_functions_defined_in_lessons(path):
    """Reusable code lives in course_lib; a lesson imports it (solutions define answers)."""
    nb = nbformat.read(path, as_version=4)
    for cell in code_cells(nb):
        assert not re.search(r"^\s*(def|class) ", cell.source, re.M), (
            f"{path.name}: defines a helper; move it to course_lib:\n{cell.source}")


@pytest.mark.parametrize("path", LESSONS, ids=ids(LESSONS))
def test_relative_links_lead_to_files_and_practice_names_an_assignment(path):
    nb = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    links = re.findall(r"\]\(((?!https?:|#)[^)\s]+)\)", markdown)
    for link in links:
        assert (path.parent / link.split("#")[0]).exists(), f"{path.name}: broken link {link}"
    practice = markdown[markdown.index("## Practice"):]
    assert re.search(r"\]\(\.\./exercises/\d\d_\w+\.ipynb\)", practice), (
        f"{path.name}: the Practice section links no assignment")
