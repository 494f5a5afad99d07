#!/usr/bin/env python3
"""Writes the site's book pages: one page per chapter, the Rust <-> C index, the bug catalogue and the front page.

Doxygen reads a chapter's page from build/docs/gen, not its README: the README stays the plain Markdown a reader
of the repository sees, and the page adds what a site needs around it. For each chapters/NN-name/README.md this
script writes build/docs/gen/ft-chapter-NN-name.md (page label `chapter_NN`) with:

- links to the previous and next chapter, the chapter table (the front page), the chapter's part of the Rust <-> C
  index and its Benchmarks section, at the top and again at the bottom;
- the chapter's diagram, docs/diagrams/NN-name.dot when it exists (Doxygen's \\dotfile, captioned with the text of
  the file's first line, `// caption: ...`), before the first section;
- in "Performance and safety figures", the fragment build/docs/gen/figures-NN-name.md that docs/plots.py writes
  from the last `make bench` (its table and chart), or a sentence saying how to produce it, in place of the
  quoted note that says the page shows no numbers;
- in "Key code", the Rust and the C blocks in two columns (HTML classes ft-pair, ft-rust and ft-c; the theme's CSS
  sets them side by side on wide screens and one under the other on narrow ones);
- Rust code blocks inside <div class="language-rust">, for the theme's highlighter (Doxygen knows no Rust);
- every mention of a documented C item in inline code (`fv_push`, `fv_insert(i)`, `vec.h`) linked to its entry;
- Markdown that Doxygen 1.9 misreads rewritten into what it reads as meant (see fix_inline in book/markdown.py).

The Rust <-> C index (ft-rust-index.md, page label `rust`) is built from the `@rust` lines of the chapter headers:
one section per chapter, and in it one table row per C item, rows grouped by the Rust item they stand for. Each
@rust line is also a Doxygen \\xrefitem (docs/Doxyfile, ALIASES) whose "Rust" heading links to its C item's
entry in a flat list that Doxygen appends to the same page; after Doxygen has run, `--link-back` points those
headings at the item's row in the grouped tables instead.

The bug catalogue page (ft-tests-catch.md, after the index in the navigation; page label `bugs`, "What the tests
catch") lists each chapter's catalogued mistakes from the headers of tests/NN-name/bugs/*.patch: the mistake, its
concept, the tests that catch it.

The front page, docs/mainpage.md, is copied to ft-mainpage.md with its links to chapter READMEs turned into links
to the chapter pages, and a row added to its chapter table for any chapter the table does not name yet.

`make docs` (mk/docs.mk) runs it after docs/plots.py and before Doxygen, then with --link-back after Doxygen.

The work is done by the package docs/book, one module per concern (its __init__.py lists them); this script
reads the chapters once and hands them to it.

Usage: python3 docs/pages.py [--out-dir DIR]        write the pages (default: build/docs/gen)
       python3 docs/pages.py --link-back HTML_DIR   after Doxygen: Rust headings -> index rows
Standard library only.
"""

import argparse
import os
import re
import sys

# Imported from docs/ (this script's folder, first on sys.path); no bytecode cache in the source tree.
sys.dont_write_bytecode = True
from book import ROOT
from book.bug_pages import catalogue_page
from book.chapter_pages import chapter_page, front_page
from book.chapters import load_chapters, shared_items
from book.link_back import link_back
from book.markdown import make_linker
from book.rust_index import index_page

PAGE_PREFIX = "ft-"                 # docs/Doxyfile reads build/docs/gen/ft-*.md (FILE_PATTERNS)


def write(path, text):
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out-dir", default=os.path.join("build", "docs", "gen"))
    parser.add_argument("--link-back", metavar="HTML_DIR")
    args = parser.parse_args()
    if args.link_back:
        link_back(os.path.join(ROOT, args.link_back))
        return 0
    out_dir = os.path.join(ROOT, args.out_dir)
    os.makedirs(out_dir, exist_ok=True)
    chapters = load_chapters()
    shared = shared_items()
    items = [item for chapter in chapters for item in chapter.items] + shared
    listed = [item for item in items if item.rust]
    for item in listed:
        item.shared = sum(other.name == item.name for other in listed) > 1
    linker = make_linker([item for item in items if not item.shared])
    benchmark_anchors = set()
    bench_page = os.path.join(out_dir, "benchmarks.md")
    if os.path.exists(bench_page):
        with open(bench_page, encoding="utf-8") as text:
            benchmark_anchors = set(re.findall(r"\{#(benchmarks_\w+)\}", text.read()))
    for index, chapter in enumerate(chapters):
        write(os.path.join(out_dir, f"{PAGE_PREFIX}chapter-{chapter.folder}.md"),
              chapter_page(chapters, index, out_dir, linker, benchmark_anchors))
    write(os.path.join(out_dir, f"{PAGE_PREFIX}rust-index.md"), index_page(chapters, shared))
    write(os.path.join(out_dir, f"{PAGE_PREFIX}tests-catch.md"), catalogue_page(chapters, linker))
    write(os.path.join(out_dir, f"{PAGE_PREFIX}mainpage.md"), front_page(chapters, linker))
    print(f"pages: {len(chapters)} chapter page(s), the Rust <-> C index and the bug catalogue ({len(listed)} item(s)) -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
