#!/usr/bin/env python3
"""Checks that every function a chapter header declares carries a Doxygen comment with an @rust line.

The @rust lines feed the site's Rust <-> C index; a function without one is missing from it. For each header
under chapters/, every function declaration or inline definition at file scope (outside macros) must be
directly preceded by a /** ... */ comment, or followed on its line by a /**< ... */ one, that contains `@rust`.

Usage: python3 mk/check_rust_tags.py [HEADER...]   (default: chapters/*/*.h). Exit status 1 lists the misses.
"""

import glob
import os
import re
import sys

# A declaration's first line: optional qualifiers and attributes, a return type, a name, then "(".
FUNCTION_START = re.compile(r"^(?:static\s+|inline\s+|extern\s+|_Noreturn\s+|[A-Z][A-Z0-9_]*\s+)*"
                            r"[A-Za-z_][\w\s\*]*?\b([a-z_][a-z0-9_]*)\s*\(")
NOT_A_FUNCTION = ("typedef", "return", "if", "for", "while", "switch", "#", "struct", "union", "enum")


def strip_line_comment(line):
    """The code part of a line: without a trailing // comment."""
    return line.split("//", 1)[0]


def doc_before(lines, index):
    """The /** ... */ comment that ends on the line right before `index` (blank lines not allowed), or ""."""
    end = index - 1
    if end < 0 or not lines[end].rstrip().endswith("*/"):
        return ""
    start = end
    while start >= 0 and "/**" not in lines[start]:
        if start < end and "*/" in lines[start]:
            return ""  # reached the end of an earlier comment: this one is not a doc comment
        start -= 1
    return "\n".join(lines[start:end + 1]) if start >= 0 else ""


def misses_in(path):
    """Yields (line number, function name) for each function declared in `path` without an @rust line."""
    lines = open(path, encoding="utf-8").read().split("\n")
    depth = 0            # braces open at this point: only depth 0 is file scope
    in_macro = False     # inside a multi-line #define
    in_comment = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if in_comment:
            in_comment = "*/" not in line
            continue
        if line.startswith("/*") and "*/" not in line:
            in_comment = True
            continue
        if in_macro or line.startswith("#"):
            in_macro = raw.rstrip().endswith("\\")
            continue
        code = strip_line_comment(raw)
        match = FUNCTION_START.match(code.strip()) if depth == 0 else None
        if match and not code.strip().startswith(NOT_A_FUNCTION):
            trailing = raw.split("/**<", 1)[1] if "/**<" in raw else ""
            if "@rust" not in doc_before(lines, number - 1) and "@rust" not in trailing:
                yield number, match.group(1)
        depth += code.count("{") - code.count("}")


def main(paths):
    # A demo's own header (demo_*.h) is not part of a chapter's contract, so the index leaves it out.
    paths = paths or sorted(p for p in glob.glob("chapters/*/*.h") if not os.path.basename(p).startswith("demo_"))
    misses = [(p, n, name) for p in paths for n, name in misses_in(p)]
    for path, number, name in misses:
        print(f"{path}:{number}: {name}() has no @rust line in its Doxygen comment", file=sys.stderr)
    if misses:
        print(f"rust tags: {len(misses)} function(s) missing from the Rust <-> C index", file=sys.stderr)
        return 1
    print(f"rust tags: every function in {len(paths)} header(s) names its Rust counterpart")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
