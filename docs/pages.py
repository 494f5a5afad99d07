#!/usr/bin/env python3
"""Writes the site's book pages: one page per chapter, the Rust <-> C index and the front page.

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
- Markdown that Doxygen 1.9 misreads rewritten into what it reads as meant (see fix_inline).

The Rust <-> C index (ft-rust-index.md, page label `rust`) is built from the `@rust` lines of the chapter headers:
one section per chapter, and in it one table row per C item, rows grouped by the Rust item they stand for. Each
@rust line is also a Doxygen \\xrefitem (docs/Doxyfile, ALIASES) whose "Rust" heading links to its C item's
entry in a flat list that Doxygen appends to the same page; after Doxygen has run, `--link-back` points those
headings at the item's row in the grouped tables instead.

The front page, docs/mainpage.md, is copied to ft-mainpage.md with its links to chapter READMEs turned into links
to the chapter pages, and a row added to its chapter table for any chapter the table does not name yet.

`make docs` (mk/docs.mk) runs it after docs/plots.py and before Doxygen, then with --link-back after Doxygen.

Usage: python3 docs/pages.py [--out-dir DIR]        write the pages (default: build/docs/gen)
       python3 docs/pages.py --link-back HTML_DIR   after Doxygen: Rust headings -> index rows
Standard library only.
"""

import argparse
import glob
import html
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAPTERS = os.path.join(ROOT, "chapters")
DIAGRAMS = os.path.join(ROOT, "docs", "diagrams")
MAINPAGE = os.path.join(ROOT, "docs", "mainpage.md")
PAGE_PREFIX = "ft-"                 # docs/Doxyfile reads build/docs/gen/ft-*.md (FILE_PATTERNS)
INDEX_LABEL = "rust"                # the Rust <-> C index page; also the \xrefitem key of @rust
FIGURES_SECTION = "Performance and safety figures"
FIGURES_END = "</div><!-- ft-figures -->"
KEY_CODE_SECTION = "Key code"

# ---- chapters ----------------------------------------------------------------------------------------------------


@dataclass
class Item:
    """One C item with an @rust line."""
    name: str            # as Doxygen names it: fv_push, fv_vec, AE_PENDING, wp_deque::slots, sys_x86_64.h
    kind: str            # function, macro, type, value, field, variable, file
    header: str          # vec.h
    rust: str            # the @rust text, Markdown
    order: int           # position in the chapter, headers in name order
    # rust is "" for a documented item without an @rust line: it is linked from the prose, not listed in the index
    shared: bool = False  # the name is also declared in another header (one per architecture, say)

    @property
    def anchor(self):
        name = self.name + ("_" + self.header if self.shared else "")
        return "rust_row_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass
class Chapter:
    folder: str          # 01-ownership-buffers
    number: str          # 01
    title: str           # Chapter 01 — Ownership-style buffers
    readme: str          # the README's text
    items: List[Item] = field(default_factory=list)

    @property
    def label(self):
        return f"chapter_{self.number}"

    @property
    def short(self):
        """01 — Ownership-style buffers"""
        return re.sub(r"^Chapter\s+", "", self.title)


def shared_items():
    """The @rust items of the headers every chapter includes (chapters/include)."""
    items = []
    for header in sorted(glob.glob(os.path.join(CHAPTERS, "include", "*.h"))):
        items += header_items(header, len(items))
    return items


def load_chapters():
    chapters = []
    for readme in sorted(glob.glob(os.path.join(CHAPTERS, "[0-9][0-9]-*", "README.md"))):
        folder = os.path.basename(os.path.dirname(readme))
        with open(readme, encoding="utf-8") as text:
            body = text.read()
        first = body.split("\n", 1)[0]
        title = first.lstrip("#").strip() if first.startswith("# ") else f"Chapter {folder[:2]}"
        chapter = Chapter(folder, folder[:2], title.replace("`", ""), body)
        for header in sorted(glob.glob(os.path.join(CHAPTERS, folder, "*.h"))):
            chapter.items += header_items(header, len(chapter.items))
        chapters.append(chapter)
    return chapters


