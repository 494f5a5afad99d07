"""Stage 1, collect: from whatever a student handed in, take exactly the files each chapter's manifest (chapter.conf
`sources`) names, and lay them out next to a pristine copy of the workbook.

A submission is a directory or an archive (.tar, .tar.gz, .tgz, .tar.xz, .zip) holding a `chapters/` tree, a whole
copy of the workbook, or one chapter's files. Archives are unpacked entry by entry: anything that is not a plain
file or directory with a relative, `..`-free name, or that is too large, is refused with a note and never written.
Directories are read in place, never written; symbolic links in them are not followed."""

import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

MAX_FILE = 1 << 20          # a source file larger than 1 MiB is not a student's exercise
MAX_TOTAL = 64 << 20        # all the bytes unpacked from one archive
MAX_ENTRIES = 20000
MAX_DEPTH = 6               # how deep to look for chapter folders
PRISTINE = ["chapters", "tests", "mk", "Makefile"]
ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".zip")


class Collected:
    def __init__(self):
        self.notes = []        # messages for the report: refused entries, missing files, ...
        self.files = {}        # chapter name -> {source: "submitted" | "skeleton"}
        self.submitted = {}    # chapter name -> True when at least one file came from the submission


# ---- archives ------------------------------------------------------------------------------------------------------

def _safe_name(raw):
    """The entry's relative path as parts, or None when it is absolute or climbs out with `..`."""
    name = raw.replace("\\", "/")
    if not name or "\0" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [p for p in PurePosixPath(name).parts if p not in ("", ".")]
    if any(p == ".." for p in parts):
        return None
    return parts


