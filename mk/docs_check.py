#!/usr/bin/env python3
"""Checks the documentation site the way a reader meets it; `make docs` runs it last and fails when it fails.

- Doxygen's warning log is empty.
- No Markdown shows through: the text of every page (outside code, signatures and source listings) holds no
  `**` and no backtick.
- Every local link resolves: each href, src and data of every page names a file that exists and, for a page, an
  anchor (id or name) that the page has.
- Every chapter (chapters/NN-name/README.md) has its page, chapter_NN.html, with at its top and bottom the links
  to the previous and next chapter (those that exist), the chapter table, the chapter's part of the Rust <-> C
  index and the Benchmarks page; its diagram when docs/diagrams/NN-name.dot exists; its figures when
  docs/plots.py wrote build/docs/gen/figures-NN-name.md; its Key code in two columns when that section has both
  Rust and C blocks; its Rust blocks marked for highlighting.
- The Rust <-> C index has a section per chapter, and every C item's "Rust" heading links to a row of it.

Usage: python3 mk/docs_check.py [DOCS_DIR]   (default build/docs: html/, gen/ and warnings.log inside)
Exit status 1 lists every failure. Standard library only.
"""

import glob
import os
import re
import sys
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track",
        "wbr"}
# Elements whose text is code or a C declaration, where `**` (void **out) and backticks are what they should be.
CODE_TAGS = {"code", "pre", "tt", "script", "style", "kbd", "samp"}
CODE_CLASSES = {"fragment", "memname", "memproto", "memItemLeft", "memItemRight", "memTemplParams", "paramtype",
                "paramname", "ttc", "line", "mlabels"}


