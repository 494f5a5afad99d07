"""The C items of a chapter header: the name and kind of each documented declaration, and its `@rust` line.

book.chapters calls header_items for every header of a chapter (and of chapters/include); the items it returns
feed the chapter pages' links from prose to API entries (book.markdown) and the Rust <-> C index
(book.rust_index). The headers are read line by line, not parsed as C: a doc comment (`/**` or the trailing
`/**<`) and the declaration after it are enough, since every header follows the layout of .clang-format.
"""

import os
import re
from dataclasses import dataclass

IDENT = r"[A-Za-z_]\w*"
NOT_A_NAME = {"__attribute__", "__asm__", "asm", "_Alignas", "_Atomic", "_Static_assert", "sizeof", "if", "while"}


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
    pointer = re.match(rf"[^(]*\(\s*\*\s*({IDENT})\s*\)\s*\(", flat)
    if pointer:  # a function pointer, `kv_status (*open)(...)`: the name is inside the parentheses
        return pointer.group(1), "variable"
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
        if "/**<" in line or line.lstrip().startswith("/**"):
            end = index
            while "*/" not in lines[end]:
                end += 1
            if "/**<" in line:
                code = line.split("/**<", 1)[0]
                depth += code.count("{") - code.count("}")
                item = trailing_item(lines, index, end, header, order + len(items))
            else:
                item = documented_item(lines, index, end, depth, header, order + len(items))
            if item:
                items.append(item)
            index = end + 1
            continue
        depth += line.split("//", 1)[0].count("{") - line.split("//", 1)[0].count("}")
        index += 1
    return items


def trailing_item(lines, index, end, header, order):
    """The enumerator, macro or field on lines[index] that the trailing comment `/**<` up to lines[end] documents,
    or None (a field without an @rust line is not linked from the prose)."""
    line = lines[index]
    code = line.split("/**<", 1)[0]
    trailing = [line.split("/**<", 1)[1]] + lines[index + 1:end + 1]
    at = next((i for i, text in enumerate(trailing) if "@rust" in text), None)
    rust = rust_text(trailing, at) if at is not None else ""
    value = re.match(rf"\s*({IDENT})\s*(=|,|$)", code)
    macro = re.match(rf"\s*#\s*define\s+({IDENT})", code)
    if macro:
        return Item(macro.group(1), "macro", header, rust, order)
    if value:
        return Item(value.group(1), "value", header, rust, order)
    names = re.findall(IDENT, re.split(r"[;\[]", code, 1)[0])
    owner = enclosing_type(lines, index)
    if names and owner and rust:
        return Item(f"{owner}::{names[-1]}", "field", header, rust, order)
    return None


def documented_item(lines, index, end, depth, header, order):
    """The item that the doc comment lines[index:end + 1] documents: the header itself (@file), or the declaration
    after the comment; None for a field or a group of members without an @rust line (depth > 0: inside a body)."""
    comment = lines[index:end + 1]
    rust_line = next((n for n, text in enumerate(comment) if "@rust" in text), None)
    rust = rust_text(comment, rust_line) if rust_line is not None else ""
    if any(re.search(r"[@\\]file\b", text) for text in comment):
        return Item(header, "file", header, rust, order)
    if not rust and (depth > 0 or re.search(r"[@\\](name|\{|\}|defgroup|addtogroup|ingroup)", "\n".join(comment))):
        return None  # a field, or a group of members: not linked from the prose
    name, kind = declared_name(declaration_after(lines, end + 1))
    if name and depth > 0 and kind in ("variable", "function"):  # a member with a comment block of its own
        owner = enclosing_type(lines, index)
        if owner:
            return Item(f"{owner}::{name}", "field", header, rust, order)
    return Item(name, kind, header, rust, order) if name else None


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
