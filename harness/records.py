"""What the stages hand on: collect's files, build's chapters, run's test runs. Each stage makes its records and
never changes another's; the grade that score makes from them is in grades.py."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from checklog import LogEntry
from sandbox import Limits, Outcome
from workbook import Chapter


@dataclass(frozen=True)
class Collected:
    """What collect took from a submission, and what it noted on the way."""

    notes: tuple[str, ...]      # for the report: refused archive entries, files not taken, files missing
    files: Mapping[str, Mapping[str, str]]  # chapter name -> {source: "submitted" | "skeleton" | "absent"}

    def submitted(self, chapter_name: str) -> bool:
        """At least one of the chapter's files came from the submission."""
        return "submitted" in self.files.get(chapter_name, {}).values()


@dataclass(frozen=True)
class Built:
    """One chapter's build, and whether its tests may run."""

    chapter: Chapter
    status: str                     # built | build-failed | refused | error
    message: str = ""               # the compiler's messages, the reasons for a refusal, or the harness's fault
    test_bin: Path | None = None    # the test binary mk/chapter.mk built
    build_dir: Path | None = None   # everything the build wrote (read-only to the sandbox once built)
    env: Mapping[str, str] = field(default_factory=dict)  # what `make check` gives the test binary: ASAN_OPTIONS, ...
    seconds: float = 0.0            # time spent building, inspection build included


@dataclass(frozen=True)
class TestRun:
    """How one test was run: the raw material of its verdict (verdict.py). A test runs with the rest of its part
    when that run was honest (its entry is then taken from the part's log), or else alone. Either way its output is
    its own section of its run's output (excerpts.test_section)."""

    name: str
    outcome: Outcome | None = None  # the sandboxed run: the test's own, or its part's; None if it never ran
    limits: Limits | None = None    # what that run was allowed
    entry: LogEntry | None = None   # its entry in its part's honest log; None when it ran alone
    limit: float | None = None      # the seconds Check gave it: its own limit (FT_TIMEOUT, else FT_DEFAULT_TIMEOUT_S)
                                    # times the rubric's timeout_multiplier; None if it never ran
    not_run: str = ""               # why it has no verdict of its own and fails, whatever its log says: it never
                                    # ran (the chapter's budget was used up, a harness fault), it was stopped (the
                                    # budget ran out while it ran), or it never finished (it left a process running)

    @property
    def code(self) -> int:
        """The exit status that stands for this test: the runner's when it ran alone; else 0 for a success."""
        if self.entry is not None:
            return 0 if self.entry.result == "success" else 1
        return self.outcome.code

    @property
    def seconds(self) -> float | None:
        """How long it ran: Check's duration from a part's log (None when it did not reach its end), or the
        wall-clock time of its own run."""
        if self.entry is not None:
            return round(self.entry.duration, 3) if self.entry.duration >= 0 else None
        return round(self.outcome.seconds, 3) if self.outcome is not None else None

    @property
    def own_log(self) -> str:
        """Check's log of its own run; empty when its entry came from its part's log."""
        return self.outcome.log.decode("utf-8", "replace") if self.outcome is not None and self.entry is None else ""
