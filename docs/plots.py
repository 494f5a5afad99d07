#!/usr/bin/env python3
"""Draws the benchmark figures of the documentation site: one fragment per chapter and the "Benchmarks" page.

Where the figures come from. Every chapter's last good run of the reference solution is committed beside its
script, as bench/NN-name/results.tsv and bench/NN-name/results.meta (bench/lib.sh writes them at the end of a
complete `make bench` run and never after a failed or interrupted one):

  results.tsv   a header line, then one row per bar: chart, contender, value, unit, better (lower or higher),
                target (empty where the chapter sets none), peer (for the chapter's own contenders: the contenders
                of the same chart it is compared with, comma-separated; each ratio is this value over the peer's)
  results.meta  `key: value` lines: chapter, what, date (UTC), duration, cpu, cores, kernel, load_start and
                load_end (the 1, 5 and 15-minute load averages), command, settings, cc, gcc, clang, rustc, and any
                number of peer, tool and note lines (a note says what could not be measured, and why)

The committed record always wins: a fresh clone draws the same figures as the checkout that made them. The
scratch summaries a run leaves in build/bench (build/bench/NN-name/summary-solutions.tsv and .meta, the same
columns, the meta a single line) are read only for a chapter that has no committed record yet, and its figures
then say that they come from this checkout alone. They are not taken because they are newer: a run that should
replace the record is a `make bench` run of the reference solution, and that run rewrites the record itself
(RECORD=0 runs are trials, deliberately kept out).

What it writes into the output directory, for each chapter with results:
  figures-NN-name.svg   every chart of the chapter, one panel under another (charts that measure the same thing
                        in several configurations share a panel and its scale): horizontal bars, the chapter's own
                        code in rust-red and its peers in grey, the target as a dashed blue line, each own bar
                        followed by its ratios against the named peers ("4.48× rayon"). No background, and
                        mid-tone colours, so it reads on a white page and on a dark one alike.
  figures-NN-name.md    a Markdown fragment for the chapter page's "Performance and safety figures" section: when,
                        where and how it was measured, the chart (Doxygen's \\image html; the SVG sits beside it,
                        in IMAGE_PATH), the same figures as a table, versions, notes and where the record lives.
                        No heading of its own: the page that includes it supplies one.
and benchmarks.md, the Benchmarks page: every chapter's fragment under a heading, and which chapters have no
figures yet. With no results at all, the page still exists and says which commands produce them.

`make docs` (mk/docs.mk) runs it before Doxygen, which reads the page from build/docs/gen (docs/Doxyfile: INPUT
and IMAGE_PATH).

The work is done by the package docs/figures, one module per concern (its __init__.py lists them): records,
formats, svg and fragments. This script reads the records once and writes what they draw.

Usage: python3 docs/plots.py [--bench-dir DIR] [--out-dir DIR]
  --bench-dir  scratch summaries, for chapters without a record (default: $FERRITE_BENCH_DIR, else build/bench)
  --out-dir    where the fragments, the page and the charts go (default: build/docs/gen)
Relative paths are taken from the repository root. Standard library only.
"""

import argparse
import os
import sys

# Imported from docs/ (this script's folder, first on sys.path); no bytecode cache in the source tree.
sys.dont_write_bytecode = True
from figures import ROOT
from figures.fragments import figure_name, fragment, page
from figures.records import load_chapters
from figures.svg import chapter_svg

PAGE_NAME = "benchmarks.md"


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as output:
        output.write(text)


def write_site(chapters, out_dir):
    """Writes every chapter's SVG and fragment, and the page, into out_dir; returns the files written."""
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for chapter in chapters:
        name = figure_name(chapter)
        write_file(os.path.join(out_dir, name + ".svg"), chapter_svg(chapter))
        write_file(os.path.join(out_dir, name + ".md"), "\n".join(fragment(chapter)))
        written += [name + ".svg", name + ".md"]
    write_file(os.path.join(out_dir, PAGE_NAME), "\n".join(page(chapters)))
    return written + [PAGE_NAME]


def parse_args():
    parser = argparse.ArgumentParser(description="Draws the benchmark figures and the Benchmarks page of the site.")
    parser.add_argument("--bench-dir", default=os.environ.get("FERRITE_BENCH_DIR") or "build/bench",
                        help="scratch summaries, read only for chapters without a committed record "
                             "(default: $FERRITE_BENCH_DIR or build/bench)")
    parser.add_argument("--out-dir", default="build/docs/gen",
                        help="where the fragments, the page and the charts are written (default: build/docs/gen)")
    return parser.parse_args()


def main():
    args = parse_args()
    bench_dir = os.path.join(ROOT, args.bench_dir)
    out_dir = os.path.join(ROOT, args.out_dir)
    chapters = load_chapters(bench_dir)
    write_site(chapters, out_dir)
    recorded = ", ".join(chapter.number for chapter in chapters if chapter.committed) or "none"
    scratch = ", ".join(chapter.number for chapter in chapters if not chapter.committed)
    print(f"plots: figures of chapter(s) {recorded} from the committed records"
          f"{', ' + scratch + ' from ' + os.path.relpath(bench_dir, ROOT) if scratch else ''}"
          f" -> {os.path.relpath(out_dir, ROOT)}/figures-*.md, {PAGE_NAME}")


if __name__ == "__main__":
    main()
