"""The book pages of the documentation site: chapter pages, the Rust <-> C index and the front page.

docs/pages.py is the command that `make docs` runs; this package does the work, one concern per module:

  chapters       the chapter READMEs and the C items of their headers (chapters/NN-name)
  headers        the documented declarations of one header and their `@rust` lines
  markdown       Markdown that Doxygen 1.9 misreads rewritten, C names in code spans linked; blocks and sections
  chapter_pages  a chapter's page (navigation, diagram, figures, Key code in two columns) and the front page
  rust_index     the Rust <-> C index, grouped by chapter and Rust item
  bug_pages      "What the tests catch": each chapter's bug catalogue, from the patches' headers
  link_back      after Doxygen: each item's "Rust" heading pointed at its row of the index
"""

import os

# The repository root: docs/book/__init__.py is two folders below it.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
