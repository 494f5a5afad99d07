"""The benchmark figures of the documentation site: the records read, the charts drawn, the pages written.

docs/plots.py is the command that `make docs` runs; this package does the work, one concern per module:

  records    bench/NN-name/results.tsv and results.meta (or a scratch summary in build/bench) as charts and bars
  formats    numbers, ratios, targets and dates as a reader wants them
  svg        a chapter's charts as one SVG document
  fragments  a chapter's figures as a Markdown fragment for its page, and the Benchmarks page
"""

import os

# The repository root: docs/figures/__init__.py is two folders below it.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
