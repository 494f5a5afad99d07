"""A chapter's charts drawn as one SVG document: horizontal bars, panel under panel, for a white or a dark page.

docs/plots.py calls chapter_svg for each chapter with figures and writes the result as figures-NN-name.svg, which
the chapter's fragment (figures.fragments) shows with Doxygen's \\image.
"""

import textwrap
from dataclasses import dataclass
from typing import List
from xml.sax.saxutils import escape as xml_escape

from .formats import ratios, readable_date, target_text, with_unit
from .records import is_own

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
