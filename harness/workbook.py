"""The pristine workbook, as the harness sees it: its chapters and, for each, what chapter.conf says (asked of
mk/chapter.mk, its one reader) and the tests its sources declare. Everything here comes from the workbook's own
files, never from a submission or a compiled binary."""

from dataclasses import dataclass
from pathlib import Path

import chaptermk
from catalogue import Catalogue, read_catalogue

HARNESS = Path(__file__).resolve().parent


class WorkbookError(Exception):
    """The pristine workbook itself is malformed, or holds no such chapter."""


@dataclass(frozen=True)
class Chapter:
    """One chapter of the pristine workbook: chapters/NN-name and what its chapter.conf lists."""

    root: Path                  # the workbook the chapter belongs to
    name: str                   # NN-name
    title: str
    sources: tuple[str, ...]    # the files a student writes: .c files and the student's own headers
    given: tuple[str, ...]      # .c files in chapters/NN-name/ a student reads but never writes
    threads: bool               # its tests must also pass under ThreadSanitizer

    @property
    def number(self) -> str:
        """NN: what `--chapter` and CH= accept besides the full name."""
        return self.name[:2]

    def catalogue(self) -> Catalogue:
        """Its parts and tests, from the pristine tests/NN-name/*.c."""
        return read_catalogue(self.root / "tests" / self.name)


def _plain_names(chapter_name: str, key: str, names: list[str], suffixes: tuple[str, ...]) -> tuple[str, ...]:
    for name in names:
        if "/" in name or not name.endswith(suffixes):
            kinds = " or ".join(suffixes)
            raise WorkbookError(f"chapters/{chapter_name}/chapter.conf: {key} {name!r} must be a plain {kinds} "
                                "file name")
    return tuple(names)


def read_chapter(root: Path, name: str) -> Chapter:
    """Chapter `name` of the workbook at `root`, its chapter.conf read by mk/chapter.mk. (IMPL names chapters/,
    which every workbook has: chapter.conf's keys do not depend on it.)"""
    try:
        conf = chaptermk.print_vars(root, name, ["title", "sources", "given", "threads"], "chapters")
    except chaptermk.MakeError as error:
        raise WorkbookError(str(error)) from None
    sources = _plain_names(name, "source", conf["sources"].split(), (".c", ".h"))
    given = _plain_names(name, "given file", conf["given"].split(), (".c",))
    if not sources:
        raise WorkbookError(f"chapters/{name}/chapter.conf lists no `sources`")
    if set(sources) & set(given):
        raise WorkbookError(f"chapters/{name}/chapter.conf: {' '.join(sorted(set(sources) & set(given)))} is both "
                            "a source and given")
    return Chapter(root=root, name=name, title=conf["title"] or name, sources=sources, given=given,
                   threads=conf["threads"] == "yes")


class Workbook:
    """A pristine workbook: the folder holding mk/chapter.mk and chapters/NN-name/chapter.conf."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        if not (self.root / "mk" / "chapter.mk").is_file():
            raise WorkbookError(f"{self.root} is not a Ferrite workbook (no mk/chapter.mk)")
        self.names = sorted(conf.parent.name for conf in (self.root / "chapters").glob("[0-9][0-9]-*/chapter.conf"))
        self._read: dict[str, Chapter] = {}

    def chapter(self, name: str) -> Chapter:
        """Chapter `name`, its chapter.conf read once."""
        if name not in self._read:
            self._read[name] = read_chapter(self.root, name)
        return self._read[name]

    @property
    def chapters(self) -> list[Chapter]:
        """Every chapter, in order."""
        return [self.chapter(name) for name in self.names]

    def select(self, wanted: list[str]) -> list[Chapter]:
        """The chapters named by `wanted` (each "01", "01-name" or a comma-separated list of them, as --chapter
        takes them); all of them when it names none."""
        requests = [request for option in wanted for request in option.split(",") if request]
        if not requests:
            return self.chapters
        chosen: list[str] = []
        for request in requests:
            found = [name for name in self.names if request in (name, name[:2])]
            if not found:
                raise WorkbookError(f"no chapter {request!r}; the chapters are: {' '.join(self.names)}")
            chosen += [name for name in found if name not in chosen]
        return [self.chapter(name) for name in chosen]
