"""Stage 1, collect: from whatever a student handed in, take exactly the files each chapter's chapter.conf lists
under `sources` (its .c files and the student's own headers), and lay them out next to a pristine copy of the
workbook. Nothing else is ever taken: the files chapter.conf lists as `given`, the tests and the build rules come
from the pristine copy alone, whatever the submission holds under their names.

A submission is a directory or an archive (archive.py unpacks it) holding a `chapters/` tree, a whole copy of the
workbook, or one chapter's files. Directories are read in place, never written; symbolic links in them are not
followed."""

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from archive import ARCHIVES, MAX_FILE, READ_ERRORS, is_archive, unpack
from excerpts import MAX_NOTE, clip
from records import Collected
from workbook import Chapter, Workbook
from worktree import copy_pristine

MAX_DEPTH = 6               # how deep to look for chapter folders
NOT_STUDENT_WORK = ("solutions", "tests", "build", ".git")  # copies in a submission that are not the student's
KEPT_REFUSALS = 12          # refused archive entries noted one by one; the rest are counted


class _Refusals(list):
    """The unpacker's notes (it only appends): the first KEPT_REFUSALS, each cut to MAX_NOTE characters, and a count
    of the rest, so that an archive of 20 000 refused entries with 4 KiB names costs a report a few lines."""

    def __init__(self):
        super().__init__()
        self.more = 0

    def append(self, note: str) -> None:
        if len(self) < KEPT_REFUSALS:
            super().append(clip(note, MAX_NOTE, keep_end=True))
        else:
            self.more += 1

    def notes(self) -> list[str]:
        """The notes kept, then how many were not."""
        return list(self) + ([f"… and {self.more} more archive entries refused"] if self.more else [])


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _walk_dirs(top: Path) -> Iterator[Path]:
    """Directories under top (top included), breadth first, never through a symbolic link."""
    queue = [(Path(top), 0)]
    while queue:
        folder, depth = queue.pop(0)
        yield folder
        if depth >= MAX_DEPTH:
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError:
            continue
        queue += [(Path(entry.path), depth + 1) for entry in entries if entry.is_dir(follow_symlinks=False)]


def _holds_a_source(folder: Path, chapter: Chapter) -> bool:
    return any(_regular(folder / source) for source in chapter.sources)


def find_chapter_dir(top: Path, chapter: Chapter, loose: bool) -> Path | None:
    """Where a chapter's files are: chapters/NN-name/ first, then any NN-name/ folder outside copies of solutions/
    and tests/, then (when the files may be loose, in a one-chapter submission) any folder holding a source."""
    named = []
    for folder in _walk_dirs(top):
        if any(part in NOT_STUDENT_WORK for part in folder.relative_to(top).parts):
            continue
        if folder.name in (chapter.name, chapter.number):
            named.append(folder)
    named.sort(key=lambda folder: (folder.parent.name != "chapters", len(folder.parts)))
    for folder in named:
        if _holds_a_source(folder, chapter):
            return folder
    if loose:
        for folder in _walk_dirs(top):
            if any(part in ("solutions", "tests") for part in folder.relative_to(top).parts):
                continue
            if _holds_a_source(folder, chapter):
                return folder
    return None


def _take_sources(chapter: Chapter, found: Path | None, skeletons: Path, dest: Path,
                  notes: list[str]) -> dict[str, str]:
    """Copies each of the chapter's sources into dest, the submission's or else the skeleton's; says which."""
    dest.mkdir(parents=True)
    files = {}
    for source in chapter.sources:
        candidate = found / source if found else None
        if candidate and _regular(candidate) and candidate.stat().st_size <= MAX_FILE:
            shutil.copyfile(candidate, dest / source)
            files[source] = "submitted"
            continue
        if candidate and os.path.lexists(candidate):
            notes.append(f"{chapter.name}/{source}: not a plain file of at most {MAX_FILE} bytes; the skeleton's "
                         "is used")
        if (skeletons / source).is_file():
            shutil.copyfile(skeletons / source, dest / source)
            files[source] = "skeleton"
        else:
            files[source] = "absent"
    missing = [source for source, origin in files.items() if origin == "skeleton"]
    if "submitted" in files.values() and missing:
        notes.append(f"{chapter.name}: {', '.join(missing)} not in the submission; the skeleton's is used")
    return files


def collect(submission: Path, workbook: Workbook, chapters: list[Chapter], work: Path) -> Collected:
    """Prepares `work`/tree: a pristine copy of the workbook plus `submission/<chapter>/<sources>`."""
    notes: list[str] = []
    work, tree = Path(work), Path(work) / "tree"
    handed_in = Path(submission)
    if is_archive(handed_in):
        unpacked = work / "unpacked"
        refusals = _Refusals()
        try:
            unpack(handed_in, unpacked, refusals)
        except READ_ERRORS as error:
            notes.append(clip(f"the archive could not be read completely: {error}", MAX_NOTE, keep_end=True))
        notes = refusals.notes() + notes
        handed_in = unpacked
    elif not handed_in.is_dir():
        raise FileNotFoundError(f"{submission}: not a directory or an archive ({', '.join(ARCHIVES)})")

    copy_pristine(workbook.root, tree)
    readable = handed_in.is_dir()
    found = {chapter.name: find_chapter_dir(handed_in, chapter, False) for chapter in chapters} if readable else {}
    if readable and (len(chapters) == 1 or not any(found.values())):
        # No chapter folder anywhere: one chapter's files, handed in loose.
        found = {chapter.name: found.get(chapter.name) or find_chapter_dir(handed_in, chapter, True)
                 for chapter in chapters}
    files = {chapter.name: _take_sources(chapter, found.get(chapter.name), workbook.root / "chapters" / chapter.name,
                                         tree / "submission" / chapter.name, notes)
             for chapter in chapters}
    return Collected(notes=tuple(notes), files=files)
