#!/usr/bin/env python3
"""Draws the benchmark charts of the documentation site and writes its "Benchmarks" page.

`make bench` leaves, for each chapter it measured, build/bench/NN-name/summary-solutions.tsv: a header line, then
one row per bar (chart, contender, value, unit, better, target), and summary-solutions.meta: one line saying when
and on what machine the run was made. This script turns every chart of those files into a horizontal bar chart
(SVG, drawn here, no fonts or scripts fetched from anywhere) and writes benchmarks.md, the page that shows them,
into the output directory. With no summary at all, the page still exists and says which commands produce one.

`make docs` (mk/docs.mk) runs it before Doxygen, which reads the page from build/docs/gen (docs/Doxyfile: INPUT
and IMAGE_PATH).

Usage: python3 docs/plots.py [--bench-dir DIR] [--out-dir DIR]
  --bench-dir  where the chapters' bench results are (default: $FERRITE_BENCH_DIR, else build/bench)
  --out-dir    where the page and the charts go (default: build/docs/gen)
Relative paths are taken from the repository root. Standard library only.
"""

import argparse
import glob
import math
import os
import sys
import textwrap
from dataclasses import dataclass, field
from typing import List, Optional
from xml.sax.saxutils import escape as xml_escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Fixed by docs/Doxyfile (OUTPUT_DIRECTORY): links from the page are relative to where its HTML lands.
HTML_DIR = os.path.join(ROOT, "build", "docs", "html")
SUMMARY_NAME = "summary-solutions"
COLUMNS = ["chart", "contender", "value", "unit", "better", "target"]
PAGE_NAME = "benchmarks.md"

# ---- reading the summaries -------------------------------------------------------------------------------------


@dataclass
class Bar:
    contender: str
    value: float


@dataclass
class Chart:
    title: str
    unit: str
    better: str
    target: Optional[float]
    bars: List[Bar] = field(default_factory=list)


@dataclass
class Chapter:
    folder: str          # "01-ownership-buffers"
    heading: str         # the bench README's title
    meta: str            # when and where the run was made
    charts: List[Chart]


def number_or_none(text):
    """The float in text, or None when text is empty or not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_charts(path):
    """The charts of one summary file, in the order their first row appears."""
    charts = {}
    with open(path, encoding="utf-8") as summary:
        lines = summary.read().splitlines()
    if not lines or lines[0].split("\t") != COLUMNS:
        print(f"plots: {path}: the first line is not the header {' '.join(COLUMNS)}; skipped", file=sys.stderr)
        return []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        value = number_or_none(cells[2]) if len(cells) == len(COLUMNS) else None
        if value is None or cells[4] not in ("lower", "higher"):
            print(f"plots: {path}:{number}: not a chart row; skipped", file=sys.stderr)
            continue
        title, contender, _, unit, better, target = cells
        chart = charts.setdefault(title, Chart(title, unit, better, number_or_none(target)))
        chart.bars.append(Bar(contender, value))
    return list(charts.values())


def read_first_line(path, fallback):
    """The first line of a text file without its Markdown heading mark, or fallback when there is none."""
    try:
        with open(path, encoding="utf-8") as text:
            line = text.readline().strip()
    except OSError:
        return fallback
    return line.lstrip("#").strip().replace("`", "") or fallback


def load_chapters(bench_dir):
    """Every chapter with a summary under bench_dir, in chapter order."""
    chapters = []
    for path in sorted(glob.glob(os.path.join(bench_dir, "*", SUMMARY_NAME + ".tsv"))):
        folder = os.path.basename(os.path.dirname(path))
        charts = read_charts(path)
        if not charts:
            continue
        heading = read_first_line(os.path.join(ROOT, "bench", folder, "README.md"), folder)
        meta = read_first_line(path[: -len(".tsv")] + ".meta", "at an unrecorded date, on an unrecorded machine")
        chapters.append(Chapter(folder, heading, meta, charts))
    return chapters


def bench_folders():
    """The chapter folders that have a benchmark script in the repository."""
    scripts = glob.glob(os.path.join(ROOT, "bench", "*", "run.sh"))
    return sorted(os.path.basename(os.path.dirname(script)) for script in scripts)


# ---- drawing one chart -------------------------------------------------------------------------------------------

WIDTH = 640
MARGIN = 14
ROW = 28            # height of one bar's row
BAR = 18            # height of one bar
MAX_LABEL = 260     # widest contender name; longer ones are cut short
FERRITE_COLOUR = "#b7410e"
PEER_COLOUR = "#8c939d"
TARGET_COLOUR = "#1f5fa8"
TEXT_COLOUR = "#222222"
NOTE_COLOUR = "#555555"


def text_width(text, size, bold=False):
    """A generous estimate of the width of text in a sans-serif font of the given size, in pixels."""
    return len(text) * size * (0.65 if bold else 0.58)


def fit(text, width, size):
    """text, cut short with an ellipsis if it would be wider than width pixels."""
    if text_width(text, size) <= width:
        return text
    keep = max(int(width / text_width("x", size)) - 1, 1)
    return text[:keep].rstrip() + "…"


def format_number(value):
    """A value as a reader wants to see it: 18.46 M, 198,239, 205.9, 4.03."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.2f} M"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    if value == int(value):
        return f"{value:.0f}"
    if abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def with_unit(value, unit):
    return f"{format_number(value)} {unit}"


