"""The grade: what score makes of a submission and every report renders. Its JSON form (to_json, from_json) is
the source of truth a batch keeps; harness/README.md, "Reports", documents each field."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class TestScore:
    """One test's result: a catalogue test, or a performance test (part 0)."""

    part: int
    name: str
    points: float           # what the test sources (or the rubric, for a performance test) say it is worth
    max_score: float        # the same after the rubric's weights
    score: float            # max_score when it passed; a performance test may earn a share
    status: str             # pass | fail
    message: str            # why it failed, or how a performance test was timed
    hint: str               # the concept to revisit
    seconds: float | None   # how long it ran, when known
    output: str             # the first lines of what it printed, when it failed


@dataclass(frozen=True)
class PartScore:
    """A part's line in the chapter's table."""

    part: int
    title: str
    tests: int              # how many tests it has
    passed: int             # how many of them passed
    score: float
    max_score: float


@dataclass(frozen=True)
class ChapterGrade:
    """One chapter's grade."""

    chapter: str                    # NN-name
    title: str
    status: str                     # graded | build-failed | refused | missing | error
    message: str                    # why it was not graded (compiler messages, reasons for a refusal)
    files: Mapping[str, str]        # source -> submitted | skeleton | absent
    build_seconds: float
    parts: tuple[PartScore, ...]    # parts in order, performance (part 0) last
    tests: tuple[TestScore, ...]    # tests by part, in source order within a part
    score: float
    max_score: float


@dataclass(frozen=True)
class SandboxReport:
    """The sandbox a grade was made in: its mode and what it lacked on this machine."""

    mode: str                       # bwrap or rlimits, with " + cgroups", " + uid per slot"; none if never made
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grade:
    """A submission's grade."""

    submission: str                         # its name in reports
    chapters: tuple[ChapterGrade, ...] = ()
    notes: tuple[str, ...] = ()             # what collect refused or replaced
    score: float = 0.0
    max_score: float = 0.0
    sandbox: SandboxReport | None = None    # None only in a batch's stand-in for a grade that never came
    seconds: float = 0.0                    # wall-clock time of the grading
    work: str | None = None                 # the kept work directory (--keep)
    error: str | None = None                # the harness's own failure; the grade is then incomplete
    traceback: str | None = None            # where that failure happened

    def to_json(self) -> dict:
        """The grade as the JSON report holds it (optional fields only when set)."""
        data = asdict(self)
        for optional in ("sandbox", "work", "error", "traceback"):
            if data[optional] is None:
                del data[optional]
        return data

    @classmethod
    def from_json(cls, data: Mapping) -> "Grade":
        """The grade a JSON report holds."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        sandbox = known.get("sandbox")
        known["sandbox"] = SandboxReport(sandbox["mode"], tuple(sandbox["warnings"])) if sandbox else None
        known["notes"] = tuple(known.get("notes", ()))
        known["chapters"] = tuple(_chapter_from_json(chapter) for chapter in known.get("chapters", ()))
        return cls(**known)


def _chapter_from_json(data: Mapping) -> ChapterGrade:
    return ChapterGrade(**{**data, "files": dict(data["files"]),
                           "parts": tuple(PartScore(**part) for part in data["parts"]),
                           "tests": tuple(TestScore(**test) for test in data["tests"])})
