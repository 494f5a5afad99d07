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

Usage: python3 docs/plots.py [--bench-dir DIR] [--out-dir DIR]
  --bench-dir  scratch summaries, for chapters without a record (default: $FERRITE_BENCH_DIR, else build/bench)
  --out-dir    where the fragments, the page and the charts go (default: build/docs/gen)
Relative paths are taken from the repository root. Standard library only.
"""

import argparse
import glob
import math
import os
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Dict, List, Optional
from xml.sax.saxutils import escape as xml_escape

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Fixed by docs/Doxyfile (OUTPUT_DIRECTORY): links from the pages are relative to where their HTML lands.
HTML_DIR = os.path.join(ROOT, "build", "docs", "html")
RECORD_NAME = "results"                 # bench/NN-name/results.tsv and .meta, committed
SUMMARY_NAME = "summary-solutions"      # build/bench/NN-name/summary-solutions.tsv and .meta, scratch
COLUMNS = ["chart", "contender", "value", "unit", "better", "target", "peer"]
PAGE_NAME = "benchmarks.md"

# ---- reading the records -------------------------------------------------------------------------------------


@dataclass
class Bar:
    contender: str
    value: float
    peers: List[str]     # the contenders of the same chart this bar is compared with


@dataclass
class Chart:
    title: str
    unit: str
    better: str
    target: Optional[float]
    bars: List[Bar] = field(default_factory=list)

    def value_of(self, contender):
        return next((bar.value for bar in self.bars if bar.contender == contender), None)


@dataclass
class Chapter:
    folder: str                  # "01-ownership-buffers"
    heading: str                 # the bench README's title
    meta: Dict[str, List[str]]   # the record's `key: value` lines, every value of a key in order
    charts: List[Chart]
    source: str                  # the file the figures were read from, relative to the repository root
    committed: bool              # from the committed record, not from a scratch summary

    def first(self, key, fallback=""):
        return self.meta.get(key, [fallback])[0]

    @property
    def number(self):
        return self.folder.split("-")[0]


def number_or_none(text):
    """The float in text, or None when text is empty or not a finite number."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_charts(path):
    """The charts of one results or summary file, in the order their first row appears. The peer column may be
    missing (summaries written before it existed)."""
    charts = {}
    with open(path, encoding="utf-8") as table:
        lines = table.read().splitlines()
    header = lines[0].split("\t") if lines else []
    if header not in (COLUMNS, COLUMNS[:-1]):
        print(f"plots: {path}: the first line is not the header {' '.join(COLUMNS)}; skipped", file=sys.stderr)
        return []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t") + [""] * (len(COLUMNS) - len(header))
        value = number_or_none(cells[2]) if len(cells) == len(COLUMNS) else None
        if value is None or cells[4] not in ("lower", "higher"):
            print(f"plots: {path}:{number}: not a chart row; skipped", file=sys.stderr)
            continue
        title, contender, _, unit, better, target, peers = cells
        chart = charts.setdefault(title, Chart(title, unit, better, number_or_none(target)))
        chart.bars.append(Bar(contender, value, [peer for peer in peers.split(",") if peer]))
    return list(charts.values())


def read_record_meta(path):
    """The `key: value` lines of a record's meta file, every value of a key in order; {} when there is none."""
    meta = {}
    try:
        with open(path, encoding="utf-8") as text:
            for line in text:
                key, sep, value = line.rstrip("\n").partition(": ")
                if sep and key and " " not in key:
                    meta.setdefault(key, []).append(value.strip())
    except OSError:
        pass
    return meta


def read_summary_meta(path):
    """The one line of a scratch summary's meta ("date; N cores; what"), as the record's keys where it can."""
    try:
        with open(path, encoding="utf-8") as text:
            line = text.readline().strip()
    except OSError:
        return {}
    parts = [part.strip() for part in line.split(";")]
    if len(parts) >= 3 and parts[1].endswith(" cores"):
        return {"date": [parts[0]], "cores": [parts[1].split()[0]], "what": ["; ".join(parts[2:])]}
    return {"what": [line]} if line else {}


