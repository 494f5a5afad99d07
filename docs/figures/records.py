"""The benchmark records of the chapters, read: each chapter's charts, their bars, and the record's meta lines.

docs/plots.py calls load_chapters once; figures.svg and figures.fragments draw and describe the Chapter values it
returns, and figures.fragments lists bench_folders for the chapters that have no figures yet. The file formats are
described in docs/plots.py.
"""

import glob
import math
import os
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from . import ROOT

RECORD_NAME = "results"                 # bench/NN-name/results.tsv and .meta, committed
SUMMARY_NAME = "summary-solutions"      # build/bench/NN-name/summary-solutions.tsv and .meta, scratch
COLUMNS = ["chart", "contender", "value", "unit", "better", "target", "peer"]


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


def is_own(contender):
    """Whether a contender is the chapter's own code (its name starts with "ferrite"), not a peer."""
    return contender.startswith("ferrite")