# ---- the @rust lines of a header ---------------------------------------------------------------------------------

IDENT = r"[A-Za-z_]\w*"
NOT_A_NAME = {"__attribute__", "__asm__", "asm", "_Alignas", "_Atomic", "_Static_assert", "sizeof", "if", "while"}


def rust_text(comment_lines, start):
    """The text of the @rust command on comment_lines[start] and of the lines that continue its paragraph."""
    first = comment_lines[start].split("@rust", 1)[1]
    parts = [first]
    for line in comment_lines[start + 1:]:
        if line.strip().startswith("*/"):
            break
        text = re.sub(r"^\s*\*?\s?", "", line).strip()
        if not text or text.startswith(("@", "\\")):
            break
        parts.append(text)
    text = " ".join(part.strip() for part in parts)
    return text.split("*/", 1)[0].strip()


def declared_name(code):
    """The name a declaration (one or more lines of code after a doc comment) introduces, and its kind."""
    flat = " ".join(code.split())
    match = re.match(rf"#\s*define\s+({IDENT})", flat)
    if match:
        return match.group(1), "macro"
    if re.match(r"(typedef\s+)?(struct|union|enum)\b[^;(]*\{", flat):
        close = re.search(rf"\}}\s*({IDENT})?\s*;", flat)
        tag = re.match(rf"(?:typedef\s+)?(?:struct|union|enum)\s+({IDENT})?", flat)
        if flat.startswith("typedef") and close and close.group(1):
            return close.group(1), "type"
        return (tag.group(1) if tag else None), "type"
    if flat.startswith("typedef"):
        pointer = re.search(rf"\(\s*\*\s*({IDENT})\s*\)", flat)
        if pointer:
            return pointer.group(1), "type"
        function = re.search(rf"({IDENT})\s*\(", flat)
        if function and function.group(1) not in NOT_A_NAME:
            return function.group(1), "type"
        return re.findall(IDENT, flat.split(";", 1)[0])[-1], "type"
    for match in re.finditer(rf"({IDENT})\s*\(", flat):
        if match.group(1) not in NOT_A_NAME:
            return match.group(1), "function"
    names = re.findall(IDENT, re.split(r"[;=\[]", flat, 1)[0])
    return (names[-1] if names else None), "variable"


def header_items(path, order):
    """The items of one header that carry an @rust line, in the order they appear."""
    header = os.path.basename(path)
    with open(path, encoding="utf-8") as text:
        lines = text.read().split("\n")
    items = []
    index = 0
    depth = 0  # braces open before lines[index]: inside a struct or enum body when > 0
    while index < len(lines):
        line = lines[index]
        if "/**<" in line:
            # A trailing comment documents the enumerator or field on its own line.
            code = line.split("/**<", 1)[0]
            end = index
            while "*/" not in lines[end]:
                end += 1
            trailing = [line.split("/**<", 1)[1]] + lines[index + 1:end + 1]
            depth += code.count("{") - code.count("}")
            rust = rust_text(trailing, 0) if "@rust" in "\n".join(trailing) else ""
            value = re.match(rf"\s*({IDENT})\s*(=|,|$)", code)
            macro = re.match(rf"\s*#\s*define\s+({IDENT})", code)
            if macro:
                items.append(Item(macro.group(1), "macro", header, rust, order + len(items)))
            elif value:
                items.append(Item(value.group(1), "value", header, rust, order + len(items)))
            else:
                names = re.findall(IDENT, re.split(r"[;\[]", code, 1)[0])
                owner = enclosing_type(lines, index)
                if names and owner and rust:
                    items.append(Item(f"{owner}::{names[-1]}", "field", header, rust, order + len(items)))
            index = end + 1
            continue
        if line.lstrip().startswith("/**"):
            end = index
            while "*/" not in lines[end]:
                end += 1
            comment = lines[index:end + 1]
            rust_line = next((n for n, text in enumerate(comment) if "@rust" in text), None)
            rust = rust_text(comment, rust_line) if rust_line is not None else ""
            if any(re.search(r"[@\\]file\b", text) for text in comment):
                items.append(Item(header, "file", header, rust, order + len(items)))
            elif not rust and (depth > 0 or re.search(r"[@\\](name|\{|\}|defgroup|addtogroup|ingroup)",
                                                      "\n".join(comment))):
                pass  # a field, or a group of members: not linked from the prose
            else:
                name, kind = declared_name(declaration_after(lines, end + 1))
                if name:
                    items.append(Item(name, kind, header, rust, order + len(items)))
            index = end + 1
            continue
        depth += line.split("//", 1)[0].count("{") - line.split("//", 1)[0].count("}")
        index += 1
    return items