def read_heading(folder):
    """The first line of the chapter's bench README without its Markdown heading mark, or the folder's name."""
    try:
        with open(os.path.join(ROOT, "bench", folder, "README.md"), encoding="utf-8") as text:
            line = text.readline().strip()
    except OSError:
        return folder
    return line.lstrip("#").strip().replace("`", "") or folder


def bench_folders():
    """The chapter folders that have a benchmark script in the repository."""
    scripts = glob.glob(os.path.join(ROOT, "bench", "*", "run.sh"))
    return sorted(os.path.basename(os.path.dirname(script)) for script in scripts)


def load_chapter(folder, bench_dir):
    """A chapter's figures: from its committed record, else from the scratch summary in bench_dir, else None."""
    record = os.path.join(ROOT, "bench", folder, RECORD_NAME)
    summary = os.path.join(bench_dir, folder, SUMMARY_NAME)
    for base, committed in ((record, True), (summary, False)):
        if not os.path.isfile(base + ".tsv"):
            continue
        charts = read_charts(base + ".tsv")
        if not charts:
            continue
        meta = read_record_meta(base + ".meta") if committed else read_summary_meta(base + ".meta")
        return Chapter(folder, read_heading(folder), meta, charts, os.path.relpath(base + ".tsv", ROOT), committed)
    return None


def load_chapters(bench_dir):
    """Every chapter that has figures, in chapter order."""
    chapters = (load_chapter(folder, bench_dir) for folder in bench_folders())
    return [chapter for chapter in chapters if chapter is not None]


# ---- numbers as a reader wants them --------------------------------------------------------------------------


def format_number(value):
    """18.46 M, 198,239, 205.9, 4.03, 0.27."""
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


def format_ratio(ratio):
    """A ratio as 0.0059×, 0.27×, 4.48×, 12.1×."""
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×" if ratio >= 0.1 else f"{ratio:.2g}×"


def ratios(chart, bar):
    """The bar's ratios against its named peers, "0.27× glibc-syscall, 1.01× rust-asm"; peers without a value
    in this chart are left out."""
    parts = []
    for peer in bar.peers:
        peer_value = chart.value_of(peer)
        if peer_value is not None and peer_value > 0:
            parts.append(f"{format_ratio(bar.value / peer_value)} {peer}")
    return ", ".join(parts)


def target_text(chart):
    """"≤ 50 ms" or "≥ 9.83 M tasks/s": the target as a bound, the side that meets it first."""
    return f"{'≤' if chart.better == 'lower' else '≥'} {with_unit(chart.target, chart.unit)}"


# ---- drawing a chapter's charts ------------------------------------------------------------------------------

WIDTH = 760
MARGIN = 10
ROW = 24            # height of one bar's row
BAR = 16            # height of one bar
PANEL_GAP = 22      # between two charts
MAX_LABEL = 240     # widest contender name; longer ones are cut short
# One luminance for all of them (about 0.2): each keeps a contrast near 4:1 against a white page and against a
# dark one (#1c1d1f), so the charts need no background of their own and no knowledge of the page's theme.
OWN_COLOUR = "#cc5a22"      # the chapter's own code: rust-red
PEER_COLOUR = "#8a929c"     # the peers: grey
TARGET_COLOUR = "#2f7fd0"   # the target: blue, dashed
TEXT_COLOUR = "#767f8a"     # every word and axis


def text_width(text, size, bold=False):
    """A generous estimate of the width of text in a sans-serif font of the given size, in pixels."""
    return len(text) * size * (0.64 if bold else 0.57)


def fit(text, width, size):
    """text, cut short with an ellipsis if it would be wider than width pixels."""
    if text_width(text, size) <= width:
        return text
    keep = max(int(width / text_width("x", size)) - 1, 1)
    return text[:keep].rstrip() + "…"


