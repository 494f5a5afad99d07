"""Builds the selftest's submissions: the reference solutions, the skeletons, and the hostile cases described by
hostile/<name>/case.conf. Nothing binary is kept in the repository: archives are made here, at test time.

A hostile case is a small chapter-01 submission, made from a base (the reference solution or the skeleton) and:
  wrap = FILE FUNCTION   FUNCTION is renamed ferrite_hostile_real_FUNCTION in FILE, and wrap.c (which defines
                         FUNCTION, usually calling the real one) is appended;
  append = FILE          append.c is appended to FILE;
  <source>.c             replaces the base's file;
  copy = CASE            the files of another case;
  form = tar.gz | zip    handed in as an archive; evil = yes adds entries the unpacker must refuse.
In every file @WORKBOOK@, @PORT@ and @MARKER@ are replaced by the workbook's path, the selftest listener's port
and a marker string made for this run (it appears nowhere in the repository).

How it is graded, and what must come out (selftest/run checks each key given):
  options = ...          extra harness/grade options (--no-inspect switches the object inspection off)
  rubrics = selftest     grade with selftest/rubrics/ (shorter timeout, a performance test)
  needs = namespaces     skipped, with a note, where bubblewrap cannot run
  expect.percent         0, 100, or partial (strictly between)
  expect.score           points, exactly;  expect.perf: the performance test's points
  expect.status          the chapter's status: graded, build-failed, refused
  expect.message         a regular expression the chapter's message or some failing test's message matches
  expect.failing         a regular expression every failing test's message matches (performance tests aside)
  expect.notes           regular expressions separated by "; ", each matched by some note of the report"""

import io
import re
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path

CHAPTER = "01-ownership-buffers"
HERE = Path(__file__).resolve().parent


def read_case(name):
    conf = {"name": name}
    for line in (HERE / "hostile" / name / "case.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            conf[key.strip()] = value.strip()
    return conf


def all_cases():
    return sorted(p.name for p in (HERE / "hostile").iterdir() if (p / "case.conf").is_file())


def chapter_sources(workbook, chapter):
    conf = (workbook / "chapters" / chapter / "chapter.conf").read_text()
    return re.search(r"^sources\s*=\s*(.*)$", conf, re.M).group(1).split()


def copy_sources(workbook, origin, chapters, dest):
    """chapters/<ch>/<sources> from `origin` (solutions or chapters) into dest; the chapters that were complete."""
    done = []
    for ch in chapters:
        files = [workbook / origin / ch / s for s in chapter_sources(workbook, ch)]
        if not all(f.is_file() for f in files):
            continue
        (dest / "chapters" / ch).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(f, dest / "chapters" / ch / f.name)
        done.append(ch)
    return done


def _wrap(text, function, extra):
    lines = text.splitlines()
    last = max(i for i, ln in enumerate(lines) if ln.lstrip().startswith("#include"))
    lines.insert(last + 1, f"#define {function} ferrite_hostile_real_{function}")
    return "#ifndef _GNU_SOURCE\n#define _GNU_SOURCE\n#endif\n" + "\n".join(lines) + \
        f"\n\n#undef {function}\n" + extra


def _substitute(text, ctx):
    for key, value in ctx.items():
        text = text.replace(f"@{key}@", str(value))
    return text


def make_case(workbook, case, dest, ctx):
    """Writes the case's submission under dest; returns the path to hand to the grader."""
    src_dir = HERE / "hostile" / case.get("copy", case["name"])
    files_conf = read_case(case["copy"]) if "copy" in case else case
    base = "solutions" if files_conf.get("base") == "solution" else "chapters"
    tree = dest / "submission"
    copy_sources(workbook, base, [CHAPTER], tree)
    chdir = tree / "chapters" / CHAPTER
    for f in src_dir.glob("*.c"):
        if f.name in chapter_sources(workbook, CHAPTER):
            (chdir / f.name).write_text(f.read_text())
    if "wrap" in files_conf:
        target, function = files_conf["wrap"].split()
        (chdir / target).write_text(_wrap((chdir / target).read_text(), function, (src_dir / "wrap.c").read_text()))
    if "append" in files_conf:
        target = files_conf["append"]
        text = "#ifndef _GNU_SOURCE\n#define _GNU_SOURCE\n#endif\n" + (chdir / target).read_text()
        (chdir / target).write_text(text + "\n" + (src_dir / "append.c").read_text())
    for f in chdir.iterdir():
        f.write_text(_substitute(f.read_text(), ctx))
    form = case.get("form", "dir")
    if form == "dir":
        return tree
    archive = dest / f"submission.{form}"
    (make_tar if form == "tar.gz" else make_zip)(tree, archive, case.get("evil") == "yes", ctx["NONCE"])
    return archive


def _tar_add(t, name, data=b"", kind=tarfile.REGTYPE, link="", size=None):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, 0o644
    if kind == tarfile.CHRTYPE:
        info.devmajor, info.devminor = 1, 3
    info.size = len(data) if size is None else size
    t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def make_tar(tree, archive, evil, nonce):
    with tarfile.open(archive, "w:gz") as t:
        t.add(tree, arcname="submission")
        if evil:
            _tar_add(t, f"../../escape-{nonce}", b"climbed out\n")
            _tar_add(t, f"/tmp/ferrite-abs-{nonce}", b"absolute\n")
            _tar_add(t, f"submission/link-{nonce}", kind=tarfile.SYMTYPE, link="/etc/passwd")
            _tar_add(t, f"submission/hard-{nonce}", kind=tarfile.LNKTYPE,
                     link=f"submission/chapters/{CHAPTER}/vec.c")
            _tar_add(t, f"submission/dev-{nonce}", kind=tarfile.CHRTYPE)
            _tar_add(t, f"submission/fifo-{nonce}", kind=tarfile.FIFOTYPE)
            _tar_add(t, f"submission/big-{nonce}.c", bytes(2 << 20))


def make_zip(tree, archive, evil, nonce):
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(tree.rglob("*")):
            if f.is_file():
                z.write(f, "submission/" + str(f.relative_to(tree)))
        if evil:
            z.writestr(f"../../escape-{nonce}", "climbed out\n")
            z.writestr(f"/tmp/ferrite-abs-{nonce}", "absolute\n")
            link = zipfile.ZipInfo(f"submission/link-{nonce}")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(link, "/etc/passwd")
