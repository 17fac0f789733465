"""The product stands alone: no file cites the team's private notes or its work items.

A reader of the course has the repository and TensorFlow's documentation, nothing else; a
pointer to a section of a private note or to a numbered work item sends them nowhere. Facts
are stated in the product's own words (or cite public documentation), methods are described
where they are used.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEXT_SUFFIXES = {".py", ".md", ".ipynb", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".json",
                 ".sh", ".html", ".css", ".js", ""}
# The names are written so that this file does not contain, letter for letter, what it forbids.
CITATIONS = re.compile(
    r"tf-2\.21-fact[s]|perf-note[s]|notebooks-nbval-styl[e]|browser-tests\.md|static-site\.md"
    r"|shared/(?:reference|grading|hooks)|\.\./shared\b|research\snotes|team(?:'s)? notes"
    r"|\bacceptance \(issue|\bissue\s*#?\d+|\bwork item", re.IGNORECASE)


def tracked_text_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    return [ROOT / name for name in names
            if Path(name).suffix in TEXT_SUFFIXES and (ROOT / name).is_file()
            and Path(name) != Path(__file__).relative_to(ROOT)]


def test_the_pattern_catches_the_citations_it_is_for():
    for text in ("see perf" "-notes §4", "(tf-2.21" "-facts §2.2)", "Acceptance (" "issue 4): x",
                 "targets (" "issue 5)", "shared/" "reference/perf" "-notes.md",
                 "the research" " notes", "issue #12", "cf. ../shared/README.md"):
        assert CITATIONS.search(text), text
    for text in ("a known issue with XLA", "issues a warning", "shared memory", "tissue 4"):
        assert not CITATIONS.search(text), text


@pytest.mark.parametrize("path", tracked_text_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_file_cites_team_notes_or_work_items(path):
    text = path.read_text(errors="ignore")
    hits = [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
            for m in CITATIONS.finditer(text)]
    assert not hits, (f"{path.relative_to(ROOT)} cites notes or work items a reader does not "
                      f"have; say it in the product's own words: {hits[:5]}")