def svg_text(x, y, text, size=12, colour=TEXT_COLOUR, anchor="start", bold=False):
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" text-anchor="{anchor}"'
            f'{weight}>{xml_escape(text)}</text>')


def svg_line(x1, y1, x2, y2, colour, dashed=False, width=1):
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}"'
            f' stroke-width="{width}"{dash}/>')


def is_own(contender):
    return contender.startswith("ferrite")


def bar_note(chart, bar):
    """The text after a bar: its value, and for the chapter's own bars its ratios against the peers."""
    text = with_unit(bar.value, chart.unit)
    against = ratios(chart, bar)
    return f"{text}  ({against})" if against else text


@dataclass
class Panel:
    """Charts drawn together on one scale: those of a chapter that measure the same thing (same unit, same
    direction, same words after " — ") in different configurations, each under its own label."""
    title: str
    unit: str
    better: str
    groups: List[tuple]     # (label or "", Chart)


def split_title(title):
    """"echo ping-pong, 50 connections × 26 B — throughput" as ("echo ping-pong, 50 connections × 26 B",
    "throughput"); a title without " — " as (title, "")."""
    head, sep, tail = title.rpartition(" — ")
    return (head, tail) if sep else (title, "")


def panels(charts):
    """The chapter's charts as panels, in the order each panel's first chart appears. Charts that share unit,
    direction and the words after " — " become one panel, titled by the words their titles start with; every
    other chart is a panel of its own."""
    keyed = {}
    for chart in charts:
        head, tail = split_title(chart.title)
        key = (chart.unit, chart.better, tail) if tail else (chart.title,)
        keyed.setdefault(key, []).append(chart)
    result = []
    for key, members in keyed.items():
        if len(members) == 1:
            result.append(Panel(members[0].title, members[0].unit, members[0].better, [("", members[0])]))
            continue
        heads = [split_title(chart.title)[0].split(" ") for chart in members]
        common = 0
        while all(len(words) > common + 1 and words[common] == heads[0][common] for words in heads):
            common += 1
        prefix = " ".join(heads[0][:common]).rstrip(",;:")
        title = f"{prefix} — {key[2]}" if prefix else key[2]
        groups = [(" ".join(words[common:]), chart) for words, chart in zip(heads, members)]
        result.append(Panel(title, members[0].unit, members[0].better, groups))
    return result


def panel_svg(panel, top, ident):
    """The elements of one panel whose title starts at y = top, and the y just below it. ident prefixes the masks
    that keep a target line out of the words it crosses (a gap, not a backdrop: the page shows through)."""
    elements = []
    y = top
    for line in textwrap.wrap(panel.title, width=int((WIDTH - 2 * MARGIN) / text_width("x", 14, bold=True))):
        y += 17
        elements.append(svg_text(MARGIN, y, line, size=14, bold=True))
    y += 16
    legend = f"{panel.unit}, {panel.better} is better"
    elements.append(svg_text(MARGIN, y, legend))
    targets = {chart.target for _, chart in panel.groups if chart.target is not None}
    if targets:
        x = MARGIN + text_width(legend, 12) + 14
        only = panel.groups[0][1] if len(panel.groups) == 1 else None
        words = f"target {target_text(only)}" if only else "target of each configuration"
        elements.append(svg_line(x, y - 4, x + 22, y - 4, TARGET_COLOUR, dashed=True, width=2))
        elements.append(svg_text(x + 28, y, words, colour=TARGET_COLOUR))
    y += 8

    bars = [(chart, bar) for _, chart in panel.groups for bar in chart.bars]
    label_width = min(max(text_width(bar.contender, 12) for _, bar in bars), MAX_LABEL)
    note_width = max(text_width(bar_note(chart, bar), 12) for chart, bar in bars)
    label_right = MARGIN + label_width
    plot_left = label_right + 8
    plot_width = max(WIDTH - MARGIN - note_width - 6 - plot_left, 120)
    largest = max([bar.value for _, bar in bars] + [chart.target or 0 for _, chart in panel.groups])
    scale = plot_width / largest if largest > 0 else 0
    for number, (label, chart) in enumerate(panel.groups):
        if label:
            y += 17
            elements.append(f'<text x="{MARGIN:.1f}" y="{y - 3:.1f}" font-size="12" fill="{TEXT_COLOUR}"'
                            f' font-style="italic">{xml_escape(label)}</text>')
            if chart.target is not None:
                elements.append(svg_text(MARGIN + text_width(label, 12) + 12, y - 3,
                                         f"target {target_text(chart)}", colour=TARGET_COLOUR))
        drawn, y = chart_bars(chart, y, label_right, plot_left, scale, f"{ident}-{number}")
        elements += drawn
        y += 4 if label else 0
    return elements, y


