"""A chapter's figures as Markdown for Doxygen: the fragment of its page, and the Benchmarks page of them all.

docs/plots.py calls fragment for each chapter with figures (written as figures-NN-name.md, which docs/pages.py
puts in the chapter page's "Performance and safety figures" section) and page once (benchmarks.md).
"""

import os
from xml.sax.saxutils import escape as xml_escape

from . import ROOT
from .formats import ratios, readable_date, target_text, with_unit
from .records import bench_folders, is_own

# Fixed by docs/Doxyfile (OUTPUT_DIRECTORY): links from the pages are relative to where their HTML lands.
HTML_DIR = os.path.join(ROOT, "build", "docs", "html")

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
    exact = {"instructions", "bytes", "queries"} & {chart.unit for chart in chapter.charts}
    unaffected = f" ({' and '.join(sorted(exact))} do not depend on it)" if exact else ""
    if cores and busiest >= cores:
        return sentence + f": the machine was shared and busy, so times and rates include that contention{unaffected}."
    if cores and busiest >= cores / 2:
        return sentence + f": the machine was shared, so times and rates carry some of its noise{unaffected}."
    return sentence + "."


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
