"""The static site in Chromium, over file:// and over a local http server, with no network.

Every page of `make site`'s book is opened twice (as a file and from ``python -m http.server``
on 127.0.0.1) while every request that would leave the site is refused and recorded: the maths
must be typeset by the site's own MathJax (no raw ``$$``, ``\\(`` or ``\\[`` left, no MathJax
error), every image must have loaded, and the console must stay free of errors. Search must
find the sampled-softmax lesson, and a lesson's Practice link must land on its exercise page.
Screenshots of the home page and of lesson 1 go to the screenshots folder.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import free_port, isolated_env, screenshot_dir, start, stop, wait_for
from servers import build_site

# Text of the page's main column without code: raw TeX delimiters there mean untypeset maths.
MAIN_TEXT = """() => {
  const main = document.querySelector('main') || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll('pre, code, mjx-container, script, style').forEach(e => e.remove());
  return copy.innerText;
}"""
IMAGES_LOADED = """async () => {
  const images = Array.from(document.images);
  await Promise.all(images.map(i => i.complete ? null :
      new Promise(r => { i.onload = r; i.onerror = r; })));
  return images.filter(i => !(i.naturalWidth > 0)).map(i => i.getAttribute('src'));
}"""
MATHJAX_DONE = "() => window.MathJax && MathJax.startup && MathJax.startup.promise"


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    return build_site(tmp_path_factory.mktemp("site") / "html")


@pytest.fixture(scope="session")
def http_base(site, tmp_path_factory) -> Iterator[str]:
    port = free_port()
    home = tmp_path_factory.mktemp("http")
    log = home / "server.log"
    server = start([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port),
                    "--directory", str(site)], env=isolated_env(home), log=log)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_for(base + "index.html", server, log)
        yield base
    finally:
        stop(server)


def site_pages(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html")
                  if "_static" not in p.parts)


@pytest.fixture(params=["file", "http"])
def base(request, site) -> str:
    if request.param == "file":
        return site.as_uri() + "/"
    return request.getfixturevalue("http_base")


@pytest.fixture
def guarded(page, base):
    """The page, with every request outside ``base`` refused and recorded, errors collected."""
    outside, errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith((base, "data:", "blob:", "about:")):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: None if r.url in outside else errors.append(
        f"failed: {r.url}"))
    return page, outside, errors


def test_every_page_typesets_its_maths_loads_its_images_and_stays_offline(site, base, guarded):
    page, outside, errors = guarded
    pages = site_pages(site)
    assert len(pages) > 20
    problems = []
    for name in pages:
        errors.clear()
        page.goto(base + name, wait_until="load")
        if page.locator("span.math, div.math").count():
            page.evaluate(MATHJAX_DONE)
            if not page.locator("mjx-container").count():
                problems.append(f"{name}: maths not typeset")
            if page.locator("mjx-merror").count():
                problems.append(f"{name}: MathJax error")
        text = page.evaluate(MAIN_TEXT)
        for raw in ("$$", "\\(", "\\["):
            if raw in text:
                problems.append(f"{name}: raw {raw} in the text")
        missing = page.evaluate(IMAGES_LOADED)
        if missing:
            problems.append(f"{name}: images not loaded: {missing[:3]}")
        if errors:
            problems.append(f"{name}: console errors: {errors[:3]}")
    assert not outside, f"requests that left the site: {sorted(set(outside))[:10]}"
    assert not problems, "\n".join(problems)


def test_search_finds_the_sampled_softmax_lesson(base, guarded):
    page, outside, _ = guarded
    page.goto(base + "search.html?q=sampled+softmax", wait_until="load")
    results = page.locator("#search-results a, ul.search a")
    results.first.wait_for()
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("06_sampled_softmax" in href for href in hrefs), hrefs
    assert not outside


def test_a_lessons_practice_link_lands_on_its_exercise_page(base, guarded):
    page, outside, _ = guarded
    page.goto(base + "notebooks/01_logits.html", wait_until="load")
    page.locator("section#practice a[href$='exercises/01_softmax.html']").first.click()
    page.wait_for_url("**/exercises/01_softmax.html")
    assert "Assignment 1" in page.locator("h1").first.inner_text()
    assert not outside


def test_screenshots_of_the_home_page_and_a_lesson(site, base, guarded):
    page, _, _ = guarded
    folder = screenshot_dir()
    scheme = base.split(":")[0]
    for name, path in [("home", "index.html"), ("lesson-01", "notebooks/01_logits.html")]:
        page.goto(base + path, wait_until="load")
        page.evaluate(MATHJAX_DONE)
        shot = folder / f"site-{name}-{scheme}.png"
        page.screenshot(path=str(shot), full_page=False)
        assert shot.stat().st_size > 10_000
