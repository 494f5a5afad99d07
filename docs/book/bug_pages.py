"""The "What the tests catch" page: each chapter's bug catalogue (tests/NN-name/bugs/*.patch), read from the
patches' headers.

docs/pages.py calls catalogue_page once. The page shows what each catalogued mistake is, the concept it misses and
the tests that catch it, as the headers state them; `make bugs` is what proves the statements (mk/bugs.py, whose
reader of a header this page shares).
"""

import glob
import html
import importlib.util
import os
from pathlib import Path

from . import ROOT
from .markdown import fix_inline

CATALOGUE_LABEL = "bugs"


def bug_reader():
    """mk/bugs.py's read_bug: one reader of the header format for the proof and the page."""
    spec = importlib.util.spec_from_file_location("ferrite_bugs", os.path.join(ROOT, "mk", "bugs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.read_bug


def chapter_entries(chapter, read_bug):
    """(name, header fields) of each entry of the chapter's catalogue, in name order."""
    entries = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", chapter.folder, "bugs", "*.patch"))):
        fields, patch = read_bug(Path(path))
        files = sorted({line[6:].strip() for line in patch.splitlines() if line.startswith("+++ b/")})
        entries.append((os.path.splitext(os.path.basename(path))[0], fields, files))
    return entries


def prose(text, linker):
    """A header field as page text. Outside code spans, <, > and & are characters, not HTML (Rust's Vec<T> written
    without backticks), \\ and @ are not Doxygen commands, and * is not emphasis (C's *out); then fix_inline as for
    every page."""
    parts = text.split("`")
    for index in range(0, len(parts), 2):
        escaped = html.escape(parts[index], quote=False)
        parts[index] = escaped.replace("\\", "\\\\").replace("@", "\\@").replace("*", "\\*")
    return fix_inline("`".join(parts), linker)


def entry_lines(name, fields, files, linker):
    """One catalogue entry: its name and mistake, then concept, tests and file, then its note."""
    tests = ", ".join(f"`{test}`" for test in fields["Caught-by"])
    variant = "" if fields["Variant"] == "asan" else f" (under `make {fields['Variant']}`)"
    out = [f"- <b>{name}</b> — {prose(fields['Bug'], linker)}  ",
           f"  Concept: *{fields['Concept']}* · caught by {tests}{variant} · in "
           + ", ".join(f"`{file}`" for file in files)]
    if fields.get("Note"):
        out[-1] += "  "
        out.append("  " + prose(fields["Note"], linker))
    return out


def catalogue_page(chapters, linker):
    read_bug = bug_reader()
    out = [f"# What the tests catch {{#{CATALOGUE_LABEL}}}", "",
           "Each chapter keeps a catalogue of the mistakes its students make most: one small patch per mistake "
           "against the reference solution, with the concept it misses and the tests that must catch it. "
           "`make bugs CH=NN` applies each one to a scratch copy of the solution and runs those tests; an entry "
           "holds only if a test fails *and* that test's hint names the concept, so a student who makes the "
           "mistake reads what they missed. `make selftest` proves every entry, and `make bugs CH=NN FULL=1` "
           "lists every test that catches each one. The patches are in `tests/NN-name/bugs/`: reading one after "
           "finishing a chapter is a good way to see how close a working solution is to a broken one.", ""]
    for chapter in chapters:
        entries = chapter_entries(chapter, read_bug)
        out += [f"## {chapter.short} {{#{CATALOGUE_LABEL}_{chapter.label}}}", "",
                f'The chapter page: \\ref {chapter.label} "{chapter.title}".', ""]
        if not entries:
            out += ["This chapter has no catalogue yet.", ""]
            continue
        for name, fields, files in entries:
            out += entry_lines(name, fields, files, linker)
        out.append("")
    return "\n".join(out) + "\n"
