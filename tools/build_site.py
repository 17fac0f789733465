"""Build the course as an offline static site (`make site`): lessons, assignments, apps, guide.

Nothing is executed: the lessons are rendered with the outputs they were committed with. The
sources are staged first (``build/site-src``), so that the site holds exactly what a reader
without a kernel should see:

- ``index.md``: ``site/index.md`` with the syllabus of ``course_lib.syllabus`` (the same
  rendering as the README's table and the Lab landing page);
- ``notebooks/`` and ``exercises/`` as learners get them (never ``solutions/``): a widget cell's
  output, which is only a ``VBox(children=...)`` repr without a kernel, becomes a note saying
  where to run it; the static figure that follows it in the lesson stays; ``# NBVAL_...``
  test-plumbing comments are removed from the code;
- ``apps/*.md``: a page per Voilà app (what it does, the command that starts it, links to the
  lessons whose static figures show the same experiments);
- ``instructors.md``: the instructors' guide;
- ``_static/mathjax``: MathJax 3 from the ``sphinx-mathjax-offline`` wheel, so maths is
  typeset with no network.

Then ``sphinx-build -W`` (warnings are errors) writes ``build/site``; open
``build/site/index.html``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from course_lib.syllabus import LESSONS, replace_syllabus  # noqa: E402 - after the path

WIDGET_REPR = re.compile(r"^(VBox|HBox|Box|GridBox|Tab|Accordion|interactive)\(children=")
TEST_PLUMBING = re.compile(r"^\s*# NBVAL_\w+\s*\n?", re.M)
LESSON_MENTION = re.compile(r"\(lesson (\d+)\)")
APP_COMMANDS = {"chooser": "make chooser", "experiments": "make experiments"}


def widget_note(command: str) -> str:
    return (f"*Interactive: run this lesson in JupyterLab (`make lab`), or `{command}` for the "
            "Voilà page. Without a kernel the widget cannot show; the figure below shows "
            "its starting values.*")


def is_widget_output(cell: dict) -> bool:
    """A code cell whose only output is a widget's text repr (no state is stored)."""
    outputs = cell.get("outputs", [])
    if not outputs:
        return False
    texts = ["".join(o.get("data", {}).get("text/plain", "")) for o in outputs]
    return all(WIDGET_REPR.match(t) for t in texts)


def reader_copy(source: Path, target: Path, app: str = "experiments") -> None:
    """The notebook as a reader without a kernel should see it (see the module docstring)."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = "".join(cell["source"])
        cell["source"] = TEST_PLUMBING.sub("", text)
        if is_widget_output(cell):
            command = APP_COMMANDS["chooser"] if "chooser_wizard" in text else APP_COMMANDS[app]
            cell["outputs"] = [{"output_type": "display_data", "metadata": {},
                                "data": {"text/markdown": widget_note(command)}}]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")


def lesson_link(match: re.Match, prefix: str) -> str:
    number = int(match.group(1))
    lesson = next((item for item in LESSONS if item.number == number), None)
    if lesson is None:
        return match.group(0)
    return f"([lesson {number}]({prefix}{lesson.file}))"


def app_page(source: Path, target: Path) -> None:
    """A Voilà app as a page: its text, and for each widget the command that serves it."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    command = APP_COMMANDS[source.stem]
    parts = []
    for cell in nb["cells"]:
        text = "".join(cell["source"]).strip()
        if cell["cell_type"] == "markdown":
            parts.append(LESSON_MENTION.sub(lambda m: lesson_link(m, "../"), text))
        elif "widget" in text and "(" in text and not text.startswith(("from ", "import ")):
            parts.append(f"```{{note}}\nInteractive: start it with `{command}` in the course "
                         "folder (a Voilà page at the address it prints), or run the lesson "
                         "named above in JupyterLab; the lesson's static figure shows the "
                         "starting values.\n```")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n\n".join(parts) + "\n", encoding="utf-8")


def copy_mathjax(static: Path) -> None:
    """MathJax 3 (tex-chtml, its fonts and TeX extensions) from the sphinx-mathjax-offline wheel."""
    files = importlib.metadata.files("sphinx-mathjax-offline") or []
    tex = next((f for f in files if f.name == "tex-chtml.js"), None)
    if tex is None:
        raise SystemExit("sphinx-mathjax-offline is not installed: `pip install -e '.[site]'`")
    mathjax = Path(tex.locate()).parent
    target = static / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(mathjax / "tex-chtml.js", target)
    for sub in ("output/chtml/fonts/woff-v2", "input/tex/extensions"):
        shutil.copytree(mathjax / sub, target / sub)


def stage(src: Path) -> None:
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy2(ROOT / "site" / "conf.py", src / "conf.py")
    index = (ROOT / "site" / "index.md").read_text(encoding="utf-8")
    (src / "index.md").write_text(replace_syllabus(index), encoding="utf-8")
    for folder in ("notebooks", "exercises"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            reader_copy(path, src / folder / path.name)
    for path in sorted((ROOT / "apps").glob("*.ipynb")):
        app_page(path, src / "apps" / f"{path.stem}.md")
    shutil.copy2(ROOT / "docs" / "instructors.md", src / "instructors.md")
    copy_mathjax(src / "_static")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site",
                        help="where the HTML goes (default: build/site)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    src = args.out.parent / f"{args.out.name}-src"
    stage(src)
    if args.out.exists():
        shutil.rmtree(args.out)
    build = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                            "html", str(src), str(args.out)], check=False)
    if build.returncode:
        print("make site: Sphinx reported the problems above (warnings count as errors)",
              file=sys.stderr)
        return build.returncode
    print(f"site built in {time.perf_counter() - start:.1f} s: open "
          f"{args.out / 'index.html'} (or serve it: python -m http.server -d {args.out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
