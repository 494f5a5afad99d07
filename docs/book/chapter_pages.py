"""The pages made from Markdown files: one page per chapter README, and the front page from docs/mainpage.md.

docs/pages.py calls chapter_page for each chapter and front_page once. A chapter page is its README rendered by
book.markdown, with the navigation links, the chapter's diagram, its figures fragment (written by docs/plots.py)
in place of the quoted note, and the Rust and C blocks of "Key code" set side by side.
"""

import os
import re

from . import ROOT
from .markdown import Block, html_only, render, sections, split_blocks

DIAGRAMS = os.path.join(ROOT, "docs", "diagrams")
MAINPAGE = os.path.join(ROOT, "docs", "mainpage.md")
FIGURES_SECTION = "Performance and safety figures"
FIGURES_END = "</div><!-- ft-figures -->"
KEY_CODE_SECTION = "Key code"

# ---- a chapter's page --------------------------------------------------------------------------------------------


def pair_key_code(lines, linker):
    """The Key code section with each run of Rust blocks and the run of C blocks after it set in two columns.

    A column starts with the paragraph that introduces its first block. The Rust column runs until the C
    column starts; the C column ends with its last C block. Text after that stays full width.
    """
    blocks = split_blocks(lines)
    # Cut running text into paragraphs so that a column can start at the paragraph before its first block.
    pieces = []
    for block in blocks:
        if block.lang:
            pieces.append(block)
            continue
        current = []
        for line in block.lines:
            current.append(line)
            if not line.strip():
                pieces.append(Block(current))
                current = []
        if current:
            pieces.append(Block(current))
    out = []
    index = 0
    while index < len(pieces):
        if pieces[index].lang != "rust":
            index += 1
            continue
        rust_start = intro_start(pieces, index)
        c_first = next((n for n in range(index, len(pieces)) if pieces[n].lang == "c"), None)
        if c_first is None:
            break
        # Another Rust block before the C one belongs to the same Rust column.
        c_start = intro_start(pieces, c_first)
        c_end = c_first
        for n in range(c_first + 1, len(pieces)):
            if pieces[n].lang == "c":
                c_end = n
            elif pieces[n].lang:
                break
        pieces[rust_start:c_end + 1] = [Block(
            html_only(['<div class="ft-pair"><div class="ft-rust">']) + [""]
            + render(pieces[rust_start:c_start], linker) + [""]
            + html_only(['</div><div class="ft-c">']) + [""]
            + render(pieces[c_start:c_end + 1], linker) + [""]
            + html_only(["</div></div>"]) + [""], "done")]
        index = rust_start + 1
    for piece in pieces:
        out += piece.lines if piece.lang == "done" else render([piece], linker)
    return out


def intro_start(pieces, index):
    """The index of the first piece of the paragraph (blank lines skipped) that introduces pieces[index]."""
    start = index
    n = index - 1
    while n >= 0 and not pieces[n].lang and not "".join(pieces[n].lines).strip():
        n -= 1
    if n >= 0 and not pieces[n].lang and not pieces[n].lines[0].startswith("#"):
        start = n
    return start


def figures_lines(chapter, gen_dir):
    """What stands in the figures section in place of the quoted note: the fragment, or how to produce it."""
    path = os.path.join(gen_dir, f"figures-{chapter.folder}.md")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fragment:
            body = fragment.read().rstrip("\n").split("\n")
        return html_only(['<div class="ft-figures">']) + [""] + body + [""] + html_only([FIGURES_END])
    return [f"No results are recorded in this checkout yet: `make bench CH={chapter.number}` measures them, and the "
            f"next `make docs` shows their table and chart here and on the \\ref benchmarks \"Benchmarks\" page."]


def replace_note(lines, replacement):
    """The figures section with its first quoted paragraph (the "Measured, not quoted" note) replaced."""
    start = next((n for n, line in enumerate(lines) if line.startswith(">")), None)
    if start is None:
        return lines[:1] + [""] + replacement + [""] + lines[1:]
    end = start
    while end < len(lines) and lines[end].startswith(">"):
        end += 1
    return lines[:start] + replacement + lines[end:]


