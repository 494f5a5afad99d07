#!/usr/bin/env python3
"""The documentation theme's build steps, run by `make docs` around Doxygen.

  theme.py check          before Doxygen: every file the theme takes from Debian's packages is present
                          (docs/Doxyfile names them by their /usr/share paths); names the package otherwise.
  theme.py index HTML_DIR after Doxygen: writes HTML_DIR/ft_search_index.js, the documents the search box
                          indexes with lunr in the browser.

Why lunr and not Doxygen's own search: Doxygen's client-side search (SEARCHENGINE) indexes symbol and page
names only and matches them by prefix, so it finds neither a word of a chapter's prose nor `reserve` in
`fv_reserve_exact`. Its full-text modes (SERVER_BASED_SEARCH, EXTERNAL_SEARCH) need a web server running
doxysearch or a PHP page, and the site must work opened from disk. So this script reads the pages Doxygen
wrote, cuts them into sections (one per heading, one per documented symbol), and the page builds a lunr
index over the sections' titles, names and prose when the reader first types into the search box.

The index is a script (`window.FT_SEARCH_DOCS = [...]`), not JSON: a page opened from file:// may not fetch
a JSON file, but it may load a script. Standard library only.
"""

import html.parser
import json
import os
import re
import sys

# Every file docs/Doxyfile (HTML_EXTRA_STYLESHEET, HTML_EXTRA_FILES) takes from /usr/share, by package.
# Keep this table and those two keys in step; mk/deps.mk's DEB_DOCS installs the packages.
PACKAGED_FILES = {
    "doxygen-awesome-css": [
        "/usr/share/doxygen-awesome-css/doxygen-awesome.css",
        "/usr/share/doxygen-awesome-css/doxygen-awesome-sidebar-only.css",
        "/usr/share/doxygen-awesome-css/doxygen-awesome-sidebar-only-darkmode-toggle.css",
        "/usr/share/doxygen-awesome-css/doxygen-awesome-darkmode-toggle.js",
        "/usr/share/doxygen-awesome-css/doxygen-awesome-fragment-copy-button.js",
    ],
    "libjs-highlight.js": ["/usr/share/javascript/highlight.js/highlight.min.js"],
    "libjs-lunr": ["/usr/share/javascript/lunr/lunr.min.js"],
}

INDEX_NAME = "ft_search_index.js"

# Pages that list or cross-reference what other pages document: indexing them would only repeat results.
SKIPPED_PAGES = re.compile(
    r"(_source|_dup|_incl|_dep__incl)\.html$|^(dir_|globals|functions|namespacemembers)"
    r"|^(annotated|classes|files|pages|graph_legend|modules|namespaces)\.html$"
)

# Elements whose text is chrome, not content.
SKIPPED_CLASSES = {"ttc", "dynheader", "dyncontent", "permalink", "memproto", "memSeparator", "ft-nav"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
HEADINGS = {"h1", "h2", "h3", "h4"}

# Rust items a plain (unhighlighted) code block declares, and the paths it uses (`Arc::clone`, `ptr::read`).
RUST_DECL = re.compile(
    r"\b(?:fn|struct|enum|trait|type|mod|const|static|union|macro_rules!)\s+([A-Za-z_][A-Za-z0-9_]*)"
)
RUST_IMPL = re.compile(r"\bimpl(?:<[^>]*>)?\s+(?:([A-Za-z_][A-Za-z0-9_:]*)(?:<[^>]*>)?\s+for\s+)?([A-Za-z_]\w*)")
RUST_PATH = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)+")
RUST_MACRO = re.compile(r"\b([a-z_][a-z0-9_]*)!")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:::|\.)[A-Za-z_][A-Za-z0-9_]*)*")


class Node:
    """One element of the parsed page: tag, attributes, children (Nodes and strings)."""

    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def text(self):
        """The visible text below this node, minus chrome."""
        out = []
        self._collect(out)
        return "".join(out)

    def _collect(self, out):
        for child in self.children:
            if isinstance(child, str):
                out.append(child)
            elif not (child.classes() & SKIPPED_CLASSES) and child.tag not in ("script", "style"):
                if child.tag in ("p", "li", "tr", "td", "th", "br", "div", "dd", "dt") or child.tag in HEADINGS:
                    out.append(" ")
                child._collect(out)

    def find_all(self, pred):
        for child in self.children:
            if isinstance(child, Node):
                if pred(child):
                    yield child
                yield from child.find_all(pred)