class _Unpacker:
    def __init__(self, dest, notes):
        self.dest, self.notes, self.total, self.count = Path(dest), notes, 0, 0

    def refuse(self, name, why):
        self.notes.append(f"archive entry {name!r} refused: {why}")

    def admit(self, name, kind, size):
        """The destination for an entry, or None after noting why it is refused."""
        self.count += 1
        if self.count > MAX_ENTRIES:
            if self.count == MAX_ENTRIES + 1:
                self.refuse(name, f"more than {MAX_ENTRIES} entries; the rest are ignored")
            return None
        parts = _safe_name(name)
        if parts is None:
            self.refuse(name, "absolute path or `..`: it would land outside the submission")
            return None
        if kind != "file" and kind != "dir":
            self.refuse(name, f"{kind}: only plain files and directories are unpacked")
            return None
        if kind == "file" and size > MAX_FILE:
            self.refuse(name, f"{size} bytes, more than the {MAX_FILE}-byte limit per file")
            return None
        if kind == "file" and self.total + size > MAX_TOTAL:
            self.refuse(name, f"the archive unpacks to more than {MAX_TOTAL} bytes")
            return None
        return self.dest.joinpath(*parts) if parts else None

    def write(self, target, src, name):
        """Copies at most MAX_FILE bytes from src; never follows or replaces anything already there."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.parent.resolve().is_relative_to(self.dest.resolve()):
                self.refuse(name, "its folder resolves outside the submission")
                return
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            self.refuse(name, "a second entry with the same name")
            return
        except OSError as e:  # e.g. a file entry where a directory already is
            self.refuse(name, e.strerror)
            return
        with os.fdopen(fd, "wb") as f:
            written = 0
            while chunk := src.read(65536):
                written += len(chunk)
                if written > MAX_FILE:
                    f.truncate(0)
                    self.refuse(name, "larger than its header says")
                    break
                f.write(chunk)
        self.total += written


def _tar_kind(m):
    if m.isreg():
        return "file"
    if m.isdir():
        return "dir"
    return {tarfile.SYMTYPE: "symbolic link", tarfile.LNKTYPE: "hard link", tarfile.CHRTYPE: "character device",
            tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "fifo"}.get(m.type, "special entry")


def _zip_kind(info):
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if mode and not stat.S_ISREG(mode):
        return "symbolic link" if stat.S_ISLNK(mode) else "special entry"
    return "file"


def _mkdir(u, target, name):
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        u.refuse(name, e.strerror)


def unpack(archive, dest, notes):
    """Unpacks a tar or zip archive into dest, entry by entry."""
    u = _Unpacker(dest, notes)
    Path(dest).mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                kind = _zip_kind(info)
                target = u.admit(info.filename, kind, info.file_size)
                if target is None:
                    continue
                if kind == "dir":
                    _mkdir(u, target, info.filename)
                else:
                    with z.open(info) as src:
                        u.write(target, src, info.filename)
        return
    with tarfile.open(archive, "r:*") as t:
        for m in t:
            kind = _tar_kind(m)
            target = u.admit(m.name, kind, m.size)
            if target is None:
                continue
            if kind == "dir":
                _mkdir(u, target, m.name)
            else:
                u.write(target, t.extractfile(m), m.name)


def is_archive(path):
    return Path(path).is_file() and (str(path).endswith(ARCHIVES) or zipfile.is_zipfile(path))


# ---- finding a chapter's files ---------------------------------------------------------------------------------------

def _regular(path):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode)


def _walk_dirs(top):
    """Directories under top (top included), breadth first, never through a symbolic link."""
    queue = [(Path(top), 0)]
    while queue:
        d, depth = queue.pop(0)
        yield d
        if depth >= MAX_DEPTH:
            continue
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            continue
        queue += [(Path(e.path), depth + 1) for e in entries if e.is_dir(follow_symlinks=False)]


def find_chapter_dir(top, chapter, single):
    """Where a chapter's files are: chapters/NN-name/ first, then any NN-name/ folder outside solutions/ and
    tests/ copies, then (for a one-chapter submission) any folder holding one of its sources."""
    named = []
    for d in _walk_dirs(top):
        rel = d.relative_to(top).parts
        if any(p in ("solutions", "tests", "build", ".git") for p in rel):
            continue
        if d.name == chapter.name or d.name == chapter.number:
            named.append(d)
    named.sort(key=lambda d: (d.parent.name != "chapters", len(d.parts)))
    for d in named:
        if any(_regular(d / s) for s in chapter.sources):
            return d
    if single:
        for d in _walk_dirs(top):
            if any(p in ("solutions", "tests") for p in d.relative_to(top).parts):
                continue
            if any(_regular(d / s) for s in chapter.sources):
                return d
    return None


def collect(submission, workbook, chapters, work):
    """Prepares `work`/tree: a pristine copy of the workbook plus `submission/<chapter>/<sources>`."""
    c = Collected()
    work, tree = Path(work), Path(work) / "tree"
    src = Path(submission)
    if is_archive(src):
        unpacked = work / "unpacked"
        try:
            unpack(src, unpacked, c.notes)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as e:
            c.notes.append(f"the archive could not be read completely: {e}")
        src = unpacked
    elif not src.is_dir():
        raise FileNotFoundError(f"{submission}: not a directory or an archive ({', '.join(ARCHIVES)})")

    tree.mkdir(parents=True)
    for name in PRISTINE:
        p = workbook.root / name
        if p.is_dir():
            shutil.copytree(p, tree / name, symlinks=True)
        elif p.is_file():
            shutil.copy2(p, tree / name)
    found = {ch.name: find_chapter_dir(src, ch, False) for ch in chapters} if src.is_dir() else {}
    if src.is_dir() and (len(chapters) == 1 or not any(found.values())):
        # No chapter folder anywhere: one chapter's files, handed in loose.
        found = {ch.name: found.get(ch.name) or find_chapter_dir(src, ch, True) for ch in chapters}
    for ch in chapters:
        dest = tree / "submission" / ch.name
        dest.mkdir(parents=True)
        found_dir = found.get(ch.name)
        files = {}
        for s in ch.sources:
            cand = found_dir / s if found_dir else None
            if cand and _regular(cand) and cand.stat().st_size <= MAX_FILE:
                shutil.copyfile(cand, dest / s)
                files[s] = "submitted"
                continue
            if cand and os.path.lexists(cand):
                c.notes.append(f"{ch.name}/{s}: not a plain file of at most {MAX_FILE} bytes; the skeleton's is used")
            skeleton = workbook.root / "chapters" / ch.name / s
            if skeleton.is_file():
                shutil.copyfile(skeleton, dest / s)
                files[s] = "skeleton"
            else:
                files[s] = "absent"
        c.files[ch.name] = files
        c.submitted[ch.name] = "submitted" in files.values()
        if c.submitted[ch.name] and "skeleton" in files.values():
            missing = [s for s, how in files.items() if how == "skeleton"]
            c.notes.append(f"{ch.name}: {', '.join(missing)} not in the submission; the skeleton's is used")
    return c
