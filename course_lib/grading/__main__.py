"""``python -m course_lib.grading``: the ``course`` command without its console script."""

import sys

from course_lib.grading.cli import main

sys.exit(main())