class TreeBuilder(html.parser.HTMLParser):
    """A forgiving tree builder: Doxygen's XHTML is well formed, so a plain stack suffices."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID_TAGS:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        node = self.cur
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def squash(text):
    return re.sub(r"\s+", " ", text).strip()


def name_terms(names):
    """Each name as written plus its parts, so `reserve` finds `fv_reserve_exact` and `push` finds `Vec::push`."""
    terms = []
    for name in names:
        name = name.strip("().:;,")
        if len(name) < 2:
            continue
        terms.append(name.lower())
        parts = re.split(r"::|\.|_+", name)
        for part in parts:
            terms.extend(p.lower() for p in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", part) if len(p) > 1)
            if part and part.lower() != name.lower():
                terms.append(part.lower())
    seen = set()
    return " ".join(t for t in terms if len(t) > 1 and not (t in seen or seen.add(t)))


def is_plain_fragment(node):
    """A code block Doxygen did not highlight (Rust, shell, text): it holds no span or link."""
    return not any(True for _ in node.find_all(lambda n: n.tag in ("span", "a")))


def fragment_text(node):
    lines = [line.text() for line in node.find_all(lambda n: "line" in n.classes())]
    return "\n".join(lines)


def rust_names(code):
    names = set(RUST_DECL.findall(code)) | set(RUST_PATH.findall(code)) | set(RUST_MACRO.findall(code))
    for trait, ty in RUST_IMPL.findall(code):
        names.update(n for n in (trait, ty) if n)
    return names


class Section:
    def __init__(self, page, anchor, title):
        self.page = page
        self.anchor = anchor
        self.title = title
        self.text = []
        self.names = set()

    def doc(self, page_title):
        body = squash("".join(self.text))
        if not body and not self.names:
            return None
        url = self.page + ("#" + self.anchor if self.anchor else "")
        return {"u": url, "t": squash(self.title) or page_title, "p": page_title,
                "n": name_terms(sorted(self.names)), "b": body}


def walk_sections(contents, page, page_title):
    """Cuts a page's content into sections at each heading and each documented symbol."""
    sections = [Section(page, "", page_title)]
    pending_anchor = [None]

    def visit(node):
        for child in node.children:
            if isinstance(child, str):
                sections[-1].text.append(child)
                continue
            cls = child.classes()
            if child.tag == "a" and child.attrs.get("id") and not child.children:
                pending_anchor[0] = child.attrs["id"]
                continue
            if cls & SKIPPED_CLASSES:
                continue
            if child.tag in HEADINGS and "groupheader" not in cls:
                anchors = [a.attrs["id"] for a in child.find_all(lambda n: n.tag == "a" and "id" in n.attrs)]
                anchor = anchors[0] if anchors else pending_anchor[0]
                title = child.text()
                section = Section(page, anchor or "", title)
                if "memtitle" in cls:
                    section.names.add(title.replace("()", "").strip())
                sections.append(section)
                pending_anchor[0] = None
                continue
            if "fragment" in cls:
                if is_plain_fragment(child):
                    sections[-1].names.update(rust_names(fragment_text(child)))
                continue
            if child.tag == "pre":
                # The chapter pages' Rust blocks: <pre><code class="language-rust"> (docs/pages.py).
                sections[-1].names.update(rust_names(child.text()))
                continue
            if child.tag == "code":
                code = child.text()
                sections[-1].names.update(IDENT.findall(code))
                sections[-1].text.append(code)
                continue
            if child.tag in ("p", "li", "tr", "td", "th", "dd", "dt", "br", "div", "table"):
                sections[-1].text.append(" ")
            visit(child)

    visit(contents)
    return [d for d in (s.doc(page_title) for s in sections) if d]


def index_page(path, name):
    builder = TreeBuilder()
    with open(path, encoding="utf-8") as f:
        builder.feed(f.read())
    root = builder.root
    titles = list(root.find_all(lambda n: "title" in n.classes() and n.tag == "div"))
    page_title = squash(titles[0].text()) if titles else name
    contents = list(root.find_all(lambda n: n.tag == "div" and "contents" in n.classes()))
    if not contents:
        return []
    docs = walk_sections(contents[0], name, page_title)
    # A symbol's own page (a struct) is found by the symbol's name too.
    if name.startswith(("struct", "union", "enum")) and docs:
        docs[0]["n"] = (docs[0]["n"] + " " + name_terms([page_title.split()[0]])).strip()
    return docs


def build_index(html_dir):
    docs = []
    for name in sorted(os.listdir(html_dir)):
        if not name.endswith(".html") or SKIPPED_PAGES.search(name):
            continue
        docs.extend(index_page(os.path.join(html_dir, name), name))
    out = os.path.join(html_dir, INDEX_NAME)
    with open(out, "w", encoding="utf-8") as f:
        f.write("/* Written by docs/theme/theme.py from the pages beside it: the documents of the search box. */\n")
        f.write("window.FT_SEARCH_DOCS = ")
        json.dump(docs, f, ensure_ascii=False, separators=(",", ":"))
        f.write(";\n")
    print(f"theme: search index of {len(docs)} sections -> {out} ({os.path.getsize(out) // 1024} KiB)")


def check():
    missing = {pkg: [p for p in paths if not os.path.isfile(p)] for pkg, paths in PACKAGED_FILES.items()}
    missing = {pkg: paths for pkg, paths in missing.items() if paths}
    for pkg, paths in missing.items():
        print(f"docs: {paths[0]} not found: install the Debian package {pkg} (or run 'sudo make deps')",
              file=sys.stderr)
    return 1 if missing else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "check":
        return check()
    if len(argv) == 3 and argv[1] == "index":
        build_index(argv[2])
        return 0
    print("usage: theme.py check | theme.py index HTML_DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