def chart_bars(chart, top, label_right, plot_left, scale, ident):
    """One chart's bars from y = top down, with its target line; the elements and the y below the last bar."""
    elements = []
    bottom = top + len(chart.bars) * ROW
    label_width = label_right - MARGIN
    elements.append(svg_line(plot_left, top, plot_left, bottom, TEXT_COLOUR))
    holes = []
    for index, bar in enumerate(chart.bars):
        middle = top + index * ROW + ROW / 2
        width = max(bar.value, 0) * scale
        colour = OWN_COLOUR if is_own(bar.contender) else PEER_COLOUR
        elements.append(f'<rect x="{plot_left:.1f}" y="{middle - BAR / 2:.1f}" width="{width:.1f}"'
                        f' height="{BAR}" fill="{colour}"/>')
        elements.append(svg_text(label_right, middle + 4, fit(bar.contender, label_width, 12), anchor="end",
                                 bold=is_own(bar.contender)))
        note = bar_note(chart, bar)
        elements.append(svg_text(plot_left + width + 5, middle + 4, note, bold=is_own(bar.contender)))
        holes.append(f'<rect x="{plot_left + width + 2:.1f}" y="{middle - 8:.1f}"'
                     f' width="{text_width(note, 12, bold=True) + 6:.1f}" height="16" fill="black"/>')
    if chart.target is not None:
        x = plot_left + max(chart.target, 0) * scale
        elements.append(f'<mask id="{ident}" maskUnits="userSpaceOnUse"><rect x="0" y="{top - 4:.1f}" width="{WIDTH}"'
                        f' height="{bottom - top + 8:.1f}" fill="white"/>{"".join(holes)}</mask>')
        elements.append(svg_line(x, top - 2, x, bottom + 2, TARGET_COLOUR, dashed=True, width=2)
                        .replace("/>", f' mask="url(#{ident})"/>'))
    return elements, bottom


def chapter_svg(chapter):
    """The complete SVG document of a chapter's charts, panel under panel, with no background."""
    elements = []
    y = 0
    for index, panel in enumerate(panels(chapter.charts)):
        drawn, y = panel_svg(panel, y + (PANEL_GAP if index else 0), f"gap{index}")
        elements += drawn
    height = y + 8
    body = "\n  ".join(elements)
    title = f"{chapter.heading}: measured {readable_date(chapter.first('date'))}"
    # color-scheme: a browser paints an opaque backdrop behind an embedded document (Doxygen puts an SVG in an
    # <object>) whose colour scheme differs from the page's; "light dark" follows the reader's, as the theme does.
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0f}"'
            f' viewBox="0 0 {WIDTH} {height:.0f}" font-family="sans-serif" role="img"'
            f' style="color-scheme: light dark">\n'
            f'  <title>{xml_escape(title)}</title>\n'
            f'  {body}\n</svg>\n')


# ---- writing the fragments and the page ----------------------------------------------------------------------

# Characters Doxygen or its Markdown reader would take as commands, HTML, emphasis or table cells in running text.
DOXYGEN_SPECIAL = set('\\@&$#<>%"*_`|')