def diagram_lines(chapter):
    path = os.path.join(DIAGRAMS, f"{chapter.folder}.dot")
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as dot:
        first = dot.readline().strip()
    match = re.match(r"//\s*caption:\s*(.*)", first)
    caption = match.group(1) if match else chapter.title
    # Doxygen shows the quoted caption as written: no Markdown in it, and no quote to end it early.
    caption = re.sub(r'["`\\]', "", caption).strip()
    return ["", f'\\dotfile {chapter.folder}.dot "{caption}"', ""]


def nav_lines(chapters, index, benchmark_anchors, place):
    chapter = chapters[index]
    links = []
    if index > 0:
        before = chapters[index - 1]
        links.append(f'<span class="ft-prev">\\ref {before.label} "← {before.short}"</span>')
    links.append('<span class="ft-up">\\ref index "Chapters"</span>')
    links.append(f'<span class="ft-index">\\ref rust_{chapter.label} "Rust ↔ C index"</span>')
    bench = f"benchmarks_{chapter.number}" if f"benchmarks_{chapter.number}" in benchmark_anchors else "benchmarks"
    links.append(f'<span class="ft-bench">\\ref {bench} "Benchmarks"</span>')
    links.append(f'<span class="ft-bugs">\\ref bugs_{chapter.label} "What the tests catch"</span>')
    if index + 1 < len(chapters):
        after = chapters[index + 1]
        links.append(f'<span class="ft-next">\\ref {after.label} "{after.short} →"</span>')
    return ["", f'<div class="ft-nav ft-nav-{place}">' + " · ".join(links) + "</div>", ""]


def chapter_page(chapters, index, gen_dir, linker, benchmark_anchors):
    chapter = chapters[index]
    body = chapter.readme.split("\n")
    if body and body[0].startswith("# "):
        body = body[1:]
    out = [f"# {chapter.title} {{#{chapter.label}}}"]
    out += nav_lines(chapters, index, benchmark_anchors, "top")
    for heading, lines in sections(body):
        if heading is None:
            out += render(split_blocks(lines), linker)
            out += diagram_lines(chapter)
            continue
        if heading == FIGURES_SECTION:
            lines = replace_note(lines, figures_lines(chapter, gen_dir))
            out += render(split_blocks(lines[:1]), linker) + fix_figures(lines[1:], linker)
        elif heading == KEY_CODE_SECTION:
            out += pair_key_code(lines, linker)
        else:
            out += render(split_blocks(lines), linker)
    out += nav_lines(chapters, index, benchmark_anchors, "bottom")
    return "\n".join(out) + "\n"


def fix_figures(lines, linker):
    """The figures section after its heading: the fragment kept as docs/plots.py wrote it, the rest rewritten."""
    text = "\n".join(lines)
    opening = '\\htmlonly[block]\n<div class="ft-figures">'
    closing = FIGURES_END + "\n\\endhtmlonly"
    start = text.find(opening)
    if start < 0:
        return render(split_blocks(lines), linker)
    end = text.rfind(closing) + len(closing)
    head, fragment, tail = text[:start], text[start:end], text[end:]
    return (render(split_blocks(head.split("\n")), linker) + fragment.split("\n")
            + render(split_blocks(tail.split("\n")), linker))


# ---- the front page ----------------------------------------------------------------------------------------------


def front_page(chapters, linker):
    """docs/mainpage.md with its links to chapter READMEs turned into links to the chapter pages, and a row of
    its chapter table for each chapter the table does not name yet."""
    with open(MAINPAGE, encoding="utf-8") as text:
        body = text.read()
    by_folder = {chapter.folder: chapter for chapter in chapters}

    def to_page(match):
        chapter = by_folder.get(match.group(2))
        return f"[{match.group(1)}](@ref {chapter.label})" if chapter else match.group(0)
    body = re.sub(r"\[([^\]]+)\]\((?:\.\./)*(?:chapters/)?([0-9][0-9]-[\w-]+)/README\.md\)", to_page, body)
    lines = body.split("\n")
    rows = [n for n, line in enumerate(lines) if re.search(r"\(@ref chapter_[0-9][0-9]\)", line)]
    named = {re.search(r"@ref (chapter_[0-9][0-9])", lines[n]).group(1) for n in rows}
    if rows:
        extra = [f"| [{chapter.short}](@ref {chapter.label}) | see the chapter page | |"
                 for chapter in chapters if chapter.label not in named]
        lines[rows[-1] + 1:rows[-1] + 1] = extra
    return "\n".join(render(split_blocks(lines), linker)) + "\n"