def svg_text(x, y, text, size=12, colour=TEXT_COLOUR, anchor="start", bold=False, halo=False):
    """A text element; a halo is a white outline drawn under the letters, so lines crossing them stay behind."""
    weight = ' font-weight="bold"' if bold else ""
    outline = ' stroke="#ffffff" stroke-width="3" paint-order="stroke"' if halo else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" text-anchor="{anchor}"'
            f'{weight}{outline}>{xml_escape(text)}</text>')


def svg_line(x1, y1, x2, y2, colour, dashed=False, width=1):
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}"'
            f' stroke-width="{width}"{dash}/>')


def header_lines(chart, y):
    """The title (wrapped to the width) and the unit line; returns the elements and the y below them."""
    elements = []
    for line in textwrap.wrap(chart.title, width=int((WIDTH - 2 * MARGIN) / text_width("x", 15, bold=True))):
        y += 20
        elements.append(svg_text(MARGIN, y, line, size=15, bold=True))
    y += 18
    elements.append(svg_text(MARGIN, y, f"{chart.unit}, {chart.better} is better", colour=NOTE_COLOUR))
    return elements, y + 12


def bar_rects(chart, top, plot_left, scale):
    """One bar per contender, from y = top down: the reference solution's in its own colour."""
    elements = []
    for index, bar in enumerate(chart.bars):
        middle = top + index * ROW + ROW / 2
        colour = FERRITE_COLOUR if bar.contender.startswith("ferrite") else PEER_COLOUR
        elements.append(f'<rect x="{plot_left:.1f}" y="{middle - BAR / 2:.1f}" width="{max(bar.value, 0) * scale:.1f}"'
                        f' height="{BAR}" fill="{colour}"/>')
    return elements


def bar_texts(chart, top, label_right, plot_left, scale):
    """Each contender's name left of its bar and its value at the bar's end, haloed so a target line under
    the value does not hide it."""
    elements = []
    for index, bar in enumerate(chart.bars):
        middle = top + index * ROW + ROW / 2
        label = fit(bar.contender, label_right - MARGIN, 12)
        elements.append(svg_text(label_right, middle + 4, label, anchor="end"))
        end = plot_left + max(bar.value, 0) * scale
        elements.append(svg_text(end + 5, middle + 4, with_unit(bar.value, chart.unit), halo=True))
    return elements


def target_marks(chart, top, bottom, plot_left, scale):
    """The dashed target line across the bars and its legend below them; nothing when there is no target."""
    if chart.target is None:
        return []
    x = plot_left + max(chart.target, 0) * scale
    legend_y = bottom + 20
    return [
        svg_line(x, top - 4, x, bottom + 4, TARGET_COLOUR, dashed=True, width=2),
        svg_line(MARGIN, legend_y - 4, MARGIN + 26, legend_y - 4, TARGET_COLOUR, dashed=True, width=2),
        svg_text(MARGIN + 32, legend_y, f"target: {with_unit(chart.target, chart.unit)}", colour=TARGET_COLOUR),
    ]


def chart_svg(chart):
    """The complete SVG document of one chart."""
    elements, top = header_lines(chart, 0)
    label_width = min(max(text_width(bar.contender, 12) for bar in chart.bars), MAX_LABEL)
    value_width = max(text_width(with_unit(bar.value, chart.unit), 12) for bar in chart.bars)
    label_right = MARGIN + label_width
    plot_left = label_right + 8
    plot_width = max(WIDTH - MARGIN - value_width - 6 - plot_left, 60)
    largest = max([bar.value for bar in chart.bars] + [chart.target or 0])
    scale = plot_width / largest if largest > 0 else 0
    bottom = top + len(chart.bars) * ROW
    elements.append(svg_line(plot_left, top - 4, plot_left, bottom + 4, NOTE_COLOUR))
    elements += bar_rects(chart, top, plot_left, scale)
    elements += target_marks(chart, top, bottom, plot_left, scale)
    elements += bar_texts(chart, top, label_right, plot_left, scale)
    height = bottom + (34 if chart.target is not None else 12)
    body = "\n  ".join(elements)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}"'
            f' viewBox="0 0 {WIDTH} {height:.0f}" font-family="sans-serif" role="img">\n'
            f'  <title>{xml_escape(chart.title)}</title>\n'
            f'  <rect width="100%" height="100%" fill="#ffffff"/>\n'
            f'  {body}\n</svg>\n')


# ---- writing the page --------------------------------------------------------------------------------------------

# Characters Doxygen or its Markdown reader would take as commands, HTML or emphasis in running text.
DOXYGEN_SPECIAL = set('\\@&$#<>%"*_`')


def doxygen_text(text):
    """text escaped so that Doxygen shows it exactly as written."""
    return "".join("\\" + char if char in DOXYGEN_SPECIAL else char for char in text)


