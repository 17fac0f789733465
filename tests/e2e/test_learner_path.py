"""The learner's first hour, in the JupyterLab that `make lab` serves (a copy of the working
tree reusing .venv): landing page -> lesson 1 -> its Practice link -> the assignment -> an
answer -> check() says ✓. No nbgrader menu, panel or button there, and all three in
`make lab-instructor`. Opening and saving a notebook leaves its bytes as they were."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect
from servers import TOKEN, copy_course, running

# a test-robustness setting only: render every cell of a long lesson (no windowing)
SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
            {"windowingMode": "none"}}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    return copy_course(tmp_path_factory.mktemp("course") / "which-cross-entropy")


def serve(target: str, course: Path, home: Path) -> Iterator[str]:
    for name, value in SETTINGS.items():
        path = home / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    with running(f"make -s {target}", cwd=course, home=home, kind="lab") as base:
        yield base


@pytest.fixture(scope="module")
def learner_lab(course, tmp_path_factory) -> Iterator[str]:
    """Base URL of `make lab` started in the copy."""
    yield from serve("lab", course, tmp_path_factory.mktemp("learner"))


@pytest.fixture(scope="module")
def instructor_lab(course, tmp_path_factory) -> Iterator[str]:
    """Base URL of `make lab-instructor` started in the copy."""
    yield from serve("lab-instructor", course, tmp_path_factory.mktemp("instructor"))


def current_panel(page):
    """The notebook in the main area's current tab (the others are hidden, not removed)."""
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def wait_for_kernel(page) -> None:
    # the status bar says "| Idle" only once a kernel is attached and ready
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Python 3 (ipykernel) | Idle")


def run_menu(page, command: str) -> None:
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator(f'.lm-Menu-item[data-command="{command}"]').click()


def solution_source(course: Path, grade_id: str) -> str:
    nb = nbformat.read(course / "solutions" / "01_softmax.ipynb", as_version=4)
    return next(cell.source for cell in nb.cells
                if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_landing_page_to_lesson_1_to_its_assignment_to_a_tick(page, learner_lab, course):
    page.goto(f"{learner_lab}/?token={TOKEN}")                  # what `make lab` opens
    expect(page).to_have_url(re.compile(r"/lab/tree/START_HERE\.ipynb"))
    landing = current_panel(page)
    expect(landing.get_by_role("heading", name=re.compile("Start here"))).to_be_visible()

    landing.get_by_role("link", name="lesson 1", exact=True).click()
    expect(page).to_have_url(re.compile(r"/lab/tree/notebooks/01_logits\.ipynb"))
    lesson = current_panel(page)
    expect(lesson.get_by_role("heading", name="Logits", exact=True)).to_be_visible()

    lesson.get_by_role("link", name=re.compile(r"^Assignment 1\b")).click()
    expect(page).to_have_url(re.compile(r"/lab/tree/exercises/01_softmax\.ipynb"))
    assignment = current_panel(page)
    wait_for_kernel(page)

    # the learner writes the answer in the answer cell (its stub raises NotImplementedError)
    answer = assignment.locator(".jp-CodeCell", has_text="def log_softmax").first
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(solution_source(course, "q1_answer"))   # no auto-indent
    page.keyboard.press("Escape")
    # select the check cell, run everything above it (setup, answer), then the cell itself
    check = assignment.locator(".jp-CodeCell", has_text='check("01.q1"').first
    check.locator(".jp-InputPrompt").click()
    run_menu(page, "notebook:run-all-above")
    wait_for_kernel(page)
    page.keyboard.press("Shift+Enter")
    output = check.locator(".jp-OutputArea-output")
    expect(output).to_contain_text("✓")
    expect(output).not_to_contain_text("✗")


def nbgrader_ui(page):
    """The three things nbgrader's Lab extension adds: menu, Validate button, sidebar panel."""
    return (page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Nbgrader$")),
            current_panel(page).locator(".jp-ToolbarButtonComponent-label",
                                        has_text=re.compile(r"^Validate$")),
            page.locator(".jp-SideBar .lm-TabBar-tab[title*='Create Assignment']"))


def open_assignment(page, base: str) -> None:
    page.goto(f"{base}/lab/tree/exercises/01_softmax.ipynb?token={TOKEN}&reset")
    wait_for_kernel(page)


def test_the_learners_lab_shows_no_nbgrader_and_no_news(page, learner_lab, instructor_lab):
    open_assignment(page, instructor_lab)       # the same checks find them where they exist
    for part in nbgrader_ui(page):
        expect(part).to_have_count(1)
    open_assignment(page, learner_lab)
    expect(current_panel(page).locator(".jp-ToolbarButtonComponent-label").first) \
        .to_be_visible()                        # the toolbar is there, without Validate
    for part in nbgrader_ui(page):
        expect(part).to_have_count(0)
    page.wait_for_timeout(3000)                 # the news question comes a moment after load
    expect(page.get_by_text(re.compile("notified about official Jupyter news"))).to_have_count(0)


@pytest.mark.parametrize("path", ["START_HERE.ipynb", "apps/chooser.ipynb",
                                  "notebooks/01_logits.ipynb"])
def test_opening_and_saving_leaves_the_notebook_unchanged(page, learner_lab, course, path):
    file = course / path
    before, mtime = file.read_bytes(), file.stat().st_mtime_ns
    page.goto(f"{learner_lab}/lab/tree/{path}?token={TOKEN}&reset")
    wait_for_kernel(page)
    page.get_by_role("menuitem", name="File", exact=True).click()
    page.locator('.lm-Menu-item[data-command="docmanager:save"]').click()
    deadline = time.monotonic() + 60
    while file.stat().st_mtime_ns == mtime and time.monotonic() < deadline:
        time.sleep(0.2)
    assert file.stat().st_mtime_ns != mtime, "Lab did not save the notebook"
    after = file.read_bytes()
    if after != before:
        old, new = json.loads(before), json.loads(after)
        changed = {key for key in old["metadata"].keys() | new["metadata"].keys()
                   if old["metadata"].get(key) != new["metadata"].get(key)}
        pytest.fail(f"saving {path} in Lab changed it (metadata keys {sorted(changed)}); "
                    "store what Lab writes (tools/execute_notebooks.py does for lessons)")