def declaration_after(lines, start):
    """The code of the declaration that starts at lines[start] (skipping conditionals): up to its ; or {...};"""
    code = []
    depth = 0
    for line in lines[start:]:
        stripped = line.strip()
        if not code and (not stripped or re.match(r"#\s*(if|ifdef|ifndef|elif|else|endif)\b", stripped)):
            continue
        code.append(line.split("//", 1)[0])
        if stripped.startswith("#") and not line.rstrip().endswith("\\"):
            break
        depth += line.count("{") - line.count("}")
        if depth <= 0 and (";" in line or (depth == 0 and "{" in line and "}" in line) or line.rstrip().endswith("{")
                           and not re.match(r"\s*(typedef|struct|union|enum)\b", code[0])):
            break
    return "\n".join(code)


def enclosing_type(lines, index):
    """The name of the struct, union or enum whose body holds lines[index]."""
    depth = 0
    for line in lines[index:]:
        depth += line.count("{") - line.count("}")
        if depth < 0:
            match = re.search(rf"\}}\s*({IDENT})\s*;", line)
            if match:
                return match.group(1)
            break
    depth = 0
    for line in reversed(lines[:index]):
        depth += line.count("}") - line.count("{")
        if depth < 0:
            match = re.match(rf"\s*(?:typedef\s+)?(?:struct|union|enum)\s+({IDENT})", line)
            return match.group(1) if match else None
    return None


# ---- Markdown that Doxygen 1.9 reads differently -------------------------------------------------------------------

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


# ---- a chapter's page ----------------------------------------------------------------------------------------------


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


# ---- the Rust <-> C index ------------------------------------------------------------------------------------------


def rust_key(text):
    """The Rust item an @rust text is about: its first code span, else its text."""
    match = CODE_SPAN.search(text)
    key = match.group(2).strip() if match else text
    return re.sub(r"^impl\s+", "", key)


