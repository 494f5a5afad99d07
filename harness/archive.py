"""Archives as students hand them in (.tar, .tar.gz, .tgz, .tar.xz, .tar.bz2, .zip), unpacked entry by entry and
never with extractall: anything that is not a plain file or directory with a relative, `..`-free name, or that is
too large, is refused with a note and never written. Files are created with O_EXCL | O_NOFOLLOW in a folder that
holds no link the unpacker did not make (it makes none)."""

import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

MAX_FILE = 1 << 20          # a source file larger than 1 MiB is not a student's exercise
MAX_TOTAL = 64 << 20        # all the bytes unpacked from one archive
MAX_ENTRIES = 20000
ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".zip")
READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError)  # an archive cut short or corrupt


def is_archive(path: Path) -> bool:
    """`path` is a file the unpacker reads: named like an archive, or a zip by its contents."""
    return Path(path).is_file() and (str(path).endswith(ARCHIVES) or zipfile.is_zipfile(path))


def display_name(path: Path) -> str:
    """A submission's name in reports: its file name without the archive suffix."""
    name = Path(path).name
    for suffix in sorted(ARCHIVES, key=len, reverse=True):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _safe_parts(raw: str) -> list[str] | None:
    """The entry's relative path as parts, or None when it is absolute or climbs out with `..`."""
    name = raw.replace("\\", "/")
    if not name or "\0" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    parts = [part for part in PurePosixPath(name).parts if part not in ("", ".")]
    if ".." in parts:
        return None
    return parts


class _Unpacker:
    """Admits or refuses entries one at a time, counting what was unpacked."""

    def __init__(self, dest: Path, notes: list[str]):
        self.dest, self.notes, self.total_bytes, self.entries = Path(dest), notes, 0, 0

    def refuse(self, name: str, why: str) -> None:
        """Notes that an entry was not unpacked, and why."""
        self.notes.append(f"archive entry {name!r} refused: {why}")

    def admit(self, name: str, kind: str, size: int) -> Path | None:
        """The destination for an entry, or None after noting why it is refused."""
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            if self.entries == MAX_ENTRIES + 1:
                self.refuse(name, f"more than {MAX_ENTRIES} entries; the rest are ignored")
            return None
        parts = _safe_parts(name)
        if parts is None:
            self.refuse(name, "absolute path or `..`: it would land outside the submission")
            return None
        if kind != "file" and kind != "dir":
            self.refuse(name, f"{kind}: only plain files and directories are unpacked")
            return None
        if kind == "file" and size > MAX_FILE:
            self.refuse(name, f"{size} bytes, more than the {MAX_FILE}-byte limit per file")
            return None
        if kind == "file" and self.total_bytes + size > MAX_TOTAL:
            self.refuse(name, f"the archive unpacks to more than {MAX_TOTAL} bytes")
            return None
        return self.dest.joinpath(*parts) if parts else None

    def make_dir(self, target: Path, name: str) -> None:
        """Creates a directory entry's folder, or notes why it could not be made."""
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self.refuse(name, error.strerror)

    def write(self, target: Path, source: BinaryIO, name: str) -> None:
        """Copies at most MAX_FILE bytes from source; never follows or replaces anything already there."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.parent.resolve().is_relative_to(self.dest.resolve()):
                self.refuse(name, "its folder resolves outside the submission")
                return
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            self.refuse(name, "a second entry with the same name")
            return
        except OSError as error:  # e.g. a file entry where a directory already is
            self.refuse(name, error.strerror)
            return
        with os.fdopen(descriptor, "wb") as file:
            written = 0
            while chunk := source.read(65536):
                written += len(chunk)
                if written > MAX_FILE:
                    file.truncate(0)
                    self.refuse(name, "larger than its header says")
                    break
                file.write(chunk)
        self.total_bytes += written


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.isreg():
        return "file"
    if member.isdir():
        return "dir"
    return {tarfile.SYMTYPE: "symbolic link", tarfile.LNKTYPE: "hard link", tarfile.CHRTYPE: "character device",
            tarfile.BLKTYPE: "block device", tarfile.FIFOTYPE: "fifo"}.get(member.type, "special entry")


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16
    if info.is_dir():
        return "dir"
    if mode and not stat.S_ISREG(mode):
        return "symbolic link" if stat.S_ISLNK(mode) else "special entry"
    return "file"


Entry = tuple[str, str, int, Callable[[], BinaryIO]]  # name, kind, size, and how to open its contents


def _entries(archive: Path) -> Iterator[Entry]:
    """The entries of a zip or tar archive, in the order the archive holds them."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                yield info.filename, _zip_kind(info), info.file_size, lambda info=info: zipped.open(info)
        return
    with tarfile.open(archive, "r:*") as tarred:
        for member in tarred:
            yield member.name, _tar_kind(member), member.size, lambda member=member: tarred.extractfile(member)


def unpack(archive: Path, dest: Path, notes: list[str]) -> None:
    """Unpacks a tar or zip archive into dest, entry by entry, noting every refused entry in `notes`. Raises one
    of READ_ERRORS when the archive itself cannot be read; what was unpacked until then stays."""
    unpacker = _Unpacker(dest, notes)
    Path(dest).mkdir(parents=True, exist_ok=True)
    for name, kind, size, open_entry in _entries(archive):
        target = unpacker.admit(name, kind, size)
        if target is None:
            continue
        if kind == "dir":
            unpacker.make_dir(target, name)
        else:
            with open_entry() as source:
                unpacker.write(target, source, name)