def doxygen_text(text):
    """text escaped so that Doxygen shows it exactly as written."""
    return "".join("\\" + char if char in DOXYGEN_SPECIAL else char for char in text)


def code_text(text):
    """text as inline code, for a command; Doxygen shows what is inside backticks as written."""
    return f"`{text.replace('`', chr(39))}`"


def caption_text(text):
    """text fit for the quoted caption of \\image: without quotes, command or emphasis characters."""
    return "".join(char for char in text.replace('"', "'") if char not in DOXYGEN_SPECIAL)


def repo_link(path):
    """An HTML link from a generated page to a file of the repository."""
    target = os.path.relpath(os.path.join(ROOT, path), HTML_DIR)
    return f'<a href="{target}">{xml_escape(path)}</a>'


def figure_name(chapter):
    return f"figures-{chapter.folder}"


def short_version(line):
    """The version part of a compiler's --version line: "gcc 12.2.0", "clang 14.0.6", "rustc 1.95.0"."""
    words = line.replace("(", " ").replace(")", " ").split()
    name = words[0] if words else line
    if "clang" in words:
        name = "clang"
    version = next((word for word in reversed(words) if word[:1].isdigit() and word.count(".") >= 1
                    and "-" not in word), None) if name != "rustc" else (words[1] if len(words) > 1 else None)
    return f"{name} {version}" if version else line


def load_sentence(chapter):
    """When the machine was busy, say so: the load averages at the start and the end, against the cores."""
    start, end = chapter.first("load_start"), chapter.first("load_end")
    if not start or not end:
        return ""
    try:
        busiest = max(float(start.split()[0]), float(end.split()[0]))
        cores = int(chapter.first("cores", "0"))
    except ValueError:
        return f"Load average (1, 5, 15 min): {start} at the start, {end} at the end."
    sentence = (f"Load average (1, 5, 15 min): {start} at the start, {end} at the end, on {cores} cores")
    exact = {"instructions", "bytes"} & {chart.unit for chart in chapter.charts}
    unaffected = f" ({' and '.join(sorted(exact))} do not depend on it)" if exact else ""
    if cores and busiest >= cores:
        return sentence + f": the machine was shared and busy, so times and rates include that contention{unaffected}."
    if cores and busiest >= cores / 2:
        return sentence + f": the machine was shared, so times and rates carry some of its noise{unaffected}."
    return sentence + "."


def readable_date(stamp):
    """2026-12-06T08:09:24Z as 2026-12-06 08:09 UTC; anything else as it is."""
    if len(stamp) == 20 and stamp[10] == "T" and stamp.endswith("Z"):
        return f"{stamp[:10]} {stamp[11:16]} UTC"
    return stamp or "at an unrecorded date"


def run_lines(chapter):
    """The paragraph that says when, where and how the figures were measured."""
    meta = chapter.first
    if not chapter.committed:
        return [f"Measured {doxygen_text(meta('date', 'at an unrecorded date'))} on {meta('cores', '?')} cores, "
                f"in this checkout only: the scratch summary {repo_link(chapter.source)} of a run that left no "
                f"record (no committed bench/{chapter.folder}/results.tsv yet). "
                f"{doxygen_text(meta('what'))}.", ""]
    settings = meta("settings")
    where = ", ".join(part for part in (meta("cpu"), f"{meta('cores', '?')} cores", meta("kernel")) if part)
    lines = [f"Measured {doxygen_text(readable_date(meta('date')))}"
             f" with {code_text(meta('command', 'make bench CH=' + chapter.number))}"
             f"{' (' + doxygen_text(settings) + ')' if settings else ''}"
             f"{', in ' + doxygen_text(meta('duration')) if meta('duration') else ''}, "
             f"on {doxygen_text(where)}. {doxygen_text(load_sentence(chapter))}", ""]
    return lines


