"""The syllabus has one source, course_lib.syllabus: the README and the landing page show it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib.syllabus import (
    END,
    LANDING_PAGE,
    LESSONS,
    START,
    replace_syllabus,
    syllabus_markdown,
)

ROOT = Path(__file__).resolve().parents[1]
FIX = "run `.venv/bin/python -m course_lib.syllabus` to rewrite it from course_lib/syllabus.py"


def between_markers(text: str) -> str:
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def landing_markdown() -> str:
    nb = json.loads((ROOT / LANDING_PAGE).read_text(encoding="utf-8"))
    return "\n\n".join("".join(cell["source"]) for cell in nb["cells"]
                       if cell["cell_type"] == "markdown")


@pytest.mark.parametrize("where", ["README.md", LANDING_PAGE])
def test_readme_and_landing_page_show_the_rendered_syllabus(where):
    text = (ROOT / "README.md").read_text(encoding="utf-8") if where == "README.md" \
        else landing_markdown()
    assert between_markers(text) == syllabus_markdown().strip("\n"), f"{where}: {FIX}"


def test_every_lesson_has_one_row_and_every_row_a_lesson():
    files = [lesson.file for lesson in LESSONS]
    assert sorted(files) == sorted(str(p.relative_to(ROOT))
                                   for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert [lesson.number for lesson in LESSONS] == list(range(len(LESSONS)))
    for lesson in LESSONS:
        assert Path(lesson.file).name.startswith(f"{lesson.number:02d}_"), lesson.file


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: f"{lesson.number:02d}")
def test_row_names_the_lesson_by_its_heading_and_links_existing_assignments(lesson):
    nb = json.loads((ROOT / lesson.file).read_text(encoding="utf-8"))
    heading = "".join(nb["cells"][0]["source"]).splitlines()[0]
    assert heading.startswith("# ") and lesson.title in heading, (lesson.title, heading)
    for assignment in lesson.assignments:
        assert (ROOT / assignment).is_file(), assignment


def test_links_take_the_prefix_and_cells_of_the_table_hold_no_bar():
    table = syllabus_markdown("https://example.org/course/")
    links = re.findall(r"\]\(([^)]+)\)", table)
    assert links and all(link.startswith("https://example.org/course/") for link in links)
    for line in table.splitlines():
        if line.startswith("| "):
            assert line.count("|") == 8, line   # 7 columns: no "|" inside a cell


def test_replace_syllabus_refuses_text_without_its_markers():
    with pytest.raises(ValueError, match="syllabus"):
        replace_syllabus("no markers here")


def test_the_tool_rewrites_a_stale_readme_and_landing_page(tmp_path):
    for name in ("README.md", LANDING_PAGE):
        shutil.copy(ROOT / name, tmp_path / name)
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace(between_markers(readme.read_text()), "stale"))
    landing = tmp_path / LANDING_PAGE
    landing.write_text(landing.read_text().replace("| 1 |", "| one |"))
    result = subprocess.run([sys.executable, "-m", "course_lib.syllabus", str(tmp_path)],
                            capture_output=True, text=True, check=True)
    assert "README.md" in result.stdout and LANDING_PAGE in result.stdout
    assert readme.read_text() == (ROOT / "README.md").read_text()
    assert landing.read_text() == (ROOT / LANDING_PAGE).read_text()
