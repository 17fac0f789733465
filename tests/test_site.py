"""`make site` builds an offline book that leaks no solution and loads nothing from outside.

The site is built once (warnings are errors) into a temporary folder, then every page is read:
every internal link and image leads to a file of the site, no page contains a line of a
solution region or hidden-test block of ``solutions/``, nothing points into ``solutions/``,
and no page or stylesheet loads a script, stylesheet or font from another host. The browser
checks (maths typeset, images loaded, search, no request leaving the site) are in
``tests/e2e/test_site.py``.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from servers import build_site

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)        # http://, https://, //host
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


class Refs(HTMLParser):
    """The references of one page: (tag, attribute, value, rel) for href/src attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str, str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("href", "src"):
            if attrs.get(name):
                self.refs.append((tag, name, attrs[name], attrs.get("rel") or ""))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    return build_site(tmp_path_factory.mktemp("site") / "html")


@pytest.fixture(scope="module")
def pages(site) -> dict[Path, Refs]:
    parsed = {}
    # _static holds the theme's Jinja fragments (*.html templates), not pages
    for page in sorted(p for p in site.rglob("*.html") if "_static" not in p.parts):
        refs = Refs()
        refs.feed(page.read_text(encoding="utf-8"))
        parsed[page] = refs
    return parsed


def test_every_lesson_assignment_app_and_the_guide_is_a_page(site):
    expected = ([f"notebooks/{p.stem}.html" for p in (ROOT / "notebooks").glob("*.ipynb")]
                + [f"exercises/{p.stem}.html" for p in (ROOT / "exercises").glob("*.ipynb")]
                + [f"apps/{p.stem}.html" for p in (ROOT / "apps").glob("*.ipynb")]
                + ["index.html", "instructors.html", "search.html"])
    missing = [name for name in expected if not (site / name).is_file()]
    assert len(expected) > 20 and not missing, missing


def test_every_internal_link_and_image_resolves_to_a_file_of_the_site(site, pages):
    broken = []
    for page, refs in pages.items():
        for tag, _, value, _ in refs.refs:
            if EXTERNAL.match(value) or value.startswith(("#", "mailto:", "javascript:", "data:")):
                continue
            target = (page.parent / unquote(urlsplit(value).path)).resolve()
            if not target.exists() or site.resolve() not in target.parents:
                broken.append(f"{page.relative_to(site)}: <{tag}> {value}")
    assert not broken, "\n".join(broken[:20])


def test_lessons_link_their_exercise_pages(site, pages):
    lesson = site / "notebooks" / "01_logits.html"
    links = [value for _, name, value, _ in pages[lesson].refs if name == "href"]
    assert "../exercises/01_softmax.html" in links


def test_no_page_loads_a_script_stylesheet_or_font_from_another_host(site, pages):
    outside = []
    for page, refs in pages.items():
        for tag, _, value, rel in refs.refs:
            loads = tag in ("script", "img", "iframe", "source") or (
                tag == "link" and rel not in ("", "canonical"))
            if loads and EXTERNAL.match(value):
                outside.append(f"{page.relative_to(site)}: <{tag}> {value}")
    for css in site.rglob("*.css"):
        for match in CSS_URL.finditer(css.read_text(encoding="utf-8", errors="ignore")):
            value = match.group(1) or match.group(2)
            if EXTERNAL.match(value):
                outside.append(f"{css.relative_to(site)}: {value}")
    assert not outside, "\n".join(outside[:20])


def solution_lines() -> set[str]:
    """Lines of the solution regions and hidden-test blocks that no public source has.

    A line such as ``y = labels[:, 0]`` also stands in lessons, and the instructors' guide
    shows what a hidden-test call looks like; those are not secrets.
    """
    public = [*(ROOT / "exercises").glob("*.ipynb"), *(ROOT / "notebooks").glob("*.ipynb"),
              *(ROOT / "apps").glob("*.ipynb"), *(ROOT / "docs").glob("*.md")]
    exercise_text = "\n".join(p.read_text(encoding="utf-8") for p in public)
    found = set()
    for path in (ROOT / "solutions").glob("*.ipynb"):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            inside = False
            for line in "".join(cell["source"]).splitlines():
                marker = line.strip()
                if marker in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                    inside = True
                elif marker in ("### END SOLUTION", "### END HIDDEN TESTS"):
                    inside = False
                elif inside and len(marker) >= 16 and json.dumps(marker)[1:-1] \
                        not in exercise_text and marker not in exercise_text:
                    found.add(marker)
    return found


def test_no_page_contains_a_solution_or_a_hidden_test(site, pages):
    secrets = solution_lines()
    assert len(secrets) > 20                      # the markers were found: the check is real
    leaks = []
    for page in pages:
        text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
        leaks += [f"{page.relative_to(site)}: {line}" for line in secrets if line in text]
    assert not leaks, "\n".join(leaks[:10])


def test_nothing_points_into_solutions(site, pages):
    files = [p.relative_to(site) for p in site.rglob("*") if "solutions" in p.parts]
    links = [f"{page.relative_to(site)}: {value}" for page, refs in pages.items()
             for _, _, value, _ in refs.refs if "solutions/" in value]
    assert not files and not links, (files, links)


def test_widget_cells_show_a_note_not_a_widget_repr_and_no_test_plumbing(site, pages):
    lesson = site / "notebooks" / "01_logits.html"
    text = "".join(pages[lesson].text)
    assert "Interactive: run this lesson in JupyterLab" in text
    for page in pages:
        body = page.read_text(encoding="utf-8")
        assert "VBox(children=" not in body, page.relative_to(site)
        assert "NBVAL_" not in body, page.relative_to(site)
