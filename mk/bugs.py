#!/usr/bin/env python3
"""`make bugs [CH=NN] [BUG=name] [FULL=1]`: the bug catalogue, proved.

Each chapter keeps the classic mistakes of its students in tests/NN-name/bugs/<name>.patch: a small patch against
the reference solution, headed by what it teaches and which tests must catch it:

    Bug: pop stores bottom with a relaxed store, so the load of top can pass it
    Concept: store buffer
    Caught-by: loom_pop_and_steal_take_each_item_once[, another_test ...]
    Variant: asan            (optional: asan, the default, memcheck or tsan)
    Note: optional lines of explanation; a line that starts with two spaces
      continues the field above it.

    --- a/deque.c
    +++ b/deque.c
    @@ ...

For every bug this script copies the reference solution into a scratch folder (build/bugs/impl/; a long catalogue
also build/bugs/impl-2/, its second lane), applies the
patch there, builds the chapter's tests against it and runs the tests named in Caught-by (FULL=1: every test of the
chapter, to see all that catch it). A bug is *caught* when at least one of those tests fails and the hint of a
failing test names its Concept (case-insensitive); a bug that builds no longer, passes, or fails only tests whose
hints say nothing of it, fails the catalogue. Only the patched file is compiled again for each bug: the scratch
copy keeps the other objects. Chapters run two at a time (JOBS=n to change it).

Prints a table per chapter (bug, the tests that caught it, the concept) and exits 1 if any bug was not caught.
"""

import argparse
import concurrent.futures
import filecmp
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("Bug", "Concept", "Caught-by", "Variant", "Note")
VARIANTS = ("asan", "memcheck", "tsan")


class CatalogueError(Exception):
    """A catalogue entry that cannot be read or applied."""


def read_bug(path):
    """The header fields of a bug file, as a dict (Caught-by as a list), and the patch text below them."""
    fields, last = {}, None
    lines = path.read_text().splitlines(keepends=True)
    for number, line in enumerate(lines):
        if line.startswith(("--- ", "diff ")):
            patch = "".join(lines[number:])
            break
        if line.startswith("  ") and last:
            fields[last] += " " + line.strip()
        elif ":" in line and line.split(":", 1)[0] in FIELDS:
            last, value = line.split(":", 1)
            fields[last] = value.strip()
        elif line.strip():
            raise CatalogueError(f"{path.name}:{number + 1}: not a field ({', '.join(FIELDS)}) nor a patch: {line!r}")
    else:
        raise CatalogueError(f"{path.name}: no patch (a line starting with '--- a/<file>')")
    for needed in FIELDS[:3]:
        if not fields.get(needed):
            raise CatalogueError(f"{path.name}: the field {needed}: is missing")
    fields["Caught-by"] = [name for name in re.split(r"[,\s]+", fields["Caught-by"]) if name]
    fields.setdefault("Variant", "asan")
    if fields["Variant"] not in VARIANTS:
        raise CatalogueError(f"{path.name}: Variant: {fields['Variant']} is not one of {', '.join(VARIANTS)}")
    return fields, patch


def sync(source, dest):
    """Makes dest/ hold exactly source/'s files, copying only those that differ (so their objects stay valid)."""
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {path.name for path in source.iterdir() if path.is_file()}
    for path in dest.iterdir():
        if path.name not in wanted:
            path.unlink()
    for name in wanted:
        if not (dest / name).exists() or not filecmp.cmp(source / name, dest / name, shallow=False):
            shutil.copyfile(source / name, dest / name)


