"""The course's syllabus, in one place: the README's table, the landing page and the site use it.

``LESSONS`` holds one :class:`Lesson` per notebook in ``notebooks/``; ``syllabus_markdown()``
renders the table (and the note on run times) that sits between the ``<!-- syllabus -->``
markers of ``README.md`` and of the landing page ``START_HERE.ipynb``. After editing a row,
run ``.venv/bin/python -m course_lib.syllabus`` to rewrite both; ``tests/test_syllabus.py``
fails while either differs from the rendering.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

START, END = "<!-- syllabus -->", "<!-- /syllabus -->"
# the day the "Runs in" column was measured with `make notebooks` on the 2-core CI machine
MEASURED_ON = "2026-12-04"
LANDING_PAGE = "START_HERE.ipynb"


@dataclass(frozen=True)
class Lesson:
    """One row of the syllabus. Paths are relative to the course folder."""

    number: int
    file: str                 # e.g. "notebooks/01_logits.ipynb"
    title: str
    question: str             # the question the lesson answers
    able_to: str              # "You will be able to ..."
    reading_min: int          # reading time, minutes
    runs_in_s: int | None     # seconds `make notebooks` took to execute it; None: not measured
    assignments: tuple[str, ...] = ()   # e.g. ("exercises/01_softmax.ipynb",)


def _ex(name: str) -> str:
    return f"exercises/{name}.ipynb"


LESSONS: tuple[Lesson, ...] = (
    Lesson(0, "notebooks/00_map_of_the_family.ipynb", "Map of the cross-entropy family",
           "Which function, and what became of the TF 1 name I found?",
           "pick the family from four questions; map `tf.losses.*`, `tf.contrib.*`, `*_v2` to "
           "TF 2.21 and Keras 3", 15, 7, (_ex("04_choose_the_loss"),)),
    Lesson(1, "notebooks/01_logits.ipynb", "Logits", "Why do TF's losses take logits?",
           "compute softmax / log-softmax / logsumexp stably; explain `from_logits` and the "
           "1e-7 clipping trap", 20, 10, (_ex("01_softmax"),)),
    Lesson(2, "notebooks/02_sigmoid_is_the_two_class_softmax.ipynb",
           "Sigmoid is the two-class softmax", "Binary or multi-label: sigmoid or softmax?",
           "prove sigmoid = 2-class softmax; train a multi-label model the right way; know how "
           "each API reduces", 15, 8, (_ex("02_sigmoid"),)),
    Lesson(3, "notebooks/03_softmax_and_soft_labels.ipynb", "Softmax family and soft labels",
           "What may a label row be?",
           "use soft labels and label smoothing; stop gradients into labels for distillation",
           20, 9, (_ex("01_softmax"), _ex("04_choose_the_loss"))),
    Lesson(4, "notebooks/04_sparse_labels.ipynb", "Sparse labels", "Integer ids or one-hot?",
           "use sparse losses for any rank; know what they save (labels) and what not "
           "(logits); handle bad ids and `ignore_class`", 15, 7, (_ex("03_sparse_weights"),)),
    Lesson(5, "notebooks/05_weights.ipynb", "Weights",
           "How do I weight examples and classes?",
           "predict every reduction of compat.v1 and Keras; use `pos_weight`, `class_weight`, "
           "focal loss", 20, 9, (_ex("03_sparse_weights"),)),
    Lesson(6, "notebooks/06_sampled_softmax.ipynb", "Sampled softmax",
           "A million classes: what does sampled softmax compute and cost?",
           "rebuild `tf.nn.sampled_softmax_loss` exactly; measure its bias; train with it, "
           "evaluate with the full softmax", 20, 9, (_ex("05_sampled_softmax"),)),
    Lesson(7, "notebooks/07_nce.ipynb", "NCE", "What does `tf.nn.nce_loss` optimise?",
           "rebuild NCE; explain why its value is not a softmax loss; compare what it learns",
           15, 9, (_ex("05_sampled_softmax"),)),
    Lesson(8, "notebooks/08_choosing_your_loss.ipynb", "Choosing your loss",
           "Which loss for my problem, and why is mine NaN?",
           "use `choose_loss` and `diagnose` on realistic problems; the interactive wizard",
           15, 6, (_ex("04_choose_the_loss"),)),
    Lesson(9, "notebooks/09_cross_entropy_in_model_fit.ipynb",
           "Cross-entropy inside `model.fit`",
           "What do `compile` and `fit` do with the loss I chose?",
           "predict how Keras reshapes targets, picks `\"accuracy\"` and treats `from_logits` "
           "after a softmax; weight classes of sequence labels; lint a model with "
           "`diagnose_model`", 20, 15, (_ex("04_choose_the_loss"),)),
    Lesson(10, "notebooks/10_training_at_scale.ipynb",
           "Training at scale: masks, mixed precision, many devices, XLA",
           "Why does my loss turn NaN or wrong when training grows?",
           "mask logits safely; keep mixed-precision losses in float32; average a loss over "
           "replicas correctly; know what XLA does with bad labels", 20, 11,
           (_ex("03_sparse_weights"),)),
)


def _link(text: str, path: str, link_prefix: str) -> str:
    return f"[{text}]({link_prefix}{path})"


def _assignment_label(path: str) -> str:
    """"exercises/04_choose_the_loss.ipynb" -> "04"."""
    return Path(path).name.split("_", 1)[0]


def syllabus_markdown(link_prefix: str = "") -> str:
    """The syllabus as a markdown table plus the note on run times (no markers).

    ``link_prefix`` is put before every notebook path ("" for pages at the course root, e.g.
    "../" from a folder one level down, or a site's base URL).
    """
    rows = ["| # | Lesson | The question it answers | You will be able to | Reading | Runs in "
            "| Assignment |",
            "|---|---|---|---|---|---|---|"]
    for lesson in LESSONS:
        runs = "–" if lesson.runs_in_s is None else f"{lesson.runs_in_s} s"
        assignments = ", ".join(_link(_assignment_label(a), a, link_prefix)
                                for a in lesson.assignments) or "–"
        rows.append(f"| {lesson.number} | {_link(lesson.title, lesson.file, link_prefix)} "
                    f"| {lesson.question} | {lesson.able_to} | {lesson.reading_min} min "
                    f"| {runs} | {assignments} |")
    measured = [lesson.runs_in_s for lesson in LESSONS if lesson.runs_in_s is not None]
    note = ('"Runs in" is the time `make notebooks` took to execute the lesson on the 2-core CI '
            "machine; TensorFlow's import is about half of it.")
    if len(measured) == len(LESSONS):
        note += f" The whole set runs in {sum(measured)} s (measured {MEASURED_ON})."
    else:
        note += f' Measured {MEASURED_ON}; "–": not measured yet.'
    return "\n".join(rows) + "\n\n" + note + "\n"


def replace_syllabus(text: str, link_prefix: str = "") -> str:
    """``text`` with what lies between the syllabus markers replaced by the rendering."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"text: expected one {START!r} followed by one {END!r}")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{syllabus_markdown(link_prefix)}{END}{tail}"


def _update_landing_page(path: Path) -> bool:
    """Rewrite the markdown cell holding the markers; True when the file changed."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = False
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown" and START in source:
            new = replace_syllabus(source)
            if new != source:
                cell["source"] = new.splitlines(keepends=True)
                changed = True
    if changed:
        # the layout nbformat (and JupyterLab) write: indent 1, a final newline
        path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                        encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    """Rewrite the syllabus in README.md and the landing page of the course at ``argv[0]``."""
    root = Path((argv or sys.argv[1:] or ["."])[0])
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = replace_syllabus(text)
    if new != text:
        readme.write_text(new, encoding="utf-8")
        print(f"updated {readme}")
    if _update_landing_page(root / LANDING_PAGE):
        print(f"updated {root / LANDING_PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