def strip_generics(text):
    """text without its <...> parts, nested ones included."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"<[^<>]*>", "", text)
    return text


IN_WORDS = "In words"   # the group of @rust texts that name no Rust item in code


def rust_group(text):
    """The Rust type (or trait, or function) an @rust text is about: Vec for `Vec::pop`, `impl Drop for Vec<T>`
    and `alloc::vec::Vec<T, A>`; [T] for `&[T]` and `<[T]>::get`; IN_WORDS when the text has no code."""
    if not CODE_SPAN.search(text):
        return IN_WORDS
    key = rust_key(text).strip()
    attribute = re.match(r"#!?\[[^\]]*\]", key)
    if attribute:
        return attribute.group(0)                       # an attribute: #[tokio::main], #[panic_handler]
    key = re.sub(r"^(unsafe\s+)?fn\s+", "", key)
    key = re.sub(r"^[A-Z]\w*:(?!:)\s*", "", key)       # a bound: F: FnOnce() -> ...
    if re.match(r"^(&(mut\s+)?)?\[T\]|^<\[T\]>", key):
        return "[T]"
    key = strip_generics(re.sub(r"^impl\s*", "", key)).strip()
    impl = re.match(r"\S+\s+for\s+(.+)", key)
    if impl:
        key = impl.group(1)
    if re.match(r"^(&(mut\s+)?)?\[T\]", key):
        return "[T]"
    path = re.split(r"[\s(!{\[;?.]", key.strip("&* "), 1)[0]
    segments = [segment for segment in path.split("::") if segment]
    types = [segment for segment in segments if segment[:1].isupper()]
    if types:
        return types[-2] if len(types) > 1 and types[-1].isupper() else types[0]
    return segments[-1] if segments else key


def sort_key(text):
    return (text == IN_WORDS, re.sub(r"^[^A-Za-z0-9\[]+", "", text).lower())


def index_table(items):
    """One section's table: the C items grouped by the Rust type, trait or function they stand for.

    A group is headed by its Rust name; its rows, one per C item, follow in the order of their Rust text. An HTML
    table, not a Markdown one: Doxygen splits a Markdown row at every `|`, even inside inline code (Rust closures).
    """
    groups: Dict[str, List[Item]] = {}
    for item in items:
        groups.setdefault(rust_group(item.rust), []).append(item)
    out = ['<table class="markdownTable ft-rust-index">',
           '<tr class="markdownTableHead"><th class="markdownTableHeadNone">Rust</th>'
           '<th class="markdownTableHeadNone">C</th><th class="markdownTableHeadNone">Header</th></tr>']
    for group in sorted(groups, key=sort_key):
        out.append(f'<tr class="ft-rust-group"><th colspan="3"><code>{html.escape(group)}</code></th></tr>')
        for item in sorted(groups[group], key=lambda item: (sort_key(rust_key(item.rust)), item.order)):
            text = fix_inline(item.rust, lambda content: None).replace("\n", " ")
            name = item.name + ("()" if item.kind == "function" else "")
            # Doxygen resolves a name declared in two headers to one of them: such a row gets its link after
            # Doxygen has run (--link-back), from the place of the item's own Rust heading.
            code = f"<code>{name}</code>" if item.shared else f'<code>\\ref {item.name} "{name}"</code>'
            out.append(f"<tr><td>{text}</td><td>\\anchor {item.anchor} {code}</td><td>\\ref {item.header}</td></tr>")
    return out + ["</table>", ""]


def index_page(chapters, shared):
    out = ["# Rust ↔ C index {#rust}", "",
           "Every C item of the workbook beside the Rust item it stands for, chapter by chapter. Within a chapter "
           "the rows are grouped by Rust item, in alphabetical order, so that C items playing the same Rust "
           "part sit together. The C column links each item's contract, and the item's own **Rust** paragraph "
           "links back to its row here.", "",
           "Chapters: " + " · ".join(f'\\ref rust_{chapter.label} "{chapter.short}"' for chapter in chapters)
           + (' · \\ref rust_shared "shared by every chapter"' if shared else ""), ""]
    for chapter in chapters:
        out += [f"## {chapter.short} {{#rust_{chapter.label}}}", "",
                f'The chapter page: \\ref {chapter.label} "{chapter.title}". Its headers: '
                + ", ".join(f"\\ref {header}" for header in sorted({item.header for item in chapter.items})) + ".",
                ""]
        listed = [item for item in chapter.items if item.rust]
        out += index_table(listed) if listed else ["No header of this chapter has an `@rust` line yet.", ""]
    if shared:
        out += ["## Shared by every chapter {#rust_shared}", "",
                "The header every chapter includes, chapters/include/"
                + ", ".join(f"\\ref {header}" for header in sorted({item.header for item in shared})) + ".", ""]
        out += index_table([item for item in shared if item.rust])
    out += ["## By C name {#rust_by_c_name}", "",
            "The same pairs once more, in one list sorted by C name. Doxygen's labels come from C++: *Class* "
            "there means a C structure, and *Global* a function, enumeration or macro.", ""]
    return "\n".join(out) + "\n"


# ---- the front page ------------------------------------------------------------------------------------------------


def front_page(chapters, linker):
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


# ---- after Doxygen: Rust headings to index rows --------------------------------------------------------------------


def header_of(href):
    """The header a Doxygen file-page name stands for: sys__aarch64_8h.html -> sys_aarch64.h."""
    stem = href.split("#", 1)[0][:-len(".html")]
    return re.sub(r"_(_|8)", lambda match: "_" if match.group(1) == "_" else ".", stem)


MEMBER_ANCHOR = re.compile(r"a[0-9a-f]{32}(a[0-9a-f]{32})?")
RUST_HEADING = re.compile(r'<dl class="rust"><dt><b><a class="el" href="rust\.html#(_rust\d+)"')


def link_back(html_dir):
    """Points each C item's "Rust" heading at the item's row in the grouped index.

    The heading is an \\xrefitem link into the flat list that Doxygen appends to the index page. Which item it
    belongs to is read from where it stands: the member anchor before it (a function, macro or enumerator of a
    file page), or the page itself (a structure's page, or a file's own description). The rows of the grouped
    tables link the same places, so the place finds the row. A name declared in two headers is looked up by name
    and header instead, and its row gets the link that Doxygen's \\ref could not tell apart.
    """
    index_path = os.path.join(html_dir, f"{INDEX_LABEL}.html")
    with open(index_path, encoding="utf-8") as text:
        index = text.read()
    by_place = {}
    rows = set()
    for row in re.finditer(r'<a class="anchor" id="(rust_row_\w+)"></a>\s*<code>(?:<a class="el" href="([^"]+)")?',
                           index):
        rows.add(row.group(1))
        if row.group(2):
            by_place[row.group(2)] = row.group(1)
    shared_links = {}
    linked = unplaced = 0
    for path in sorted(glob.glob(os.path.join(html_dir, "*.html"))):
        if path == index_path:
            continue
        with open(path, encoding="utf-8") as text:
            body = text.read()
        page = os.path.basename(path)
        pieces = []
        last = 0
        for heading in RUST_HEADING.finditer(body):
            anchors = re.findall(r'<a\b[^>]*\bid="([^"]+)"', body[:heading.start()])
            member = anchors[-1] if anchors and MEMBER_ANCHOR.fullmatch(anchors[-1]) else None
            place = f"{page}#{member}" if member else page
            row = by_place.get(place)
            if row is None and member:
                title = re.search(r'<h2 class="memtitle">.*?</span>\s*([A-Za-z_]\w*)',
                                  body[body.rfind(f'id="{member}"', 0, heading.start()):heading.start()], re.S)
                name = title.group(1) if title else ""
                wanted = "rust_row_" + re.sub(r"[^A-Za-z0-9_]", "_", f"{name}_{header_of(page)}")
                if wanted in rows:
                    row = wanted
                    shared_links[row] = place
            if row is None:
                unplaced += 1
                continue
            pieces.append(body[last:heading.start(1)] + row)
            last = heading.end(1)
            linked += 1
        if pieces:
            with open(path, "w", encoding="utf-8") as text:
                text.write("".join(pieces) + body[last:])
    for row, place in shared_links.items():
        index = re.sub(rf'(id="{row}"></a>\s*<code>)([^<]+)(</code>)',
                       lambda match: f'{match.group(1)}<a class="el" href="{place}">{match.group(2)}</a>'
                                     f"{match.group(3)}", index)
    with open(index_path, "w", encoding="utf-8") as text:
        text.write(index)
    print(f"pages: {linked} Rust heading(s) linked to their rows of the Rust <-> C index"
          + (f"; {unplaced} left on the flat list" if unplaced else ""))


# ---- main ----------------------------------------------------------------------------------------------------------


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
    write(os.path.join(out_dir, f"{PAGE_PREFIX}mainpage.md"), front_page(chapters, linker))
    print(f"pages: {len(chapters)} chapter page(s) and the Rust <-> C index ({len(listed)} item(s)) -> {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