def seed(chapter, scratch):
    """Starts the scratch copy's build folders from the reference's (build/solutions/<variant>/<chapter>), so that
    the first bug of a chapter compiles only its own file instead of the whole chapter. Only a folder the scratch
    copy does not have yet is seeded; the copy keeps the times of the files, the scratch sources get those of
    solutions/ (older than the objects made from them), and the dependency files are rewritten to the new paths,
    so make still rebuilds whatever a changed header or a patched file touches. Returns whether it seeded any."""
    tag = str(scratch).rstrip("/").replace("/", "_")
    seeded = False
    for built in sorted((ROOT / "build" / "solutions").glob(f"*/{chapter}")):
        dest = ROOT / "build" / tag / built.parent.name / chapter
        if dest.exists() or not built.is_dir():
            continue
        shutil.copytree(built, dest, symlinks=True, ignore=only_build_outputs)
        for deps in dest.rglob("*.d"):
            text = deps.read_text()
            text = text.replace("build/solutions/", f"build/{tag}/").replace(f"solutions/{chapter}/",
                                                                             f"{scratch}/{chapter}/")
            stat = deps.stat()
            deps.write_text(text)
            os.utime(deps, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        seeded = True
    if seeded:
        for source in (ROOT / "solutions" / chapter).iterdir():
            shutil.copy2(source, ROOT / scratch / chapter / source.name)
    return seeded


def make_run(chapter, impl, variant, tests, cc):
    """Builds and runs the chapter's tests against impl/; returns (exit status, output, build folder)."""
    command = ["make", "--no-print-directory", "-f", "mk/chapter.mk", "run", f"CH={chapter}", f"IMPL={impl}",
               f"VARIANT={variant}", f"CC={cc}", "RESULTS_ONLY=1", "QUIET=1", "NO_COLOR=1"]
    if tests:
        command.append("TEST=" + ",".join(tests))
    tag = str(impl).rstrip("/").replace("/", "_")
    folder = ROOT / "build" / tag / f"{variant}-{cc}" / chapter
    # The last bug's results must not stand in for this one's when this build fails (make then stops before the
    # run recipe, which would have removed them).
    (folder / "results.tsv").unlink(missing_ok=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    return done.returncode, done.stdout + done.stderr, folder


def only_build_outputs(folder, names):
    """What copytree leaves out of a seeded build: what a demo or a test left running there (a PostgreSQL cluster's
    folder, its socket, any other file that is not a regular file, a folder or a link)."""
    skip = []
    for name in names:
        path = os.path.join(folder, name)
        if name == "pg" or not (os.path.islink(path) or os.path.isfile(path) or os.path.isdir(path)):
            skip.append(name)
    return skip


def results(folder):
    """{test name: status} from the run's results.tsv."""
    table = folder / "results.tsv"
    if not table.is_file():
        return {}
    return {row[3]: row[5] for row in (line.split("\t") for line in table.read_text().splitlines()) if len(row) > 5}


def hints(folder):
    """{test name: hint} as the chapter's test binary lists them."""
    listed = subprocess.run([str(folder / "test"), "--list"], capture_output=True, text=True)
    return {row[1]: row[3] for row in (line.split("\t") for line in listed.stdout.splitlines()) if len(row) > 3}


def prove_bug(chapter, path, scratch, full, cc):
    """Applies one bug to the scratch copy, runs its tests, restores the copy; returns a row for the table."""
    fields, patch = read_bug(path)
    solution = ROOT / "solutions" / chapter
    work = ROOT / scratch / chapter
    row = {"bug": path.stem, "concept": fields["Concept"], "variant": fields["Variant"], "caught": [], "error": ""}
    applied = subprocess.run(["patch", "-p1", "-s", "-N", "-d", str(work)], input=patch, capture_output=True,
                             text=True)
    try:
        if applied.returncode != 0:
            row["error"] = "does not apply: " + (applied.stdout + applied.stderr).strip()[:300]
            return row
        wanted = [] if full else fields["Caught-by"]
        rc, output, folder = make_run(chapter, scratch, fields["Variant"], wanted, cc)
        statuses = results(folder)
        if rc not in (0, 1, 2) or not statuses or not (folder / "test").exists():
            row["error"] = f"does not build or run (exit {rc}): " + output.strip()[-600:]
            return row
        # A chapter fragment that lets a program fail to build (a cross-compiled kernel image, a freestanding
        # binary) says so and goes on, and the tests that run it fail: a bug that does not compile is not caught.
        unbuilt = re.search(r".*(did not build|FAILED to build).*", output)
        if unbuilt:
            row["error"] = "does not build: " + unbuilt.group(0).strip()[:300]
            return row
        missing = [name for name in fields["Caught-by"] if not full and name not in statuses]
        if missing:
            row["error"] = "Caught-by names no such test: " + ", ".join(missing)
            return row
        failed = [name for name, status in statuses.items() if status != "pass"]
        hint_of = hints(folder)
        row["caught"] = failed
        row["named"] = [name for name in failed if fields["Concept"].lower() in hint_of.get(name, "").lower()]
        if fields["Concept"] == "-" and not path.is_relative_to(ROOT / "tests"):
            row["named"] = failed  # a mutant outside the catalogue (--dir): whether it is caught is all we ask
        if not failed:
            row["error"] = "not caught: every test passes"
        elif not row["named"]:
            row["error"] = f"caught, but no failing test's hint names the concept \"{fields['Concept']}\""
        return row
    finally:
        sync(solution, work)  # the reference again, whatever the patch touched


LANE_SPLIT = 20  # a chapter with more bugs than this runs them in two lanes (prove_chapter)


def prove_lane(chapter, bugs, scratch, full, cc):
    """The given bugs of one chapter, one after the other, on the scratch copy `scratch`; returns their rows."""
    sync(ROOT / "solutions" / chapter, ROOT / scratch / chapter)
    seed(chapter, scratch)
    rows = []
    for bug in bugs:
        try:
            rows.append(prove_bug(chapter, bug, scratch, full, cc))
        except CatalogueError as error:
            rows.append({"bug": bug.stem, "concept": "?", "variant": "", "caught": [], "error": str(error)})
    return rows


def prove_chapter(chapter, only, full, cc, folder=None):
    """Every bug of one chapter, in name order; returns (lines to print, bugs, bugs caught)."""
    bugs = sorted((folder or ROOT / "tests" / chapter / "bugs").glob("*.patch"))
    if only:
        bugs = [bug for bug in bugs if bug.stem in only]
    scratch = Path(os.environ.get("BUGS_SCRATCH") or "build/bugs/impl")
    start = time.monotonic()
    # A long catalogue runs in two lanes, each on a scratch copy of its own (the second one's folder ends in -2):
    # its tests wait on servers and deadlines often enough that a second lane finishes the chapter sooner.
    lanes = [bugs[0::2], bugs[1::2]] if len(bugs) > LANE_SPLIT else [bugs]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(lanes)) as pool:
        done = list(pool.map(lambda lane: prove_lane(chapter, lane[1], Path(f"{scratch}{lane[0]}"), full, cc),
                             [("" if number == 0 else f"-{number + 1}", lane) for number, lane in enumerate(lanes)]))
    rows = sorted((row for lane in done for row in lane), key=lambda row: row["bug"])
    good = sum(1 for row in rows if not row["error"])
    lines = [f"{chapter}: {good}/{len(rows)} bugs caught ({time.monotonic() - start:.0f} s)"]
    width = max((len(row["bug"]) for row in rows), default=3)
    for row in rows:
        mark = "ok  " if not row["error"] else "FAIL"
        caught = ", ".join(row.get("named") or row["caught"]) or "-"
        extra = len(row["caught"]) - len(row.get("named") or row["caught"])
        caught += f" (+{extra} more)" if extra > 0 else ""
        variant = f" [{row['variant']}]" if row["variant"] not in ("asan", "") else ""
        lines.append(f"  {mark} {row['bug']:<{width}}  {row['concept']}{variant}  <-  {caught}")
        if row["error"]:
            lines.extend("         " + part for part in row["error"].splitlines()[:12])
    return lines, len(rows), good


def chapters(selected, every_one=False):
    """The chapter folders CH= selects (all of them when empty) that have a bug catalogue (every_one: all)."""
    every = sorted(path.parent.name for path in (ROOT / "chapters").glob("[0-9][0-9]-*/chapter.conf"))
    chosen = [name for name in every if not selected or name == selected or name.startswith(selected + "-")]
    if selected and not chosen:
        sys.exit(f"bugs: no chapter matches CH={selected}; the chapters are: {' '.join(every)}")
    return [name for name in chosen if (ROOT / "tests" / name / "bugs").is_dir() or selected or every_one]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapter", default=os.environ.get("CH", ""))
    parser.add_argument("--bug", default=os.environ.get("BUG", ""), help="only these bugs (comma-separated names)")
    parser.add_argument("--full", action="store_true", default=os.environ.get("FULL", "") not in ("", "0"),
                        help="run every test of the chapter for each bug, not only its Caught-by tests")
    parser.add_argument("--dir", type=Path, help="patches from this folder instead of tests/NN-name/bugs/ "
                        "(one chapter only; Concept: - there skips the hint check, for mutation runs)")
    parser.add_argument("--min", type=int, default=int(os.environ.get("BUGS_MIN") or 0),
                        help="fail a chapter whose catalogue holds fewer entries (make selftest asks for 8)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS") or 2))
    args = parser.parse_args()
    cc = os.environ.get("BUGS_CC", "gcc")
    only = [name for name in args.bug.split(",") if name]
    selected = chapters(args.chapter, args.min > 0)
    if args.dir and len(selected) != 1:
        sys.exit("bugs: --dir needs one chapter (--chapter NN)")
    if not selected:
        print("bugs: no chapter with a bug catalogue (tests/NN-name/bugs/*.patch)")
        return 0
    total = caught = short = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        # The longest catalogues start first, so that the last chapter to finish is not a long one started late.
        def entries(chapter):
            return len(list((ROOT / "tests" / chapter / "bugs").glob("*.patch")))
        longest_first = sorted(selected, key=entries, reverse=True)
        started = {chapter: pool.submit(prove_chapter, chapter, only, args.full, cc, args.dir and args.dir.resolve())
                   for chapter in longest_first}
        runs = [started[chapter] for chapter in selected]
        for run in runs:  # in chapter order, each as soon as it and those before it are done
            lines, count, good = run.result()
            if count < args.min:
                lines.append(f"  FAIL only {count} bug(s) in tests/{lines[0].split(':')[0]}/bugs/: the catalogue "
                             f"asks for at least {args.min} per chapter")
                short += 1
            print("\n".join(lines), flush=True)
            total, caught = total + count, caught + good
    print(f"bug catalogue: {caught}/{total} caught" + (f"; {short} chapter(s) with too few" if short else ""))
    return 0 if caught == total and not short else 1


if __name__ == "__main__":
    sys.exit(main())
