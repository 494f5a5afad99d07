"""The Rust <-> C index page: one section per chapter, and in it the C items grouped by the Rust item they stand for.

docs/pages.py calls index_page once; book.link_back, after Doxygen has run, finds the rows of these tables in the
page's HTML by the anchors index_table gives them (Item.anchor).
"""

import html
import re
from typing import Dict, List

from .headers import Item
from .markdown import CODE_SPAN, fix_inline

INDEX_LABEL = "rust"                # the Rust <-> C index page; also the \xrefitem key of @rust


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