def table_lines(chapter):
    """Every figure as a Markdown table: chart, contender, value, ratios against the peers, target."""
    lines = ["| Chart | Contender | Value | Against the peers | Target |", "|---|---|---|---|---|"]
    for chart in chapter.charts:
        for index, bar in enumerate(chart.bars):
            title = f"{chart.title} ({chart.better} is better)" if index == 0 else ""
            target = target_text(chart) if index == 0 and chart.target is not None else ""
            name = doxygen_text(bar.contender)
            lines.append(f"| {doxygen_text(title)} | {'**' + name + '**' if is_own(bar.contender) else name} "
                         f"| {doxygen_text(with_unit(bar.value, chart.unit))} | {doxygen_text(ratios(chart, bar))} "
                         f"| {doxygen_text(target)} |")
    return lines + ["", "A ratio is this value over the peer's: below 1 is better where lower is better, above 1 "
                        "where higher is better. Every value is the median of the runs the chapter's script "
                        "interleaves.", ""]


def detail_lines(chapter):
    """Compilers, peers' versions, tools, notes, and where the record is."""
    meta = chapter.meta
    lines = []
    compilers = [short_version(meta[key][0]) for key in ("gcc", "clang", "rustc")
                 if key in meta and meta[key][0] != "not found"]
    if compilers:
        lines.append(f"- Compilers: {doxygen_text(', '.join(compilers))}.")
    for peer in meta.get("peer", []):
        lines.append(f"- Peer {doxygen_text(peer)}.")
    for tool in meta.get("tool", []):
        lines.append(f"- Tool: {doxygen_text(tool)}.")
    for note in meta.get("note", []):
        lines.append(f"- Not measured: {doxygen_text(note)}.")
    if chapter.committed:
        meta_path = chapter.source[: -len(".tsv")] + ".meta"
        lines.append(f"- The record: {repo_link(chapter.source)} and {repo_link(meta_path)}; "
                     f"`make bench CH={chapter.number}` measures again and rewrites it.")
    lines.append(f"- How to read these figures: {repo_link(f'bench/{chapter.folder}/README.md')}.")
    return lines + [""]


def fragment(chapter):
    """The Markdown fragment of one chapter's figures, without a heading."""
    lines = run_lines(chapter)
    lines += [f'\\image html {figure_name(chapter)}.svg "{caption_text(chapter.heading)}"', ""]
    lines += table_lines(chapter)
    lines += detail_lines(chapter)
    return lines


def page(chapters):
    """The Benchmarks page: every chapter's fragment under its own heading."""
    measured = {chapter.folder for chapter in chapters}
    missing = [folder for folder in bench_folders() if folder not in measured]
    lines = ["# Benchmarks {#benchmarks}", ""]
    if not chapters:
        return lines + [
            "No chapter has a benchmark record yet, so there is nothing to chart here.", "",
            "`make bench` from the top of the repository measures every chapter and writes each one's record, "
            "bench/NN-name/results.tsv and results.meta; `make docs` then draws them here. "
            "(`make bench CH=02` measures one chapter.)", ""] + \
            [f"- {repo_link(f'bench/{folder}/README.md')}" for folder in bench_folders()] + [""]
    lines += ["Each chapter's reference solution beside the Rust and C programs it is measured against. The "
              "figures come from the records committed with the code (bench/NN-name/results.tsv and "
              "results.meta), each written by one complete `make bench` run, so every chapter says when, where "
              "and how its figures were measured; they are not re-measured when the site is built. In the "
              "charts the reference solution's bars are rust-red, its peers' grey, the chapter's target a "
              "dashed blue line, and each of the solution's bars is followed by its ratios against its peers.", ""]
    if missing:
        commands = ", ".join(f"`make bench CH={folder.split('-')[0]}`" for folder in missing)
        lines += [f"No figures yet for {doxygen_text(', '.join(missing))}: run {commands} to measure "
                  f"{'it' if len(missing) == 1 else 'them'}.", ""]
    for chapter in chapters:
        lines += [f"## {doxygen_text(chapter.heading)} {{#benchmarks_{chapter.number}}}", ""]
        lines += fragment(chapter)
    return lines


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