def caption_text(text):
    """text fit for the quoted caption of \\image: without quotes, command or emphasis characters."""
    return "".join(char for char in text.replace('"', "'") if char not in DOXYGEN_SPECIAL)


def readme_link(folder):
    """An HTML link from the generated page to a chapter's bench README in the repository."""
    target = os.path.relpath(os.path.join(ROOT, "bench", folder, "README.md"), HTML_DIR)
    return f'<a href="{target}">bench/{folder}/README.md</a>'


def chapter_section(chapter, svg_names):
    """The Markdown of one chapter's section: heading, run line, charts, and where the recorded figures are."""
    number = chapter.folder.split("-")[0]
    lines = [f"## {doxygen_text(chapter.heading)} {{#benchmarks_{number}}}", "",
             f"Measured {doxygen_text(chapter.meta)}.", ""]
    for chart, svg_name in zip(chapter.charts, svg_names):
        lines += [f'\\image html {svg_name} "{caption_text(chart.title)}"', ""]
    lines += [f"The figures recorded when this benchmark was written, and how to read them: "
              f"{readme_link(chapter.folder)}. `make bench CH={number}` measures this chapter again.", ""]
    return lines


def page_intro(chapters):
    """The opening paragraphs of the page when at least one chapter has results."""
    measured = {chapter.folder for chapter in chapters}
    missing = [folder for folder in bench_folders() if folder not in measured]
    lines = ["# Benchmarks {#benchmarks}", "",
             "These charts show the last `make bench` run in this checkout: the reference solution beside the Rust "
             "and C programs each chapter measures itself against. Every bar is the median of the runs the "
             "chapter's script interleaves; the reference solution's bars are rust-red, its peers' grey. Where "
             "the chapter sets a target, it is the dashed blue line. `make docs` redraws the charts from "
             "`build/bench/NN-name/summary-solutions.tsv`, so a new `make bench` followed by `make docs` updates "
             "this page.", "",
             "The figures depend on the machine and on what else it was doing: the line under each heading says "
             "when the run was made and on how many cores.", ""]
    if missing:
        commands = ", ".join(f"`make bench CH={folder.split('-')[0]}`" for folder in missing)
        lines += [f"Not measured here yet: {doxygen_text(', '.join(missing))}. Run {commands}, then `make docs`.", ""]
    return lines


def empty_page():
    """The page when no benchmark has been run in this checkout."""
    links = [f"- {readme_link(folder)}" for folder in bench_folders()]
    return ["# Benchmarks {#benchmarks}", "",
            "No benchmark has been run in this checkout yet, so there is nothing to chart here.", "",
            "To see the charts, run `make bench` from the top of the repository, then `make docs`. "
            "(`make bench CH=02` measures one chapter, in seconds; every chapter together takes several minutes.) "
            "Each chapter then gets its charts on this page: the reference solution beside its Rust and C peers, "
            "with the chapter's target where it has one.", "",
            "Meanwhile, the numbers measured when each benchmark was written are recorded in the repository, "
            "in each chapter's bench/NN-name/README.md:", ""] + links + [""]


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as output:
        output.write(text)


def write_site(chapters, out_dir):
    """Writes every chart's SVG and the page into out_dir; returns the SVG file names."""
    os.makedirs(out_dir, exist_ok=True)
    if not chapters:
        write_file(os.path.join(out_dir, PAGE_NAME), "\n".join(empty_page()))
        return []
    lines = page_intro(chapters)
    written = []
    for chapter in chapters:
        number = chapter.folder.split("-")[0]
        names = [f"bench-{number}-{index:02d}.svg" for index in range(1, len(chapter.charts) + 1)]
        for chart, name in zip(chapter.charts, names):
            write_file(os.path.join(out_dir, name), chart_svg(chart))
        written += names
        lines += chapter_section(chapter, names)
    write_file(os.path.join(out_dir, PAGE_NAME), "\n".join(lines))
    return written


def parse_args():
    parser = argparse.ArgumentParser(description="Draws the benchmark charts and the Benchmarks page of the site.")
    parser.add_argument("--bench-dir", default=os.environ.get("FERRITE_BENCH_DIR") or "build/bench",
                        help="where the chapters' bench results are (default: $FERRITE_BENCH_DIR or build/bench)")
    parser.add_argument("--out-dir", default="build/docs/gen",
                        help="where the page and the charts are written (default: build/docs/gen)")
    return parser.parse_args()


def main():
    args = parse_args()
    bench_dir = os.path.join(ROOT, args.bench_dir)
    out_dir = os.path.join(ROOT, args.out_dir)
    chapters = load_chapters(bench_dir)
    svgs = write_site(chapters, out_dir)
    charted = ", ".join(chapter.folder.split("-")[0] for chapter in chapters) or "none"
    print(f"plots: {len(svgs)} chart(s) from chapter(s) {charted} -> {os.path.relpath(out_dir, ROOT)}/{PAGE_NAME}")


if __name__ == "__main__":
    main()