class Page(HTMLParser):
    """One HTML page: its prose text, its anchors and its links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []          # (tag, skips text)
        self.text = []
        self.ids = set()
        self.links = []          # (attribute value, line)
        self.reflist = 0         # depth inside <dl class="reflist">, whose <dt> are C declarations

    def skipping(self):
        return any(skip for _, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        for key in ("href", "src", "data"):
            if attrs.get(key) is not None and tag not in ("html",):
                self.links.append((attrs[key], self.getpos()[0]))
        if tag in VOID:
            return
        classes = set((attrs.get("class") or "").split())
        skip = tag in CODE_TAGS or bool(classes & CODE_CLASSES)
        if tag == "dl" and "reflist" in classes:
            self.reflist += 1
        if tag == "dt" and self.reflist:
            skip = True
        self.stack.append((tag, skip))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag == "dl" and self.reflist:
            self.reflist -= 1
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        if not self.skipping():
            self.text.append((data, self.getpos()[0]))


def parse(path):
    page = Page()
    with open(path, encoding="utf-8", errors="replace") as text:
        page.feed(text.read())
    page.close()
    return page


class Checker:
    def __init__(self, docs_dir):
        self.docs = docs_dir
        self.html = os.path.join(docs_dir, "html")
        self.gen = os.path.join(docs_dir, "gen")
        self.failures = []
        self.pages = {}

    def fail(self, message):
        self.failures.append(message)

    def page(self, path):
        path = os.path.normpath(path)
        if path not in self.pages:
            self.pages[path] = parse(path)
        return self.pages[path]

    def rel(self, path):
        return os.path.relpath(path, ROOT)

    # ---- the checks ----------------------------------------------------------------------------------------------

    def warnings(self):
        log = os.path.join(self.docs, "warnings.log")
        if os.path.exists(log) and os.path.getsize(log) > 0:
            with open(log, encoding="utf-8", errors="replace") as text:
                lines = text.read().splitlines()
            self.fail(f"{self.rel(log)}: Doxygen reported {len(lines)} line(s) of warnings, first: {lines[0]}")

    def raw_markdown(self, files):
        for path in files:
            if path.endswith("_source.html"):
                continue  # a source listing is code from top to bottom
            for data, line in self.page(path).text:
                for mark in ("**", "`"):
                    at = data.find(mark)
                    if at >= 0:
                        context = " ".join(data[max(at - 50, 0):at + 50].split())
                        self.fail(f"{self.rel(path)}:{line}: raw Markdown {mark!r} in the text: …{context}…")
                        break

    def local_links(self, files):
        for path in files:
            for link, line in self.page(path).links:
                parts = urlsplit(link)
                if parts.scheme or parts.netloc or link.startswith(("javascript:", "mailto:")) or not link:
                    continue
                target = os.path.normpath(os.path.join(os.path.dirname(path), unquote(parts.path))) \
                    if parts.path else path
                if not os.path.exists(target):
                    self.fail(f"{self.rel(path)}:{line}: link to a missing file: {link}")
                    continue
                if parts.fragment and target.endswith(".html") and os.path.isfile(target):
                    if unquote(parts.fragment) not in self.page(target).ids:
                        self.fail(f"{self.rel(path)}:{line}: link to a missing anchor: {link}")

    def chapters(self):
        readmes = sorted(glob.glob(os.path.join(ROOT, "chapters", "[0-9][0-9]-*", "README.md")))
        numbers = [os.path.basename(os.path.dirname(readme))[:2] for readme in readmes]
        index_path = os.path.join(self.html, "rust.html")
        index = self.page(index_path) if os.path.exists(index_path) else None
        for position, readme in enumerate(readmes):
            folder = os.path.basename(os.path.dirname(readme))
            number = folder[:2]
            path = os.path.join(self.html, f"chapter_{number}.html")
            name = f"chapter_{number}.html ({folder})"
            if not os.path.exists(path):
                self.fail(f"{name}: no page for chapters/{folder}/README.md")
                continue
            with open(path, encoding="utf-8") as text:
                body = text.read()
            navs = re.findall(r'<div class="ft-nav[^"]*">(.*?)</div>', body, re.S)
            if len(navs) != 2:
                self.fail(f"{name}: {len(navs)} navigation bar(s), not one at the top and one at the bottom")
            wanted = {"index.html": "the chapter table", f"rust.html#rust_chapter_{number}": "its Rust ↔ C index",
                      "benchmarks.html": "the Benchmarks page"}
            if position > 0:
                wanted[f"chapter_{numbers[position - 1]}.html"] = "the previous chapter"
            if position + 1 < len(numbers):
                wanted[f"chapter_{numbers[position + 1]}.html"] = "the next chapter"
            for nav in navs:
                hrefs = re.findall(r'href="([^"]+)"', nav)
                for href, what in wanted.items():
                    if not any(link == href or link.startswith(href + "#") for link in hrefs):
                        self.fail(f"{name}: a navigation bar has no link to {what} ({href})")
            with open(readme, encoding="utf-8") as text:
                source = text.read()
            if os.path.exists(os.path.join(ROOT, "docs", "diagrams", f"{folder}.dot")):
                if 'class="dotgraph"' not in body:
                    self.fail(f"{name}: docs/diagrams/{folder}.dot exists but the page shows no diagram")
            if os.path.exists(os.path.join(self.gen, f"figures-{folder}.md")):
                figures = re.search(r'<div class="ft-figures">(.*?)</div><!-- ft-figures -->', body, re.S)
                if not figures or not re.search(r"<(img|object|iframe|svg|table)\b", figures.group(1)):
                    self.fail(f"{name}: build/docs/gen/figures-{folder}.md exists but the page shows no figures")
            key_code = re.search(r"^## Key code\n(.*?)(?=^## )", source, re.S | re.M)
            if key_code and re.search(r"^\s*```rust", key_code.group(1), re.M) \
                    and re.search(r"^\s*```c\b", key_code.group(1), re.M):
                if not re.search(r'class="ft-pair"><div class="ft-rust">.*?<div class="ft-c">', body, re.S):
                    self.fail(f"{name}: Key code has Rust and C blocks but they are not set in two columns")
            if re.search(r"^\s*```rust", source, re.M) and 'class="language-rust"' not in body:
                self.fail(f"{name}: the Rust code blocks are not marked as Rust")
            if index is not None and f"rust_chapter_{number}" not in index.ids:
                self.fail(f"rust.html: no section for chapter {number}")

    def rust_headings(self, files):
        """Every "Rust" heading of a C item links to a row of the grouped index, not to the flat list."""
        for path in files:
            with open(path, encoding="utf-8") as text:
                body = text.read()
            for target in re.findall(r'<dl class="rust"><dt><b><a class="el" href="rust\.html#([^"]+)"', body):
                if not target.startswith("rust_row_"):
                    self.fail(f"{self.rel(path)}: a Rust heading links to rust.html#{target}, not to an index row")

    def run(self):
        if not os.path.isdir(self.html):
            self.fail(f"{self.rel(self.html)}: no site; run `make docs`")
            return
        self.warnings()
        files = sorted(glob.glob(os.path.join(self.html, "**", "*.html"), recursive=True))
        self.raw_markdown(files)
        self.local_links(files)
        self.chapters()
        self.rust_headings(files)


def main():
    docs = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else os.path.join("build", "docs"))
    checker = Checker(docs)
    checker.run()
    if checker.failures:
        for failure in checker.failures[:200]:
            print(f"docs_check: {failure}", file=sys.stderr)
        more = len(checker.failures) - 200
        if more > 0:
            print(f"docs_check: ... and {more} more", file=sys.stderr)
        print(f"docs_check: {len(checker.failures)} problem(s) in the site", file=sys.stderr)
        return 1
    print(f"docs_check: {len(checker.pages)} page(s) checked: no raw Markdown, every local link resolves, "
          "every chapter page complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
