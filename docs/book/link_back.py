"""After Doxygen: each C item's "Rust" heading pointed at the item's row in the grouped Rust <-> C index.

`docs/pages.py --link-back HTML_DIR` calls link_back, after Doxygen has written the site and before the search
index is built (mk/docs.mk). It edits the HTML pages in place.
"""

import glob
import os
import re

from .rust_index import INDEX_LABEL


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
    rows, by_place = index_rows(index)
    shared_links = {}
    linked = unplaced = 0
    for path in sorted(glob.glob(os.path.join(html_dir, "*.html"))):
        if path == index_path:
            continue
        page_linked, page_unplaced = relink_page(path, rows, by_place, shared_links)
        linked += page_linked
        unplaced += page_unplaced
    for row, place in shared_links.items():
        index = re.sub(rf'(id="{row}"></a>\s*<code>)([^<]+)(</code>)',
                       lambda match: f'{match.group(1)}<a class="el" href="{place}">{match.group(2)}</a>'
                                     f"{match.group(3)}", index)
    with open(index_path, "w", encoding="utf-8") as text:
        text.write(index)
    print(f"pages: {linked} Rust heading(s) linked to their rows of the Rust <-> C index"
          + (f"; {unplaced} left on the flat list" if unplaced else ""))


def index_rows(index):
    """The anchors of the grouped tables' rows in the index page's HTML, and the row of each place a row links."""
    by_place = {}
    rows = set()
    for row in re.finditer(r'<a class="anchor" id="(rust_row_\w+)"></a>\s*<code>(?:<a class="el" href="([^"]+)")?',
                           index):
        rows.add(row.group(1))
        if row.group(2):
            by_place[row.group(2)] = row.group(1)
    return rows, by_place


def relink_page(path, rows, by_place, shared_links):
    """Points the Rust headings of one HTML page at their rows, rewriting the page if any moved; returns how many
    headings were linked and how many were left on the flat list."""
    with open(path, encoding="utf-8") as text:
        body = text.read()
    page = os.path.basename(path)
    pieces = []
    last = 0
    linked = unplaced = 0
    for heading in RUST_HEADING.finditer(body):
        row = heading_row(body, page, heading.start(), rows, by_place, shared_links)
        if row is None:
            unplaced += 1
            continue
        pieces.append(body[last:heading.start(1)] + row)
        last = heading.end(1)
        linked += 1
    if pieces:
        with open(path, "w", encoding="utf-8") as text:
            text.write("".join(pieces) + body[last:])
    return linked, unplaced


def heading_row(body, page, start, rows, by_place, shared_links):
    """The row of the Rust heading at body[start:], found from the place it stands in, or None.

    A row found by name and header (a name declared in two headers) is noted in shared_links with the place, so
    that the row's C name can link it.
    """
    anchors = re.findall(r'<a\b[^>]*\bid="([^"]+)"', body[:start])
    member = anchors[-1] if anchors and MEMBER_ANCHOR.fullmatch(anchors[-1]) else None
    place = f"{page}#{member}" if member else page
    row = by_place.get(place)
    if row is None and member:
        title = re.search(r'<h2 class="memtitle">.*?</span>\s*([A-Za-z_]\w*)',
                          body[body.rfind(f'id="{member}"', 0, start):start], re.S)
        name = title.group(1) if title else ""
        wanted = "rust_row_" + re.sub(r"[^A-Za-z0-9_]", "_", f"{name}_{header_of(page)}")
        if wanted in rows:
            row = wanted
            shared_links[row] = place
    return row
