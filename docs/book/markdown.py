"""Markdown that Doxygen 1.9 reads differently from GitHub, rewritten; and a README cut into blocks and sections.

book.chapter_pages renders every chapter page and the front page through render, and book.rust_index renders
the @rust texts of its tables through fix_inline: the Markdown comes out as a reader of the repository sees it,
with the code spans that name a documented C item linked to its entry (make_linker, built by docs/pages.py).
"""

import re
from dataclasses import dataclass
from typing import List, Optional

from .headers import IDENT

# ---- inline Markdown ---------------------------------------------------------------------------------------------

CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)", re.S)


def mask_code_spans(text):
    """text with each code span replaced by a placeholder, and the spans (delimiters included) in order."""
    spans = []

    def keep(match):
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"
    return CODE_SPAN.sub(keep, text), spans


def unmask(text, spans, convert=lambda span: span):
    return re.sub(r"\x00(\d+)\x00", lambda match: convert(spans[int(match.group(1))]), text)


def fix_inline(text, linker):
    """One paragraph of Markdown, rewritten so that Doxygen shows it as GitHub does, with C items linked.

    - Bold that contains inline code (`**`asm!` and ...**`): Doxygen 1.9 leaves the asterisks as they are when
      the bold opens or closes on a backtick; <b>...</b> says the same thing in a form it reads.
    - Straight double quotes around inline code ("the last `Sender` was dropped"): Doxygen takes the quoted
      text as one word and shows the backticks; typographic quotes are plain characters to it.
    - A code span with an apostrophe (`undefined reference to 'strlen'`): Doxygen reads a single backtick and a
      later apostrophe as a `quoted' phrase; a double-backtick span is read as code whatever it holds.
    - A code span that names a documented C item (`fv_push`, `fv_insert(i)`, `vec.h`) becomes a link to it.
    """
    masked, spans = mask_code_spans(text)
    masked = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*",
                    lambda match: f"<b>{match.group(1)}</b>" if "\x00" in match.group(1) else match.group(0),
                    masked, flags=re.S)
    masked = re.sub(r'"([^"\n]*\x00\d+\x00[^"\n]*)"', "\u201c\\1\u201d", masked)
    return unmask(masked, spans, lambda span: fix_code_span(span, linker))


def fix_code_span(span, linker):
    ticks = len(span) - len(span.lstrip("`"))
    content = span[ticks:-ticks]
    if ticks == 1:
        link = linker(content)
        if link:
            return link
        if "'" in content:
            pad = " " if content.startswith("`") or content.endswith("`") else ""
            return f"``{pad}{content}{pad}``"
    return span


def make_linker(items):
    """A function from the text of a code span to a Doxygen link to the C item it names, or None."""
    names = {}
    for item in items:
        if item.kind != "field":
            names.setdefault(item.name, item)

    def link(content):
        match = re.fullmatch(rf"({IDENT}|{IDENT}\.h)(\(.*\))?", content.strip())
        if not match or match.group(1) not in names:
            return None
        if '"' in content or "\\" in content:
            return None
        item = names[match.group(1)]
        shown = content
        if item.kind == "function" and not match.group(2):
            shown += "()"
        return f'<code>\\ref {item.name} "{shown}"</code>'
    return link


# ---- blocks and sections -----------------------------------------------------------------------------------------


@dataclass
class Block:
    """A stretch of a README: a fenced code block (lang set) or running text (lang None)."""
    lines: List[str]
    lang: Optional[str] = None


def split_blocks(lines):
    """The lines cut into fenced code blocks and the running text between them."""
    blocks = []
    text = []
    index = 0
    while index < len(lines):
        fence = re.match(r"^(\s*)(```+|~~~+)\s*([\w+-]*)", lines[index])
        if fence:
            end = index + 1
            while end < len(lines) and not lines[end].strip().startswith(fence.group(2)):
                end += 1
            if text:
                blocks.append(Block(text))
                text = []
            blocks.append(Block(lines[index:end + 1], fence.group(3).lower() or "text"))
            index = end + 1
        else:
            text.append(lines[index])
            index += 1
    if text:
        blocks.append(Block(text))
    return blocks


def html_only(lines):
    return ["\\htmlonly[block]"] + lines + ["\\endhtmlonly"]


def rust_block(block):
    """A fenced Rust block inside <div class="language-rust">.

    Doxygen knows no Rust: it prints the fence as a plain fragment (its own markup, with line structure and the
    theme's copy button), and the wrapper tells the theme's highlighter which language the fragment holds.
    """
    return ([""] + html_only(['<div class="language-rust">']) + [""] + block.lines + [""]
            + html_only(["</div>"]) + [""])


def fix_text(lines, linker):
    """Running text, paragraph by paragraph, through fix_inline (headings keep their code spans as code)."""
    out = []
    paragraph = []

    def flush():
        if paragraph:
            out.extend(fix_inline("\n".join(paragraph), linker).split("\n"))
            paragraph.clear()
    for line in lines:
        if not line.strip() or line.startswith("#"):
            flush()
            out.append(line)
        else:
            paragraph.append(line)
    flush()
    return out


def render(blocks, linker):
    out = []
    for block in blocks:
        if block.lang == "rust":
            out += rust_block(block)
        elif block.lang:
            out += block.lines
        else:
            out += fix_text(block.lines, linker)
    return out


def sections(lines):
    """(heading or None, lines) for the text before the first `## ` heading and for each `## ` section."""
    parts = [[None, []]]
    in_fence = None
    for line in lines:
        fence = re.match(r"^\s*(```+|~~~+)", line)
        if fence:
            in_fence = None if in_fence and line.strip().startswith(in_fence) else (in_fence or fence.group(1))
        if not in_fence and line.startswith("## "):
            parts.append([line[3:].strip(), [line]])
        else:
            parts[-1][1].append(line)
    return parts
